"""Issue 14's security findings, each reproduced as the attacker did it and now refused."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from combat_norse.audit.models import AuditEvent
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
    ("role", "sites"), [("outcome_assessor", ("YNH",)), ("sponsor_viewer", ())]
)
def test_a_statistician_who_also_holds_a_masked_role_gets_no_arm(
    capsys: pytest.CaptureFixture[str], personas: Any, enroll: Callable[..., Any],
    production_list: Any, role: str, sites: tuple[str, ...],
) -> None:  # fmt: skip
    from combat_norse.accounts.actions import do_add_user

    run(capsys, "randomize", enroll().study_id, "--as", "coord")
    do_add_user("statistician", role, sites)
    for command in (("randomization", "export"), ("randomization", "balance"),
                    ("randomization", "verify")):  # fmt: skip
        code, out, err = run(capsys, *command, "--as", "statistician")
        assert (code, out) == (3, ""), command
        assert err.startswith("refused: masked"), command
    assert not any(d in err for d in ("anakinra", "tocilizumab"))
    assert AuditEvent.objects.filter(action="list_export_refused").count() == 1


def _export(capsys: pytest.CaptureFixture[str], username: str) -> list[dict[str, str]]:
    code, out, err = run(capsys, "audit", "export", "--as", username)
    assert code == 0, err
    return list(csv.DictReader(io.StringIO(out)))


def test_the_audit_export_shows_allocation_arms_and_their_hashes_only_to_the_statistician(
    capsys: pytest.CaptureFixture[str], enroll: Callable[..., Any], production_list: Any
) -> None:
    for _ in range(3):
        run(capsys, "randomize", enroll().study_id, "--as", "coord")
    arms = {a for a in ("anakinra", "tocilizumab")}
    stats_rows = _export(capsys, "statistician")
    randomize = [r for r in stats_rows if r["action"] == "randomize"]
    assert len(randomize) == 3 and all(json.loads(r["changes"])["arm"][1] in arms
                                       for r in randomize)  # fmt: skip
    dm_rows = _export(capsys, "datamanager")
    by_seq = {r["seq"]: r for r in dm_rows}
    hidden_hashes = set()
    for row in stats_rows:
        if row["action"] in ("randomize", "randomization_setup"):
            hidden_hashes.add(row["hash"])
            withheld = by_seq[row["seq"]]
            assert not any(a in withheld["changes"] for a in arms)
            assert withheld["hash"].startswith("<withheld")
    # the withheld hash is not recoverable from the next row's prev_hash either
    dm_text = json.dumps(dm_rows)
    assert not any(h in dm_text for h in hidden_hashes)
    assert not any(a in dm_text for a in arms)


def test_an_assessor_cannot_record_an_unmasking_for_a_participant_not_assigned_to_them(
    capsys: pytest.CaptureFixture[str], personas: Any, enroll: Callable[..., Any],
) -> None:  # fmt: skip
    p = enroll()
    code, _, err = run(capsys, "unmasking", "record", p.study_id, "--assessor", "assessor",
                       "--how", "overheard", "--as", "assessor")  # fmt: skip
    assert code == 3 and err.startswith("refused: role")
    code, _, err = run(capsys, "unmasking", "record", p.study_id, "--assessor", "assessor",
                       "--how", "overheard", "--as", "coord")  # fmt: skip
    assert code == 3 and err.startswith("refused: role")
    assert AuditEvent.objects.filter(action="record_unmasking_refused").count() == 2


def test_unmask_re_authentication_locks_after_five_wrong_passwords(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, personas: Any,
    enroll: Callable[..., Any], production_list: Any,
) -> None:  # fmt: skip
    from tests.integration.conftest import PASSWORD

    from combat_norse.participants.actions import do_assign_assessor

    p = enroll()
    run(capsys, "randomize", p.study_id, "--as", "coord")
    do_assign_assessor(personas.coord, p, personas.assessor)

    def unmask(password: str) -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
        return run(capsys, "unmask", p.study_id, "--reason", "anaphylaxis", "--password-stdin",
                   "--as", "assessor")  # fmt: skip

    for _ in range(5):
        code, _, err = unmask("wrong guess")
        assert code == 3 and err.startswith("refused: password")
    code, out, err = unmask(PASSWORD)  # the right one, too late
    assert (code, out) == (3, "") and "too many failed attempts" in err
    assert AuditEvent.objects.filter(action="unmask").count() == 0


def test_a_future_onset_is_named_as_the_field_that_is_wrong(
    capsys: pytest.CaptureFixture[str], personas: Any, make_record: Callable[..., Any],
    tmp_path: Any,
) -> None:  # fmt: skip
    path = tmp_path / "future.json"
    path.write_text(json.dumps(make_record(
        se_onset=(timezone.now() + timedelta(days=1)).isoformat())))  # fmt: skip
    code, _, err = run(capsys, "screening", "add", str(path), "--site", "YNH", "--as", "coord")
    assert (code, err.strip()) == (2, "error: se_onset: is in the future")


def test_marking_an_allocation_in_error_and_changing_a_password_lock_after_five_failures(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, personas: Any,
    enroll: Callable[..., Any], production_list: Any,
) -> None:  # fmt: skip
    from tests.integration.conftest import PASSWORD

    p = enroll()
    run(capsys, "randomize", p.study_id, "--as", "coord")

    def mark(password: str) -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
        return run(capsys, "allocation", "mark-error", p.study_id, "--reason", "wrong patient",
                   "--password-stdin", "--as", "statistician")  # fmt: skip

    def change(current: str) -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(f"{current}\nan entirely new passphrase 7\n"))
        return run(capsys, "user", "password", "coord", "--password-stdin")

    for attempt in (mark, change):
        for _ in range(5):
            code, _, err = attempt("wrong guess")
            assert code == 3 and err.startswith("refused: password (re-authentication failed)")
        code, _, err = attempt(PASSWORD)
        assert code == 3 and "too many failed attempts" in err, attempt.__name__
    done = AuditEvent.objects.filter(action__in=["allocation_error", "password_changed"])
    assert done.count() == 0


def test_a_refused_user_is_told_what_would_be_needed_and_nothing_of_another_site(
    capsys: pytest.CaptureFixture[str], enroll: Callable[..., Any]
) -> None:
    here, there = enroll(), enroll(site="SNU")
    code, _, err = run(capsys, "end-follow-up", here.study_id, "--status", "died", "--reason",
                       "x", "--as", "pharmacist")  # fmt: skip
    assert err.strip() == ("refused: role (needs data_manager or site_coordinator or "
                           "site_investigator at YNH to end follow-up)")  # fmt: skip
    code, _, err = run(capsys, "participant", "correct-onset", here.study_id, "--se-onset",
                       "2026-01-01T00:00:00+00:00", "--reason", "x", "--as", "coord")  # fmt: skip
    assert err.strip() == "refused: role (needs data_manager to correct the onset)"  # central
    code, _, err = run(capsys, "end-follow-up", there.study_id, "--status", "died", "--reason",
                       "x", "--as", "pharmacist")  # fmt: skip
    assert err.strip() == "refused: other site"
    code, _, err = run(capsys, "participant", "show", "YNH-" + "9" * 500, "--as", "coord")
    assert code == 2 and len(err) < 120  # a hostile id is not echoed whole


def test_only_the_statistician_learns_the_rules_of_a_list_set_up(
    capsys: pytest.CaptureFixture[str], personas: Any
) -> None:
    code, _, err = run(capsys, "randomization", "setup", "--design", "permuted_blocks",
                       "--seed", "12", "--as", "coord")  # fmt: skip
    assert (code, err.strip()) == (3, "refused: role (needs statistician)")
    assert AuditEvent.objects.filter(action="randomization_setup_refused").count() == 1
