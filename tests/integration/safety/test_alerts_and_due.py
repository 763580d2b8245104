"""Lab alerts (§10 with the §14 safety rules), the DRESS watch, overdue anakinra safety labs and
the due-work list (issue #16 parts 4 and 5)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone
from tests.integration.safety.conftest import run

from combat_norse.allocation.actions import do_randomize
from combat_norse.audit.models import AuditEvent
from combat_norse.participants.actions import do_assign_assessor

pytestmark = pytest.mark.req("§10", "§14", "#16")
#: the command-line contracts of ``alerts``, ``safety grade`` and ``due``, run locally and through
#: the API (issue 18); the rule tests beside them (thresholds, the DRESS signs) run locally only
both_faces = pytest.mark.usefixtures("cli_face")


def _on(arm: str, enroll: Callable[..., Any], personas: Any) -> Any:
    """A participant randomized to ``arm`` (randomizing until the list gives it)."""
    for _ in range(12):
        p = enroll()
        if do_randomize(personas.coord, p).arm == arm:
            p.refresh_from_db()
            return p
    raise AssertionError(f"no {arm} allocation in 12 randomizations")


def _labs(at: Any = None, **values: Any) -> dict[str, Any]:
    return {"collected_at": (at or timezone.now() - timedelta(hours=1)).isoformat(), **values}


def _alerts(capsys: Any, study_id: str, user: str = "coord") -> list[dict[str, Any]]:
    code, out, err = run(capsys, "alerts", study_id, "--as", user)
    assert code == 0, err
    return out["alerts"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(("values", "expected"), [
    ({"alt_u_l": 120, "alt_uln_u_l": 40}, []),  # exactly 3 x ULN
    ({"alt_u_l": 121, "alt_uln_u_l": 40}, [("tocilizumab_hold", "alt_u_l", 121)]),
    ({"ast_u_l": 200, "ast_uln_u_l": 40}, [("tocilizumab_hold", "ast_u_l", 200)]),  # 5 x ULN
    ({"ast_u_l": 201, "ast_uln_u_l": 40}, [("tocilizumab_discontinue", "ast_u_l", 201)]),
    ({"anc_per_mm3": 1001}, []),
    ({"anc_per_mm3": 1000}, [("tocilizumab_hold", "anc_per_mm3", 1000)]),
    ({"anc_per_mm3": 500}, [("tocilizumab_hold", "anc_per_mm3", 500)]),
    ({"anc_per_mm3": 499}, [("tocilizumab_discontinue", "anc_per_mm3", 499)]),
    ({"platelets_per_mm3": 100001}, []),
    ({"platelets_per_mm3": 100000}, [("tocilizumab_hold", "platelets_per_mm3", 100000)]),
    ({"platelets_per_mm3": 50000}, [("tocilizumab_hold", "platelets_per_mm3", 50000)]),
    ({"platelets_1e9_per_l": 49.999},
     [("tocilizumab_discontinue", "platelets_per_mm3", 49999)]),  # SI, converted on entry
])  # fmt: skip
def test_tocilizumab_lab_thresholds_at_and_beside_each_boundary(
    capsys: Any, save: Any, personas: Any, enroll: Callable[..., Any], production_list: Any,
    values: dict[str, Any], expected: list[tuple[str, str, int]],
) -> None:
    p = _on("tocilizumab", enroll, personas)
    code, _, err = save(p.study_id, "unscheduled", "labs", _labs(**values), "coord")
    assert code == 0, err
    assert [(a["kind"], a["item"], a["value"]) for a in _alerts(capsys, p.study_id)] == expected


@both_faces
def test_no_tocilizumab_alert_on_anakinra_until_a_tocilizumab_dose_is_recorded(
    capsys: Any, save: Any, personas: Any, enroll: Callable[..., Any], production_list: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    p = _on("anakinra", enroll, personas)
    save(p.study_id, "unscheduled", "labs", _labs(anc_per_mm3=400), "coord")
    assert _alerts(capsys, p.study_id) == []
    with django_capture_on_commit_callbacks(execute=True):
        save(p.study_id, "unscheduled", "dose",
             {"drug": "tocilizumab", "dose_mg": 580, "route": "iv",
              "given_at": (timezone.now() - timedelta(minutes=2)).isoformat()}, "pharmacist")
    [alert] = _alerts(capsys, p.study_id)
    assert (alert["kind"], alert["item"]) == ("tocilizumab_discontinue", "anc_per_mm3")
    assert "< 500: discontinue" in alert["rule"]
    # e-mailed once, to the unmasked treating team of the site only
    [message] = mail.outbox
    assert "pharmacist@example.invalid" in message.to and "coord@example.invalid" in message.to
    assert not {"assessor@example.invalid", "othercoord@example.invalid",
                "sponsor@example.invalid"} & set(message.to)
    assert AuditEvent.objects.filter(action="lab_alert_sent").count() == 1


@both_faces
def test_a_corrected_lab_clears_its_alert_and_a_masked_role_is_refused(
    capsys: Any, save: Any, personas: Any, enroll: Callable[..., Any], production_list: Any
) -> None:
    p = _on("tocilizumab", enroll, personas)
    save(p.study_id, "unscheduled", "labs", _labs(anc_per_mm3=800), "coord")
    assert len(_alerts(capsys, p.study_id)) == 1
    do_assign_assessor(personas.datamanager, p, personas.assessor)
    for who in ("assessor", "sponsor", "othercoord", "statistician"):
        code, out, err = run(capsys, "alerts", p.study_id, "--as", who)
        assert code == 3 and out is None and "tocilizumab" not in err, who
    save(p.study_id, "unscheduled", "labs", {"anc_per_mm3": 1800}, "coord", "--instance", "1",
         "--reason", "typo")
    assert _alerts(capsys, p.study_id) == []


def _rash(save: Any, study_id: str, onset: Any) -> None:
    code, _, err = save(study_id, "unscheduled", "adverse_event", {
        "term": "Maculopapular rash", "grade": 2, "onset_date": onset.date().isoformat(),
        "serious": False, "awareness_at": onset.isoformat(),
        "related_to_study_drug": "possible", "expected": False, "outcome": "recovering",
    }, "coord")  # fmt: skip
    assert code == 0, err


@pytest.mark.parametrize(("eos", "alt", "days_apart", "alerted"), [
    (1500, 81, 14, True),  # eosinophils at the threshold, ALT just above 2 x ULN, 14 days
    (1499, 81, 0, False),
    (1500, 80, 0, False),  # exactly 2 x ULN
    (1500, 81, 15, False),  # the signs 15 days apart
])  # fmt: skip
def test_the_dress_watch_needs_all_three_signs_within_14_days(
    capsys: Any, save: Any, personas: Any, enroll: Callable[..., Any], production_list: Any,
    eos: int, alt: int, days_apart: int, alerted: bool,
) -> None:
    p = _on("anakinra", enroll, personas)
    # yesterday at noon UTC: the calendar-day distances hold at any hour the test runs
    base = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=1)
    save(p.study_id, "unscheduled", "labs",
         _labs(base - timedelta(days=days_apart), eosinophils_per_mm3=eos), "coord")
    _rash(save, p.study_id, base - timedelta(days=days_apart // 2))
    save(p.study_id, "unscheduled", "labs", _labs(base, alt_u_l=alt, alt_uln_u_l=40), "coord")
    kinds = [a["kind"] for a in _alerts(capsys, p.study_id)]
    assert kinds == (["dress_watch"] if alerted else [])


@both_faces
def test_no_dress_watch_without_a_study_drug(
    capsys: Any, save: Any, enroll: Callable[..., Any]
) -> None:
    p = enroll(se_onset=(timezone.now() - timedelta(days=9)).isoformat())  # observational
    save(p.study_id, "unscheduled", "labs", _labs(eosinophils_per_mm3=2000, alt_u_l=200,
                                                  alt_uln_u_l=40), "coord")  # fmt: skip
    _rash(save, p.study_id, timezone.now() - timedelta(days=1))
    assert _alerts(capsys, p.study_id) == []


def _due(capsys: Any, user: str = "coord", *extra: str) -> dict[str, Any]:
    code, out, err = run(capsys, "due", *extra, "--as", user)
    assert code == 0, err
    return out  # type: ignore[no-any-return]


def _anakinra_dose(save: Any, study_id: str, at: Any) -> None:
    code, _, err = save(study_id, "unscheduled", "dose", {
        "drug": "anakinra", "dose_mg": 100, "route": "iv", "given_at": at.isoformat()},
        "pharmacist")  # fmt: skip
    assert code == 0, err


@both_faces
def test_overdue_anakinra_safety_labs_reach_the_due_list_of_the_unmasked_only(
    capsys: Any, save: Any, personas: Any, enroll: Callable[..., Any], production_list: Any
) -> None:
    p = _on("anakinra", enroll, personas)
    now = timezone.now()
    first = now - timedelta(days=5)
    _anakinra_dose(save, p.study_id, first)
    _anakinra_dose(save, p.study_id, now - timedelta(hours=3))  # still on drug
    [row] = [r for r in _due(capsys)["overdue_safety_labs"] if r["study_id"] == p.study_id]
    assert row["labs"] == "baseline"  # no labs at or before the first dose
    save(p.study_id, "unscheduled", "labs", _labs(first - timedelta(hours=1), anc_per_mm3=3000),
         "coord")
    [row] = [r for r in _due(capsys)["overdue_safety_labs"] if r["study_id"] == p.study_id]
    assert row["labs"] == "follow_up"  # baseline + 4 days has passed (twice weekly)
    save(p.study_id, "unscheduled", "labs", _labs(now - timedelta(days=1), anc_per_mm3=3000),
         "coord")
    assert _due(capsys)["overdue_safety_labs"] == []
    do_assign_assessor(personas.datamanager, p, personas.assessor)
    save(p.study_id, "unscheduled", "labs", {"collected_at": (now - timedelta(days=5)).isoformat()},
         "coord", "--instance", "2", "--reason", "date corrected")
    assert _due(capsys)["overdue_safety_labs"] != []
    assert _due(capsys, "assessor")["overdue_safety_labs"] == []  # drug-specific: masked


@both_faces
def test_labs_are_not_owed_once_off_anakinra(
    capsys: Any, save: Any, personas: Any, enroll: Callable[..., Any], production_list: Any
) -> None:
    p = _on("anakinra", enroll, personas)
    _anakinra_dose(save, p.study_id, timezone.now() - timedelta(days=3))  # last dose > 48 h ago
    assert _due(capsys)["overdue_safety_labs"] == []


@both_faces
def test_the_due_list_has_every_kind_of_work_and_open_clocks(
    capsys: Any, save: Any, enroll: Callable[..., Any]
) -> None:
    p = enroll()
    aware = timezone.now() - timedelta(hours=2)
    save(p.study_id, "unscheduled", "adverse_event", {
        "term": "Sepsis", "grade": 4, "onset_date": aware.date().isoformat(), "serious": True,
        "seriousness": ["life_threatening"], "awareness_at": aware.isoformat(),
        "related_to_study_drug": "not_related", "expected": False, "outcome": "recovering",
    }, "coord")  # fmt: skip
    due = _due(capsys)
    assert set(due) == {"site", "overdue_visits", "incomplete_forms", "open_queries",
                        "unsigned_casebooks", "open_clocks", "overdue_safety_labs"}
    [clock] = due["open_clocks"]
    assert (clock["ae_id"], clock["status"]) == (f"{p.study_id}-AE1", "open")
    assert _due(capsys, "othercoord")["open_clocks"] == []
    run(capsys, "safety", "report", f"{p.study_id}-AE1", "--to", "coordinating_centre", "--at",
        timezone.now().isoformat(), "--as", "coord")
    assert _due(capsys)["open_clocks"] == []


@both_faces
def test_grade_suggestions_come_from_the_latest_labs(
    capsys: Any, save: Any, enroll: Callable[..., Any]
) -> None:
    p = enroll()
    save(p.study_id, "unscheduled", "labs",
         _labs(timezone.now() - timedelta(days=2), anc_per_mm3=400), "coord")
    save(p.study_id, "unscheduled", "labs", _labs(anc_per_mm3=900, alt_u_l=130, alt_uln_u_l=40),
         "coord")
    code, out, _ = run(capsys, "safety", "grade", p.study_id, "--as", "investigator")
    assert code == 0
    by_term = {s["term"]: s for s in out["suggestions"]}
    assert by_term["Neutrophil count decreased"]["grade"] == 3  # 900: < 1000, latest labs
    assert by_term["Alanine aminotransferase increased"]["grade"] == 2  # 3.25 x ULN
    code, _, err = run(capsys, "safety", "grade", p.study_id, "--as", "othercoord")
    assert code == 3 and err == "refused: other site\n"


def test_a_retried_lab_alert_task_sends_nothing_twice(
    capsys: Any, save: Any, personas: Any, enroll: Callable[..., Any], production_list: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from combat_norse.safety.actions.alerts import mail_lab_alert
    from combat_norse.safety.models import LabAlert

    p = _on("tocilizumab", enroll, personas)
    with django_capture_on_commit_callbacks(execute=True):
        save(p.study_id, "unscheduled", "labs", _labs(platelets_per_mm3=40_000), "coord")
    alert = LabAlert.unscoped.get(participant=p)
    mail_lab_alert(alert.pk)  # the task run again (a retry, a second worker)
    assert len(mail.outbox) == 1 and "< 50000: discontinue" in mail.outbox[0].body
    assert AuditEvent.objects.filter(action="lab_alert_sent").count() == 1


@both_faces
def test_the_dress_window_counts_the_sites_calendar_days_whatever_offset_is_typed(
    capsys: Any, save: Any, personas: Any, enroll: Callable[..., Any], production_list: Any
) -> None:
    """YNH is in New York: 02:00 UTC on 30 November is 21:00 on the 29th there, 14 days after
    a rash on the 15th. The same instant typed with either offset gives the same answer."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    for typed in ("2026-11-30T02:00:00+00:00", "2026-11-29T21:00:00-05:00"):
        p = _on("anakinra", enroll, personas)
        _rash(save, p.study_id, datetime(2026, 11, 15, 12, tzinfo=ZoneInfo("America/New_York")))
        save(p.study_id, "unscheduled", "labs", {"collected_at": typed,
             "eosinophils_per_mm3": 1600, "alt_u_l": 100, "alt_uln_u_l": 40}, "coord")
        assert [a["kind"] for a in _alerts(capsys, p.study_id)] == ["dress_watch"], typed


def test_a_lab_alert_no_one_can_be_mailed_stays_unsent_until_someone_can(
    capsys: Any, save: Any, personas: Any, enroll: Callable[..., Any], production_list: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from django.contrib.auth.models import User

    from combat_norse.safety.actions.alerts import send_unsent_lab_alerts
    from combat_norse.safety.models import LabAlert

    p = _on("tocilizumab", enroll, personas)
    team = ("coord", "investigator", "pharmacist")
    User.objects.filter(username__in=team).update(email="")
    with django_capture_on_commit_callbacks(execute=True):
        save(p.study_id, "unscheduled", "labs", _labs(anc_per_mm3=450), "coord")
    alert = LabAlert.unscoped.get(participant=p)
    assert alert.notified_at is None and mail.outbox == []  # not recorded as sent
    assert not AuditEvent.objects.filter(action="lab_alert_sent").exists()
    User.objects.filter(username="investigator").update(email="pi@example.invalid")
    assert send_unsent_lab_alerts() == 1
    assert send_unsent_lab_alerts() == 0
    assert [m.to for m in mail.outbox] == [["pi@example.invalid"]]
