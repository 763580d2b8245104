"""Data capture through the §14 commands: the data dictionary, visits from enrollment, form
save/show with bad input, versions, conflicts, reasons, lock/unlock, SDV, rule queries, masking,
and the end of follow-up by the death form."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from tests.integration.crf.conftest import run

from combat_norse.audit.models import AuditEvent
from combat_norse.crf.models import FormInstance, Visit

pytestmark = [pytest.mark.django_db, pytest.mark.req("§14", "#18"),
              pytest.mark.usefixtures("cli_face")]  # locally and through the API
DRUGS = ("anakinra", "tocilizumab")


def _assigned(personas: Any, enroll: Callable[..., Any]) -> Any:
    from combat_norse.participants.actions import do_assign_assessor

    p = enroll()
    do_assign_assessor(personas.coord, p, personas.assessor)
    return p


def test_forms_lists_the_dictionary_and_hides_arm_revealing_forms_from_a_masked_user(
    capsys: pytest.CaptureFixture[str], personas: Any
) -> None:
    code, out, _ = run(capsys, "forms", "--as", "coord")
    by_code = {f["code"]: f for f in out["forms"]}
    assert {"mrs", "labs", "se_resolution", "death", "dose", "adverse_event"} <= set(by_code)
    mrs = {i["code"]: i for i in by_code["mrs"]["items"]}
    assert mrs["mrs"] == {"code": "mrs", "type": "integer", "unit": None, "min": 0, "max": 6,
                          "choices": None, "required": True, "arm_revealing": False}  # fmt: skip
    assert by_code["dose"]["arm_revealing"] is True
    code, masked, _ = run(capsys, "forms", "--as", "assessor")
    assert code == 0
    assert "dose" not in {f["code"] for f in masked["forms"]}
    assert not any(d in json.dumps(masked) for d in DRUGS)


def test_enrollment_schedules_the_visits_from_the_onset_date(
    capsys: pytest.CaptureFixture[str], enroll: Callable[..., Any]
) -> None:
    from zoneinfo import ZoneInfo

    p = enroll()
    code, out, _ = run(capsys, "visits", p.study_id, "--as", "coord")
    assert code == 0
    visits = {v["visit"]: v for v in out["visits"]}
    assert list(visits) == ["baseline", "day30", "month3", "month6", "month12"]
    onset = p.screening.se_onset.astimezone(ZoneInfo("America/New_York")).date()
    day30 = visits["day30"]
    assert (day30["target"], day30["earliest"], day30["latest"]) == (
        (onset + timedelta(days=30)).isoformat(), (onset + timedelta(days=23)).isoformat(),
        (onset + timedelta(days=37)).isoformat())  # fmt: skip
    assert day30["status"] == "upcoming"
    assert {"form": "mrs", "status": "not_started"} in day30["forms"]
    assert visits["baseline"]["forms"] == [{"form": "baseline", "status": "not_started"}]


def test_a_value_outside_its_range_or_code_list_is_bad_input_and_saves_nothing(
    personas: Any, enroll: Callable[..., Any], save: Callable[..., Any]
) -> None:
    p = _assigned(personas, enroll)
    for values, message in (({"mrs": 7}, "error: mrs: above 6"),
                            ({"mrs": "3"}, "error: mrs: expected a number"),
                            ({"mrs": 2.5}, "error: mrs: expected a whole number"),
                            ({"mrs": 2, "shoe_size": 44}, "error: shoe_size: not an item"),
                            ({"assessed_on": "29/11/2026"},
                             "error: assessed_on: expected")):  # fmt: skip
        code, out, err = save(p.study_id, "day30", "mrs", values, "assessor")
        assert (code, out) == (2, None) and err.startswith(message), values
    assert FormInstance.unscoped.count() == 0
    code, _, err = save(p.study_id, "day30", "dose", {}, "coord")
    assert code == 2 and err.startswith("error: visit: form dose is not collected at visit day30")


def test_saving_counts_versions_needs_a_reason_after_complete_and_refuses_a_stale_version(
    personas: Any, enroll: Callable[..., Any], save: Callable[..., Any],
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    p = _assigned(personas, enroll)
    code, out, _ = save(p.study_id, "day30", "mrs", {"mrs": 3}, "assessor")
    assert (out["status"], out["version"], out["instance"]) == ("in_progress", 1, 1)
    code, out, _ = save(p.study_id, "day30", "mrs", {"assessed_on": "2026-01-05"}, "assessor",
                        "--if-version", "1")  # fmt: skip
    assert (out["status"], out["version"]) == ("complete", 2)
    code, _, err = save(p.study_id, "day30", "mrs", {"mrs": 4}, "assessor")
    assert code == 3 and err.startswith("refused: reason required")
    code, _, err = save(p.study_id, "day30", "mrs", {"mrs": 4}, "assessor", "--reason",
                        "rescored", "--if-version", "1")  # fmt: skip
    assert code == 3 and err.strip() == "refused: conflict (version 2, not 1; changed: assessed_on)"
    code, out, _ = save(p.study_id, "day30", "mrs", {"mrs": 4}, "assessor", "--reason",
                        "rescored", "--if-version", "2")  # fmt: skip
    assert out["version"] == 3
    event = AuditEvent.objects.filter(action="form_save").latest("seq")
    assert event.changes["item:mrs"] == [3, 4] and event.reason == "rescored"
    code, shown, _ = run(capsys, "form", "show", p.study_id, "day30", "mrs", "--as", "assessor")
    assert shown["values"] == {"mrs": 4, "assessed_on": "2026-01-05"}
    assert (shown["version"], shown["status"], shown["sdv"]) == (3, "complete", "not_verified")


def test_lock_unlock_and_sdv_follow_the_form_life_cycle(
    personas: Any, enroll: Callable[..., Any], save: Callable[..., Any],
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    p = _assigned(personas, enroll)
    save(p.study_id, "day30", "mrs", {"mrs": 3}, "assessor")
    code, _, err = run(capsys, "form", "verify", p.study_id, "day30", "mrs", "--as", "monitor")
    assert code == 3 and "only a complete form is verified" in err
    save(p.study_id, "day30", "mrs", {"assessed_on": "2026-01-05"}, "assessor")
    code, _, err = run(capsys, "form", "lock", p.study_id, "day30", "mrs", "--as", "monitor")
    assert code == 3 and err.startswith("refused: role")
    code, out, _ = run(capsys, "form", "verify", p.study_id, "day30", "mrs", "--as", "monitor")
    assert out == {"status": "complete", "sdv": "verified"}
    code, out, _ = run(capsys, "form", "lock", p.study_id, "day30", "mrs", "--as", "datamanager")
    assert out == {"status": "locked", "sdv": "verified"}
    code, _, err = save(p.study_id, "day30", "mrs", {"mrs": 1}, "assessor", "--reason", "x")
    assert (code, err.strip()) == (3, "refused: locked")
    code, _, err = run(capsys, "form", "unlock", p.study_id, "day30", "mrs", "--as",
                       "datamanager")  # fmt: skip
    assert code == 3 and err.startswith("refused: reason required")
    code, out, _ = run(capsys, "form", "unlock", p.study_id, "day30", "mrs", "--reason",
                       "late correction", "--as", "datamanager")  # fmt: skip
    assert out == {"status": "complete", "sdv": "verified"}
    save(p.study_id, "day30", "mrs", {"mrs": 1}, "assessor", "--reason", "monitor found it")
    code, shown, _ = run(capsys, "form", "show", p.study_id, "day30", "mrs", "--as", "monitor")
    assert shown["sdv"] == "changed_after_sdv" and shown["values"]["mrs"] == 1


def test_a_failing_rule_saves_the_value_opens_a_query_and_closes_it_when_corrected(
    personas: Any, enroll: Callable[..., Any], save: Callable[..., Any]
) -> None:
    p = enroll()
    before_onset = (p.screening.se_onset - timedelta(hours=2)).isoformat()
    code, out, _ = save(p.study_id, "se_resolution", "se_resolution",
                        {"resolved_at": before_onset}, "coord")  # fmt: skip
    assert code == 0 and out["status"] == "complete"
    assert [(q["item"], q["text"]) for q in out["queries"]] == [
        ("resolved_at", "SE resolution is not after the SE onset")]  # fmt: skip
    later = (p.screening.se_onset + timedelta(hours=30)).isoformat()
    code, out, _ = save(p.study_id, "se_resolution", "se_resolution", {"resolved_at": later},
                        "coord", "--reason", "typo in the date")  # fmt: skip
    assert out["queries"] == []
    assert AuditEvent.objects.filter(action="query_close").count() == 1
    assert Visit.unscoped.get(participant=p, code="se_resolution").status == "done"


def test_masked_readers_never_see_the_dose_form_and_outcomes_are_the_assessors_own(
    personas: Any, enroll: Callable[..., Any], save: Callable[..., Any],
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    p = _assigned(personas, enroll)
    given = timezone.now().isoformat()
    dose = {"drug": "tocilizumab", "dose_mg": 576, "given_at": given, "route": "iv"}
    code, out, _ = save(p.study_id, "unscheduled", "dose", dose, "pharmacist")
    assert code == 0 and out["instance"] == 1
    code, _, err = run(capsys, "form", "show", p.study_id, "unscheduled", "dose", "--instance",
                       "1", "--as", "assessor")  # fmt: skip
    assert (code, err.strip()) == (3, "refused: masked")
    code, _, err = run(capsys, "form", "show", p.study_id, "unscheduled", "dose", "--instance",
                       "9", "--as", "assessor")  # fmt: skip
    assert (code, err.strip()) == (3, "refused: masked")  # absence does not leak either
    code, visits, _ = run(capsys, "visits", p.study_id, "--as", "assessor")
    assert not any(d in json.dumps(visits) or "dose" in json.dumps(visits) for d in DRUGS)
    code, _, err = save(p.study_id, "day30", "mrs", {"mrs": 2}, "coord")
    assert code == 3 and err.startswith("refused: role (needs outcome_assessor")
    code, _, err = save(p.study_id, "unscheduled", "dose", {"drug": "anakinra"}, "assessor")
    assert code == 3 and err.startswith("refused: role")


def test_an_outcome_entered_after_the_assessor_was_unmasked_is_flagged(
    personas: Any, enroll: Callable[..., Any], save: Callable[..., Any],
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    from combat_norse.participants.actions import do_record_assessor_unmasked

    p = _assigned(personas, enroll)
    do_record_assessor_unmasked(personas.coord, p, personas.assessor, how="family told")
    save(p.study_id, "day30", "mrs", {"mrs": 2, "assessed_on": "2026-01-05"}, "assessor")
    code, shown, _ = run(capsys, "form", "show", p.study_id, "day30", "mrs", "--as", "coord")
    assert code == 0 and shown["assessed_unmasked"] is True
    assert FormInstance.unscoped.get(form="mrs").assessed_by == personas.assessor


def test_the_death_form_ends_follow_up_and_later_visits_become_not_applicable(
    personas: Any, enroll: Callable[..., Any], save: Callable[..., Any],
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    p = enroll()
    today = timezone.now().date().isoformat()
    code, out, _ = save(p.study_id, "death", "death", {"died_on": today,
                        "cause": "refractory status epilepticus"}, "coord")  # fmt: skip
    assert code == 0 and out["status"] == "complete"
    p.refresh_from_db()
    assert p.status == "died"
    code, visits, _ = run(capsys, "visits", p.study_id, "--as", "coord")
    status = {v["visit"]: v["status"] for v in visits["visits"]}
    assert status["month12"] == "not_applicable" and status["death"] == "done"
    code, _, err = save(p.study_id, "unscheduled", "labs", {"anc_per_mm3": 1200}, "coord")
    assert (code, err.strip()) == (3, "refused: follow-up ended (died)")


def test_a_visit_declared_missed_needs_a_reason_and_the_site_team(
    enroll: Callable[..., Any], capsys: pytest.CaptureFixture[str]
) -> None:
    p = enroll()
    code, _, err = run(capsys, "visit", "missed", p.study_id, "day30", "--reason", " ",
                       "--as", "coord")  # fmt: skip
    assert code == 3 and err.startswith("refused: reason required")
    code, _, err = run(capsys, "visit", "missed", p.study_id, "day30", "--reason", "moved",
                       "--as", "othercoord")  # fmt: skip
    assert (code, err.strip()) == (3, "refused: other site")
    code, out, _ = run(capsys, "visit", "missed", p.study_id, "day30", "--reason",
                       "family moved abroad", "--as", "coord")  # fmt: skip
    assert out == {"study_id": p.study_id, "visit": "day30", "status": "missed"}
    code, _, err = run(capsys, "visit", "missed", p.study_id, "day99", "--reason", "x",
                       "--as", "coord")  # fmt: skip
    assert code == 2 and err.startswith("error: visit:")


def test_the_visit_clock_uses_the_sites_local_day(enroll: Callable[..., Any]) -> None:
    from combat_norse.crf.actions.visits import run_visit_clock

    p = enroll(site="SNU")  # Asia/Seoul, east of UTC
    visit = Visit.unscoped.get(participant=p, code="day30")
    from datetime import datetime, time
    from zoneinfo import ZoneInfo

    seoul = ZoneInfo("Asia/Seoul")
    # 00:30 in Seoul on the first day of the window is still the previous day in UTC
    first = datetime.combine(visit.earliest, time(0, 30), tzinfo=seoul)
    run_visit_clock(first - timedelta(hours=1))
    visit.refresh_from_db()
    assert visit.status == "upcoming"
    run_visit_clock(first)
    visit.refresh_from_db()
    assert visit.status == "due"
    run_visit_clock(datetime.combine(visit.latest + timedelta(days=1), time(0, 30), tzinfo=seoul))
    visit.refresh_from_db()
    assert visit.status == "overdue"
    assert run_visit_clock(datetime.combine(visit.latest + timedelta(days=1), time(1),
                                            tzinfo=seoul)) == 0  # idempotent  # fmt: skip
