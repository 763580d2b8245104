"""Reading records back from the command line (issue 14): screening list|show, participant
list|show through the presenters (masked for masked roles), assessor assign, randomization
retire, participant correct-onset, and enroll's cohort_reason."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from combat_norse.allocation.models import Allocation
from combat_norse.audit.models import AuditEvent
from combat_norse.cli.main import main
from combat_norse.participants.models import Participant, ScreeningEntry

pytestmark = [pytest.mark.django_db, pytest.mark.req("#14", "§13", "#18"),
              pytest.mark.usefixtures("cli_face")]  # locally and through the API

DRUGS = ("anakinra", "tocilizumab")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    try:
        code = main(list(argv))
    except SystemExit as exited:
        code = int(exited.code or 0)
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else None), err


def test_screening_list_and_show_read_the_log_back_for_the_site_team_only(
    capsys: pytest.CaptureFixture[str], enroll: Callable[..., Any]
) -> None:
    here, there = enroll(), enroll(site="SNU")
    code, out, _ = run(capsys, "screening", "list", "--as", "coord")
    assert code == 0
    assert [s["screening_id"] for s in out["screenings"]] == [here.screening.screening_id]
    assert out["screenings"][0]["study_id"] == here.study_id
    code, out, _ = run(capsys, "screening", "show", here.screening.screening_id, "--as", "coord")
    assert code == 0 and out["decision"] == "randomized_cohort" and out["site"] == "YNH"
    before = AuditEvent.objects.count()
    code, out, err = run(capsys, "screening", "show", there.screening.screening_id,
                         "--as", "coord")  # fmt: skip
    assert (code, out, err.strip()) == (3, None, "refused: other site")
    assert AuditEvent.objects.order_by("seq")[before:].get().action == "read_refused"
    code, _, err = run(capsys, "screening", "show", "YNH-S9999", "--as", "coord")
    assert code == 2 and err.startswith("error: screening_id: unknown")
    code, out, _ = run(capsys, "screening", "list", "--as", "assessor")
    assert (code, out) == (0, {"screenings": []})  # assessors never read the screening log


def test_participant_show_gives_the_arm_to_the_treating_team_and_hides_it_from_the_assessor(
    capsys: pytest.CaptureFixture[str], personas: Any, enroll: Callable[..., Any],
    production_list: Any,
) -> None:  # fmt: skip
    p = enroll()
    code, out, _ = run(capsys, "randomize", p.study_id, "--as", "coord")
    arm = out["arm"]
    code, shown, _ = run(capsys, "participant", "show", p.study_id, "--as", "pharmacist")
    assert code == 0 and shown["arm"] == arm and shown["randomized"] is True
    code, _, err = run(capsys, "participant", "show", p.study_id, "--as", "assessor")
    assert code == 3 and err.startswith("refused: role")  # not assigned yet
    code, out, _ = run(capsys, "assessor", "assign", p.study_id, "--assessor", "assessor",
                       "--as", "coord")  # fmt: skip
    assert (code, out) == (0, {"study_id": p.study_id, "assessor": "assessor"})
    code, masked, err = run(capsys, "participant", "show", p.study_id, "--as", "assessor")
    assert code == 0 and err == ""
    assert "arm" not in masked and "code" not in masked and masked["randomized"] is True
    assert not any(d in json.dumps(masked) for d in DRUGS)
    code, listed, _ = run(capsys, "participant", "list", "--as", "assessor")
    assert listed == {"participants": [masked]}


def test_assessor_assign_refuses_a_user_who_is_not_an_assessor_there(
    capsys: pytest.CaptureFixture[str], enroll: Callable[..., Any]
) -> None:
    p = enroll()
    code, _, err = run(capsys, "assessor", "assign", p.study_id, "--assessor", "pharmacist",
                       "--as", "coord")  # fmt: skip
    assert code == 3 and err.startswith("refused: role (the assignee is not an outcome assessor")
    code, _, err = run(capsys, "assessor", "assign", p.study_id, "--assessor", "nobody",
                       "--as", "coord")  # fmt: skip
    assert code == 2 and err.startswith("error: assessor:")
    code, _, err = run(capsys, "assessor", "assign", p.study_id, "--assessor", "assessor",
                       "--as", "othercoord")  # fmt: skip
    assert (code, err.strip()) == (3, "refused: other site")


def test_the_statistician_retires_a_list_from_the_command_line(
    capsys: pytest.CaptureFixture[str], production_list: Any
) -> None:
    code, _, err = run(capsys, "randomization", "retire", "--reason", "x", "--as", "coord")
    assert code == 3 and err.startswith("refused: role")
    code, out, _ = run(capsys, "randomization", "retire", "--reason", "replaced after review",
                       "--as", "statistician")  # fmt: skip
    assert out == {"list_id": production_list.pk, "environment": "production", "active": False}
    event = AuditEvent.objects.get(action="list_retire")
    assert event.reason == "replaced after review" and event.changes == {"active": [True, False]}
    code, _, err = run(capsys, "randomization", "retire", "--reason", "again",
                       "--as", "statistician")  # fmt: skip
    assert code == 2 and "no active list" in err


def test_enroll_prints_why_the_cohort_differs_from_the_screening_decision(
    capsys: pytest.CaptureFixture[str], personas: Any, make_record: Callable[..., Any],
    tmp_path: Any,
) -> None:  # fmt: skip
    from combat_norse.participants.actions import do_record_consent, do_screen
    from combat_norse.sites.models import Site

    # screened on day 6 (randomized-cohort decision), enrolled now on day 9
    now = timezone.now()
    entry, _ = do_screen(personas.coord, Site.objects.get(code="YNH"),
                         make_record(se_onset=(now - timedelta(days=9)).isoformat()),
                         now=now - timedelta(days=3))  # fmt: skip
    assert entry.decision == "randomized_cohort"
    do_record_consent(personas.coord, entry, signer="lar", form_version="1",
                      signed_at=now - timedelta(days=3))  # fmt: skip
    code, out, _ = run(capsys, "enroll", entry.screening_id, "--as", "coord")
    assert code == 0 and out["cohort"] == "observational_cohort"
    assert out["cohort_reason"].startswith("routing at enrollment: failed I5 (study day")
    # same decision as at screening: no cohort_reason key
    path = tmp_path / "r.json"
    path.write_text(json.dumps(make_record()))
    code, screened, _ = run(capsys, "screening", "add", str(path), "--site", "YNH",
                            "--as", "coord")  # fmt: skip
    run(capsys, "consent", "add", screened["screening_id"], "--signer", "lar", "--form-version",
        "1", "--as", "coord")  # fmt: skip
    code, out, _ = run(capsys, "enroll", screened["screening_id"], "--as", "coord")
    assert set(out) == {"study_id", "cohort", "site"} and out["cohort"] == "randomized_cohort"


def test_the_data_manager_corrects_the_onset_and_the_stratum_change_is_a_discrepancy(
    capsys: pytest.CaptureFixture[str], enroll: Callable[..., Any], production_list: Any
) -> None:
    from combat_norse.core import events

    p = enroll()  # onset two days ago: the early window
    run(capsys, "randomize", p.study_id, "--as", "coord")
    stratum = Allocation.unscoped.get(participant=p).stratum
    received: list[dict[str, Any]] = []

    def receiver(**kwargs: Any) -> None:
        received.append(kwargs)

    events.onset_corrected.connect(receiver)
    try:
        later = (timezone.now() - timedelta(days=5)).replace(microsecond=0).isoformat()
        code, _, err = run(capsys, "participant", "correct-onset", p.study_id, "--se-onset",
                           later, "--reason", "chart review", "--as", "coord")  # fmt: skip
        assert code == 3 and err.startswith("refused: role (needs data_manager")
        code, out, _ = run(capsys, "participant", "correct-onset", p.study_id, "--se-onset",
                           later, "--reason", "chart review", "--as", "datamanager")  # fmt: skip
    finally:
        events.onset_corrected.disconnect(receiver)
    assert code == 0 and out["study_id"] == p.study_id and out["se_onset"] == later
    assert out["discrepancies"]["onset_window"][0] != out["discrepancies"]["onset_window"][1]
    assert [r["participant"].pk for r in received] == [p.pk]
    assert ScreeningEntry.unscoped.get(pk=p.screening_id).se_onset.isoformat() == later
    assert Allocation.unscoped.get(participant=p).stratum == stratum  # kept
    assert Participant.unscoped.get(pk=p.pk).cohort == "randomized_cohort"
    event = AuditEvent.objects.get(action="onset_correct")
    assert event.participant_ref == p.study_id and event.reason == "chart review"


@pytest.mark.parametrize(
    ("value", "message"),
    [("2026-13-01T00:00:00+00:00", "error: se_onset: not a valid date and time"),
     ("2026-03-01T00:00:00", "error: se_onset: datetime '2026-03-01T00:00:00' has no UTC offset"),
     ("0001-03-01T00:00:00+00:00", "error: se_onset: year 1 is outside 1900–2200"),
     ("yesterday", "error: se_onset: malformed datetime"),
     ((timezone.now() + timedelta(days=3)).isoformat(), "error: se_onset: is in the future")],
)  # fmt: skip
def test_a_bad_corrected_onset_is_bad_input(
    capsys: pytest.CaptureFixture[str], enroll: Callable[..., Any], value: str, message: str
) -> None:
    p = enroll()
    code, _, err = run(capsys, "participant", "correct-onset", p.study_id, "--se-onset", value,
                       "--reason", "x", "--as", "datamanager")  # fmt: skip
    assert code == 2 and err.startswith(message)


def test_a_blank_reason_is_refused_reason_required(
    capsys: pytest.CaptureFixture[str], enroll: Callable[..., Any]
) -> None:
    p = enroll()
    earlier = (timezone.now() - timedelta(days=3)).isoformat()
    code, _, err = run(capsys, "participant", "correct-onset", p.study_id, "--se-onset",
                       earlier, "--reason", "  ", "--as", "datamanager")  # fmt: skip
    assert code == 3 and err.startswith("refused: reason required")
