"""Defects found in the review of issues 13 and 14 (branch review-r), each as a behaviour."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from combat_norse.cli.main import main

pytestmark = [pytest.mark.django_db, pytest.mark.req("#14", "§11")]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exited:
        code = int(exited.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("reader", "role", "sites"),
    [
        ("datamanager", "sponsor_viewer", ()),  # a data manager who is also a sponsor viewer
        ("statistician", "outcome_assessor", ("YNH",)),  # a statistician assessing at YNH
    ],
)
def test_the_unmasking_report_masks_drug_names_for_a_reader_masked_at_the_site(
    capsys: pytest.CaptureFixture[str], personas: Any, enroll: Callable[..., Any],
    production_list: Any, reader: str, role: str, sites: tuple[str, ...],
) -> None:  # fmt: skip
    """The report is for the statistician and the data manager; one who also holds a masked
    role must not read the free text ``how`` when it names a study drug (§11: anything that
    reveals the arm never reaches a masked role), as every presenter does."""
    from combat_norse.accounts.actions import do_add_user

    participant = enroll()
    run(capsys, "randomize", participant.study_id, "--as", "coord")
    run(capsys, "assessor", "assign", participant.study_id, "--assessor", "assessor",
        "--as", "coord")  # fmt: skip
    how = "family said tocilizumab infusion"
    code, _, err = run(capsys, "unmasking", "record", participant.study_id, "--assessor",
                       "assessor", "--how", how, "--as", "coord")  # fmt: skip
    assert code == 0, err
    do_add_user(reader, role, sites)

    code, out, err = run(capsys, "unmasking", "report", "--as", reader)

    assert code == 0, err
    assert "tocilizumab" not in out.lower()
    assert "[masked]" in out


def test_the_unmasking_report_keeps_the_text_for_an_unmasked_reader(
    capsys: pytest.CaptureFixture[str], personas: Any, enroll: Callable[..., Any],
    production_list: Any,
) -> None:  # fmt: skip
    participant = enroll()
    run(capsys, "assessor", "assign", participant.study_id, "--assessor", "assessor",
        "--as", "coord")  # fmt: skip
    run(capsys, "unmasking", "record", participant.study_id, "--assessor", "assessor",
        "--how", "saw an anakinra syringe", "--as", "coord")  # fmt: skip

    code, out, err = run(capsys, "unmasking", "report", "--as", "datamanager")

    assert code == 0, err
    assert "saw an anakinra syringe" in out


def test_a_refused_read_names_the_record_it_was_refused(
    capsys: pytest.CaptureFixture[str], personas: Any, enroll: Callable[..., Any]
) -> None:
    from combat_norse.audit.models import AuditEvent

    participant = enroll()
    code, _, err = run(capsys, "participant", "show", participant.study_id, "--as", "othercoord")
    assert (code, err.strip()) == (3, "refused: other site")

    event = AuditEvent.objects.filter(action="read_refused").latest("seq")
    assert event.participant_ref == participant.study_id
    assert event.site_code == "YNH"
