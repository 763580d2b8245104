"""§13 through the command line: screen, consent, enroll, set up, randomize, with
every refusal answered by exit 3 and a `refused:` line, and nothing written but the audit of
the attempt."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from combat_norse.allocation.models import Allocation, ListSlot
from combat_norse.audit.models import AuditEvent
from combat_norse.cli.main import main
from combat_norse.participants.models import Consent, Participant, ScreeningEntry

pytestmark = [pytest.mark.django_db, pytest.mark.req("#10", "§13", "#18"),
              pytest.mark.usefixtures("cli_face")]  # locally and through the API


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    """Run the command in-process against the test database (argparse errors exit 2)."""
    try:
        code = main(list(argv))
    except SystemExit as exited:
        code = int(exited.code or 0)
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else None), err


@pytest.fixture
def record_file(tmp_path: Path, make_record: Callable[..., dict[str, Any]]) -> Callable[..., str]:
    def _write(**overrides: Any) -> str:
        path = tmp_path / f"record-{len(list(tmp_path.iterdir()))}.json"
        path.write_text(json.dumps(make_record(**overrides)))
        return str(path)

    return _write


def snapshot() -> dict[str, int]:
    return {
        "screenings": ScreeningEntry.unscoped.count(),
        "consents": Consent.unscoped.count(),
        "participants": Participant.unscoped.count(),
        "allocations": Allocation.unscoped.count(),
        "used_slots": ListSlot.unscoped.filter(participant__isnull=False).count(),
    }


def assert_only_refusal_audited(before: dict[str, int], events_before: int, action: str) -> None:
    assert snapshot() == before
    new = list(AuditEvent.objects.order_by("seq")[events_before:])
    assert [e.action for e in new] == [f"{action}_refused"]


def test_coordinator_screens_consents_enrolls_and_randomizes(
    capsys: pytest.CaptureFixture[str], personas: Any, record_file: Callable[..., str],
    production_list: Any,
) -> None:
    code, screened, _ = run(capsys, "screening", "add", record_file(), "--site", "YNH",
                            "--as", "coord")
    assert code == 0
    assert screened["decision"] == "randomized_cohort"
    assert screened["site"] == "YNH" and screened["screening_id"] == "YNH-S0001"
    assert set(screened) == {"decision", "failed", "unknown", "missing", "study_day",
                             "age_years", "fires", "strata", "screening_id", "site"}
    code, consent, _ = run(capsys, "consent", "add", "YNH-S0001", "--signer", "lar",
                           "--form-version", "2.0", "--optional", "interview,biosamples",
                           "--as", "coord")
    assert code == 0
    assert consent == {"consent_id": consent["consent_id"], "screening_id": "YNH-S0001",
                       "signer": "lar", "form_version": "2.0",
                       "optional": ["biosamples", "interview"]}
    code, enrolled, _ = run(capsys, "enroll", "YNH-S0001", "--as", "coord")
    assert (code, enrolled) == (0, {"study_id": "YNH-001", "cohort": "randomized_cohort",
                                    "site": "YNH"})
    code, allocated, _ = run(capsys, "randomize", "YNH-001", "--as", "investigator")
    assert code == 0
    assert set(allocated) == {"study_id", "randomized_at", "code", "arm"}
    assert allocated["arm"] in {"anakinra", "tocilizumab"}
    slot = ListSlot.unscoped.get(participant__study_id="YNH-001")
    assert (slot.arm, slot.code, slot.sequence) == (allocated["arm"], allocated["code"], 1)


def test_second_randomization_returns_the_first_allocation(
    capsys: pytest.CaptureFixture[str], enroll: Callable[..., Any], production_list: Any,
) -> None:
    p = enroll()
    _, first, _ = run(capsys, "randomize", p.study_id, "--as", "coord")
    events = AuditEvent.objects.count()
    code, second, _ = run(capsys, "randomize", p.study_id, "--as", "investigator")
    assert code == 0 and second == first
    assert Allocation.unscoped.count() == 1
    assert AuditEvent.objects.count() == events  # nothing new happened


@pytest.mark.parametrize(
    ("username", "message"),
    [("othercoord", "refused: other site"), ("assessor", "refused: role"),
     ("pharmacist", "refused: role"), ("monitor", "refused: role"),
     ("datamanager", "refused: role"), ("statistician", "refused: role"),
     ("sponsor", "refused: role")],
)  # fmt: skip
def test_only_the_treating_team_of_the_site_may_randomize(
    capsys: pytest.CaptureFixture[str], enroll: Callable[..., Any], production_list: Any,
    username: str, message: str,
) -> None:
    p = enroll()
    before, events = snapshot(), AuditEvent.objects.count()
    code, out, err = run(capsys, "randomize", p.study_id, "--as", username)
    assert (code, out) == (3, None)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and (lines[0] == message or lines[0].startswith(message + " ("))
    assert_only_refusal_audited(before, events, "randomize")


@pytest.mark.req("I5")
def test_day_8_participant_is_refused_with_the_study_day(
    capsys: pytest.CaptureFixture[str], enroll: Callable[..., Any], production_list: Any,
) -> None:
    now = timezone.now()
    p = enroll(now=now - timedelta(days=6), se_onset=(now - timedelta(days=8)).isoformat())
    assert p.cohort == "randomized_cohort"
    before, events = snapshot(), AuditEvent.objects.count()
    code, _, err = run(capsys, "randomize", p.study_id, "--as", "coord")
    assert code == 3
    assert err.strip() == "refused: I5 study day 8 > 7"
    assert_only_refusal_audited(before, events, "randomize")


def test_participant_whose_treatment_consent_was_withdrawn_cannot_be_randomized(
    capsys: pytest.CaptureFixture[str], enroll: Callable[..., Any], production_list: Any,
    personas: Any,
) -> None:
    from combat_norse.participants.actions import do_withdraw

    p = enroll()
    do_withdraw(personas.coord, p, scope="stop_treatment", reason="family request")
    before, events = snapshot(), AuditEvent.objects.count()
    code, _, err = run(capsys, "randomize", p.study_id, "--as", "coord")
    assert (code, err.strip()) == (3, "refused: no valid consent")
    assert_only_refusal_audited(before, events, "randomize")


def test_observational_participant_is_not_randomized(
    capsys: pytest.CaptureFixture[str], enroll: Callable[..., Any], production_list: Any,
) -> None:
    p = enroll(anc_per_mm3=1500)  # E5 fails: observational cohort
    assert p.cohort == "observational_cohort"
    before, events = snapshot(), AuditEvent.objects.count()
    code, _, err = run(capsys, "randomize", p.study_id, "--as", "coord")
    assert code == 3 and err.startswith("refused: cohort")
    assert_only_refusal_audited(before, events, "randomize")


def test_unconsented_patient_is_not_enrolled(
    capsys: pytest.CaptureFixture[str], personas: Any, record_file: Callable[..., str],
) -> None:
    run(capsys, "screening", "add", record_file(), "--site", "YNH", "--as", "coord")
    before, events = snapshot(), AuditEvent.objects.count()
    code, _, err = run(capsys, "enroll", "YNH-S0001", "--as", "coord")
    assert (code, err.strip()) == (3, "refused: no valid consent")
    assert_only_refusal_audited(before, events, "enroll")


@pytest.mark.req("I3")
def test_ineligible_patient_is_logged_but_not_enrolled(
    capsys: pytest.CaptureFixture[str], personas: Any, record_file: Callable[..., str],
) -> None:
    code, screened, _ = run(capsys, "screening", "add", record_file(active_epilepsy=True),
                            "--site", "YNH", "--as", "coord")
    assert code == 0 and screened["decision"] == "not_eligible"
    assert screened["failed"] == ["I3"] and screened["strata"] is None
    run(capsys, "consent", "add", "YNH-S0001", "--signer", "patient", "--form-version", "1",
        "--as", "coord")
    before, events = snapshot(), AuditEvent.objects.count()
    code, _, err = run(capsys, "enroll", "YNH-S0001", "--as", "coord")
    assert (code, err.strip()) == (3, "refused: not_eligible: failed I3")
    assert_only_refusal_audited(before, events, "enroll")


def test_day_9_patient_enrolls_in_the_observational_cohort(
    capsys: pytest.CaptureFixture[str], personas: Any, record_file: Callable[..., str],
) -> None:
    onset = (timezone.now() - timedelta(days=9)).isoformat()
    _, screened, _ = run(capsys, "screening", "add", record_file(se_onset=onset), "--site", "YNH",
                         "--as", "coord")
    assert screened["decision"] == "observational_cohort" and screened["failed"] == ["I5"]
    run(capsys, "consent", "add", "YNH-S0001", "--signer", "lar", "--form-version", "1",
        "--as", "coord")
    code, enrolled, _ = run(capsys, "enroll", "YNH-S0001", "--as", "coord")
    assert (code, enrolled["cohort"], enrolled["study_id"]) == (0, "observational_cohort",
                                                                 "YNH-001")


def test_study_ids_count_per_site(
    enroll: Callable[..., Any],
) -> None:
    ids = [enroll("YNH").study_id, enroll("SNU").study_id, enroll("YNH").study_id]
    assert ids == ["YNH-001", "SNU-001", "YNH-002"]


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["screening", "add", "MISSING.json", "--site", "YNH", "--as", "coord"], "file"),
        (["screening", "add", "{record}", "--site", "XXX", "--as", "coord"], "site"),
        (["screening", "add", "{record}", "--site", "YNH", "--as", "nobody"], "as"),
        (["consent", "add", "YNH-S9999", "--signer", "lar", "--form-version", "1", "--as",
          "coord"], "screening"),
        (["consent", "add", "YNH-S0001", "--signer", "lar", "--form-version", "1",
          "--optional", "cookies", "--as", "coord"], "optional"),
        (["randomize", "YNH-999", "--as", "coord"], "study_id"),
        (["randomization", "setup", "--design", "coin", "--seed", "1", "--as", "statistician"],
         "design"),
        (["randomization", "setup", "--design", "minimization", "--seed", "-4", "--as",
          "statistician"], "seed"),
        (["user", "add", "new.user", "--role", "wizard"], "role"),
        (["user", "add", "new.user", "--role", "site_coordinator"], "site"),
        (["user", "add", "new.user", "--role", "statistician", "--site", "YNH"], "site"),
        (["user", "add", "Bad Name", "--role", "statistician"], "username"),
    ],
)  # fmt: skip
def test_bad_input_exits_2_with_one_line_naming_the_problem(
    capsys: pytest.CaptureFixture[str], personas: Any, record_file: Callable[..., str],
    argv: list[str], needle: str,
) -> None:
    path = record_file()
    run(capsys, "screening", "add", path, "--site", "YNH", "--as", "coord")
    before = snapshot()
    argv = [a.replace("{record}", path) for a in argv]
    code, out, err = run(capsys, *argv)
    assert code == 2 and out is None
    lines = err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0]
    assert snapshot() == before


def test_screening_with_a_different_time_zone_is_bad_input(
    capsys: pytest.CaptureFixture[str], personas: Any, record_file: Callable[..., str],
) -> None:
    code, _, err = run(capsys, "screening", "add", record_file(site_timezone="Asia/Seoul"),
                       "--site", "YNH", "--as", "coord")
    assert code == 2 and err.startswith("error: site_timezone")
    assert ScreeningEntry.unscoped.count() == 0


def test_screening_record_from_stdin_with_an_extra_field_warns(
    capsys: pytest.CaptureFixture[str], personas: Any, make_record: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(make_record(shoe_size=44))))
    code, out, err = run(capsys, "screening", "add", "-", "--site", "YNH", "--as", "coord")
    assert code == 0 and out["decision"] == "randomized_cohort"
    assert "shoe_size" in err


def test_only_the_statistician_sets_up_a_list(
    capsys: pytest.CaptureFixture[str], personas: Any,
) -> None:
    code, _, err = run(capsys, "randomization", "setup", "--design", "permuted_blocks",
                       "--seed", "random", "--as", "coord")
    assert (code, err.strip()) == (3, "refused: role (needs statistician)")
    code, _, err = run(capsys, "randomization", "setup", "--design", "minimization",
                       "--seed", "1152921504606846977", "--as", "statistician")
    assert (code, err.strip()) == (
        2, "error: seed: a production list's seed is drawn by the system: use --seed random")
    code, out, _ = run(capsys, "randomization", "setup", "--design", "minimization",
                       "--seed", "random", "--as", "statistician")
    assert code == 0
    assert out == {"list_id": out["list_id"], "design": "minimization",
                   "seed": out["seed"], "algorithm_version": "minimization/1"}
    assert isinstance(out["seed"], str) and int(out["seed"]) < 2**128
    code, _, err = run(capsys, "randomization", "setup", "--design", "permuted_blocks",
                       "--seed", "random", "--as", "statistician")
    assert code == 3 and "active production list exists" in err


def test_sites_command_lists_all_33(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "sites")
    assert code == 0 and len(out["sites"]) == 33
    assert set(out["sites"][0]) == {"code", "name", "city", "country", "country_code",
                                    "timezone", "region"}
    codes = {s["code"]: s["country_code"] for s in out["sites"]}
    assert codes["YNH"] == "US" and set(codes.values()) == {"US", "CA", "FR", "IT", "KR", "SE",
                                                          "GB"}


def test_user_add_prints_the_password_on_stderr_only(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "user", "add", "new.coord", "--role", "site_coordinator",
                         "--site", "YNH", "--site", "snu")
    assert code == 0
    assert out == {"username": "new.coord", "role": "site_coordinator", "sites": ["SNU", "YNH"]}
    assert "one-time password" in err
    assert "password" not in json.dumps(out)


def test_reason_not_enrolled_and_end_of_follow_up_from_the_command_line(
    capsys: pytest.CaptureFixture[str], personas: Any, record_file: Callable[..., str],
    enroll: Callable[..., Any],
) -> None:
    run(capsys, "screening", "add", record_file(), "--site", "YNH", "--as", "coord")
    code, out, _ = run(capsys, "screening", "not-enrolled", "YNH-S0001", "--reason",
                       "family declined", "--as", "coord")
    assert (code, out) == (0, {"screening_id": "YNH-S0001", "reason_not_enrolled":
                               "family declined"})
    code, _, err = run(capsys, "screening", "not-enrolled", "YNH-S0001", "--reason", "x",
                       "--as", "othercoord")
    assert (code, err.strip()) == (3, "refused: other site")
    p = enroll()
    code, out, _ = run(capsys, "end-follow-up", p.study_id, "--status", "died", "--reason",
                       "refractory SE", "--as", "investigator")
    assert code == 0 and out["status"] == "died" and out["ended_at"]
    code, _, err = run(capsys, "end-follow-up", p.study_id, "--status", "lost_to_follow_up",
                       "--reason", "no contact", "--as", "coord")
    assert (code, err.strip()) == (3, "refused: follow-up already ended (died)")


def test_future_onset_or_evaluation_is_bad_input_at_the_bedside(
    capsys: pytest.CaptureFixture[str], personas: Any, record_file: Callable[..., str],
) -> None:
    future = (timezone.now() + timedelta(days=2)).isoformat()
    later = (timezone.now() + timedelta(days=3)).isoformat()
    cases = {"se_onset": {"se_onset": future, "evaluated_at": later},
             "evaluated_at": {"evaluated_at": future}}
    for field, values in cases.items():
        code, _, err = run(capsys, "screening", "add", record_file(**values),
                           "--site", "YNH", "--as", "coord")
        assert (code, err.strip()) == (2, f"error: {field}: is in the future")
    assert ScreeningEntry.unscoped.count() == 0


def test_rescreening_needs_a_reason_and_withdrawal_after_death_is_refused(
    capsys: pytest.CaptureFixture[str], personas: Any, record_file: Callable[..., str],
    enroll: Callable[..., Any],
) -> None:
    path = record_file()
    run(capsys, "screening", "add", path, "--site", "YNH", "--as", "coord")
    code, _, err = run(capsys, "screening", "update", "YNH-S0001", path, "--as", "coord")
    assert code == 2 and "--reason" in err
    p = enroll()
    run(capsys, "end-follow-up", p.study_id, "--status", "died", "--reason", "x", "--as", "coord")
    code, _, err = run(capsys, "withdraw", p.study_id, "--scope", "stop_treatment", "--reason",
                       "family", "--as", "coord")
    assert (code, err.strip()) == (3, "refused: follow-up already ended (died)")


def test_a_masked_user_of_another_site_is_told_other_site_when_asking_to_unmask(
    capsys: pytest.CaptureFixture[str], enroll: Callable[..., Any], production_list: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io

    from combat_norse.accounts.actions import do_add_user

    do_add_user("assessor.snu", "outcome_assessor", ["SNU"])
    p = enroll()
    run(capsys, "randomize", p.study_id, "--as", "coord")
    monkeypatch.setattr("sys.stdin", io.StringIO("whatever\n"))
    code, _, err = run(capsys, "unmask", p.study_id, "--reason", "rash", "--password-stdin",
                       "--as", "assessor.snu")
    assert (code, err.strip()) == (3, "refused: other site")
