"""SAE reporting clocks (§10, §14 Clocks; issue #16 part 3)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import connection
from tests.integration.safety.conftest import run

from combat_norse.audit.models import AuditEvent
from combat_norse.safety.actions.clocks import run_safety_clocks
from combat_norse.safety.models import SafetyClock

pytestmark = [pytest.mark.req("§10", "§14", "#16", "#18"),
              pytest.mark.usefixtures("cli_face")]  # locally and through the API
NY = ZoneInfo("America/New_York")  # YNH
SEOUL = ZoneInfo("Asia/Seoul")  # SNU


def _ae(awareness: datetime, **more: Any) -> dict[str, Any]:
    values = {
        "term": "Lung infection", "grade": 3, "onset_date": awareness.date().isoformat(),
        "serious": True, "seriousness": ["hospitalization"], "awareness_at": awareness.isoformat(),
        "related_to_study_drug": "not_related", "expected": False, "outcome": "recovering",
        "narrative": "pneumonia on day 3",
    }  # fmt: skip
    values.update(more)
    return values


def _clocks(capsys: Any, user: str = "datamanager", *extra: str) -> list[dict[str, Any]]:
    code, out, err = run(capsys, "safety", "clocks", *extra, "--as", user)
    assert code == 0, err
    return out["clocks"]  # type: ignore[no-any-return]


def test_an_sae_opens_the_24_hour_clock_and_saving_is_not_a_report(
    capsys: Any, save: Any, enroll: Callable[..., Any]
) -> None:
    p = enroll()
    aware = datetime(2026, 11, 20, 9, 30, tzinfo=NY)
    code, out, err = save(p.study_id, "unscheduled", "adverse_event", _ae(aware), "coord")
    assert code == 0 and out["status"] == "complete", err
    assert out["ae_id"] == f"{p.study_id}-AE1"  # the id the clocks and reports use
    [clock] = _clocks(capsys)
    assert clock == {
        "ae_id": f"{p.study_id}-AE1", "study_id": p.study_id, "kind": "coordinating_centre_24h",
        "country": "US", "due": "2026-11-21T09:30:00-05:00", "status": "lapsed",
    }  # fmt: skip  # exactly the §14 keys
    # a non-serious event opens nothing
    save(p.study_id, "unscheduled", "adverse_event",
         _ae(aware, serious=False, seriousness=None), "coord")
    assert len(_clocks(capsys)) == 1


def test_the_24_hour_clock_counts_elapsed_hours_across_the_spring_dst_change(
    capsys: Any, save: Any, enroll: Callable[..., Any]
) -> None:
    p = enroll()  # New York springs forward on 2026-03-08 at 02:00
    save(p.study_id, "unscheduled", "adverse_event",
         _ae(datetime(2026, 3, 7, 12, 0, tzinfo=NY)), "coord")
    [clock] = _clocks(capsys)
    assert clock["due"] == "2026-03-08T13:00:00-04:00"  # 24 h elapsed: 13:00 on the wall


@pytest.mark.parametrize(("aware", "seriousness", "due"), [
    # 15 calendar days, same local time, across the spring change: the offset moves
    (datetime(2026, 3, 1, 10, 0, tzinfo=NY), ["hospitalization"], "2026-03-16T10:00:00-04:00"),
    # 7 days for a life-threatening event, across the autumn change
    (datetime(2026, 10, 28, 10, 0, tzinfo=NY), ["life_threatening"], "2026-11-04T10:00:00-05:00"),
    # due inside the spring gap (02:30 does not exist on 8 March): the first instant after it
    (datetime(2026, 3, 1, 2, 30, tzinfo=NY), ["death"], "2026-03-08T03:00:00-04:00"),
])  # fmt: skip
def test_a_susar_opens_the_regulator_clock_in_calendar_days_at_the_same_local_time(
    capsys: Any, save: Any, enroll: Callable[..., Any], aware: datetime,
    seriousness: list[str], due: str,
) -> None:
    p = enroll()
    code, _, err = save(p.study_id, "unscheduled", "adverse_event",
                        _ae(aware, seriousness=seriousness, related_to_study_drug="possible",
                            outcome="fatal" if "death" in seriousness else "recovering",
                            grade=5 if "death" in seriousness else 3), "coord")  # fmt: skip
    assert code == 0, err
    regulator = [c for c in _clocks(capsys) if c["kind"] == "regulator"]
    assert [(c["country"], c["due"]) for c in regulator] == [("US", due)]


def test_the_regulator_clock_follows_the_sites_country_and_zone(
    capsys: Any, save: Any, enroll: Callable[..., Any]
) -> None:
    p = enroll(site="SNU")
    aware = datetime(2026, 11, 2, 23, 30, tzinfo=SEOUL)
    save(p.study_id, "unscheduled", "adverse_event",
         _ae(aware, related_to_study_drug="definite"), "othercoord")
    regulator = [c for c in _clocks(capsys, "othercoord") if c["kind"] == "regulator"]
    assert [(c["country"], c["due"]) for c in regulator] == [("KR", "2026-11-17T23:30:00+09:00")]


@pytest.mark.parametrize("more", [
    {"related_to_study_drug": "unlikely"},  # not related
    {"related_to_study_drug": "probable", "expected": True},  # expected
    {"related_to_study_drug": "probable", "term": "Recurrent seizures"},  # expected in disease
    {"related_to_study_drug": "probable", "expected_in_disease": "prolonged_icu_stay"},
])  # fmt: skip
def test_only_a_susar_opens_a_regulator_clock(
    capsys: Any, save: Any, enroll: Callable[..., Any], more: dict[str, Any]
) -> None:
    p = enroll()
    save(p.study_id, "unscheduled", "adverse_event",
         _ae(datetime(2026, 11, 20, 9, 0, tzinfo=NY), **more), "coord")
    assert [c["kind"] for c in _clocks(capsys)] == ["coordinating_centre_24h"]


def test_an_event_listed_as_expected_in_the_disease_opens_a_query_until_marked(
    save: Any, enroll: Callable[..., Any]
) -> None:
    p = enroll()
    code, out, _ = save(p.study_id, "unscheduled", "adverse_event",
                        _ae(datetime(2026, 11, 20, 9, 0, tzinfo=NY), term="Prolonged ICU stay"),
                        "coord")  # fmt: skip
    assert code == 0 and [q["item"] for q in out["queries"]] == ["expected_in_disease"]


@pytest.mark.parametrize(("offset", "status"), [(-1, "met"), (0, "met"), (1, "met_late")])
def test_a_report_by_the_due_time_meets_the_clock_and_after_it_is_met_late(
    capsys: Any, save: Any, enroll: Callable[..., Any], offset: int, status: str
) -> None:
    p = enroll()
    aware = datetime(2026, 11, 20, 9, 30, tzinfo=NY)
    save(p.study_id, "unscheduled", "adverse_event", _ae(aware), "coord")
    at = aware + timedelta(hours=24, minutes=offset)
    code, out, err = run(capsys, "safety", "report", f"{p.study_id}-AE1", "--to",
                         "coordinating_centre", "--at", at.isoformat(), "--as", "coord")
    assert code == 0, err
    assert out == {"ae_id": f"{p.study_id}-AE1", "kind": "coordinating_centre_24h",
                   "status": status}  # fmt: skip
    assert _clocks(capsys)[0]["status"] == status
    # reported once: a second report is refused, and the first stands
    code, _, err = run(capsys, "safety", "report", f"{p.study_id}-AE1", "--to",
                       "coordinating_centre", "--at", at.isoformat(), "--as", "coord")
    assert code == 3 and err.startswith("refused: already reported")


@pytest.mark.parametrize(("argv", "code", "start"), [
    (["NOPE", "--to", "coordinating_centre", "--at", "2026-11-21T09:00:00+00:00"], 2,
     "error: ae_id"),
    (["{sid}-AE9", "--to", "coordinating_centre", "--at", "2026-11-21T09:00:00+00:00"], 2,
     "error: ae_id"),  # no such event: not found
    (["SNU-001-AE1", "--to", "coordinating_centre", "--at", "2026-11-21T09:00:00+00:00"], 2,
     "error: study_id"),  # no such participant
    (["{sid}-AE1", "--to", "coordinating_centre", "--at", "yesterday"], 2, "error: at"),
    (["{sid}-AE1", "--to", "coordinating_centre", "--at", "2026-11-21T09:00:00"], 2,
     "error: at"),  # no offset
    (["{sid}-AE1", "--to", "coordinating_centre", "--at", "2999-01-01T00:00:00+00:00"], 2,
     "error: at"),  # in the future
    (["{sid}-AE1", "--to", "coordinating_centre", "--at", "2026-11-19T09:00:00+00:00"], 2,
     "error: at"),  # before awareness
    (["{sid}-AE1", "--to", "ethics", "--at", "2026-11-21T09:00:00+00:00"], 2, "error:"),
    (["{sid}-AE1", "--to", "regulator", "--at", "2026-11-21T09:00:00+00:00"], 3,
     "refused: no regulator clock"),  # not a SUSAR
])  # fmt: skip
def test_bad_reports_are_refused_and_record_nothing(
    capsys: Any, save: Any, enroll: Callable[..., Any], argv: list[str], code: int, start: str
) -> None:
    p = enroll()
    save(p.study_id, "unscheduled", "adverse_event",
         _ae(datetime(2026, 11, 20, 9, 30, tzinfo=NY)), "coord")
    done, _, err = run(capsys, "safety", "report", *[a.format(sid=p.study_id) for a in argv],
                       "--as", "datamanager")  # fmt: skip
    assert (done, err[:len(start)]) == (code, start), err
    assert SafetyClock.unscoped.get().reported_at is None


@pytest.mark.parametrize(("user", "allowed"), [
    ("coord", True), ("investigator", True), ("datamanager", True), ("pharmacist", False),
    ("monitor", False), ("assessor", False), ("othercoord", False), ("sponsor", False),
])  # fmt: skip
def test_who_may_record_a_report_to_the_coordinating_centre(
    capsys: Any, save: Any, enroll: Callable[..., Any], user: str, allowed: bool
) -> None:
    p = enroll()
    aware = datetime(2026, 11, 20, 9, 30, tzinfo=NY)
    save(p.study_id, "unscheduled", "adverse_event", _ae(aware), "coord")
    code, _, err = run(capsys, "safety", "report", f"{p.study_id}-AE1", "--to",
                       "coordinating_centre", "--at", aware.isoformat(), "--as", user)
    assert (code == 0) is allowed, err
    if not allowed:
        assert code == 3 and err.startswith("refused:")
        assert AuditEvent.objects.filter(action="safety_report_refused").count() == 1


def test_correcting_the_event_moves_an_open_clock_and_a_non_serious_one_withdraws_it(
    capsys: Any, save: Any, enroll: Callable[..., Any]
) -> None:
    p = enroll()
    aware = datetime(2026, 11, 20, 9, 30, tzinfo=NY)
    save(p.study_id, "unscheduled", "adverse_event", _ae(aware), "coord")
    later = aware + timedelta(hours=3)
    code, _, err = save(p.study_id, "unscheduled", "adverse_event",
                        {"awareness_at": later.isoformat()}, "coord", "--instance", "1",
                        "--reason", "aware later")  # fmt: skip
    assert code == 0, err
    assert _clocks(capsys)[0]["due"] == "2026-11-21T12:30:00-05:00"
    save(p.study_id, "unscheduled", "adverse_event", {"serious": False, "seriousness": None},
         "coord", "--instance", "1", "--reason", "not serious after review")
    assert _clocks(capsys) == []  # the §14 list: open, met, met_late, lapsed only
    assert _clocks(capsys, "datamanager", "--all")[0]["status"] == "withdrawn"
    assert SafetyClock.unscoped.count() == 1  # kept, never deleted


def test_the_alert_goes_out_once_6_hours_before_the_24_hour_clock_lapses(
    save: Any, enroll: Callable[..., Any], django_capture_on_commit_callbacks: Any
) -> None:
    p = enroll()
    aware = datetime(2026, 11, 20, 9, 30, tzinfo=NY)
    save(p.study_id, "unscheduled", "adverse_event",
         _ae(aware, term="Rash after anakinra", narrative="anakinra rash"), "coord")
    alert_at = aware + timedelta(hours=18)
    with django_capture_on_commit_callbacks(execute=True):
        assert run_safety_clocks(alert_at - timedelta(minutes=1))["clock_alerts_sent"] == 0
        assert run_safety_clocks(alert_at)["clock_alerts_sent"] == 1
        assert run_safety_clocks(alert_at + timedelta(minutes=5))["clock_alerts_sent"] == 0
    [message] = mail.outbox
    assert f"{p.study_id}-AE1" in message.subject and "2026-11-21T09:30:00-05:00" in message.body
    body = (message.subject + message.body).lower()
    assert "rash" not in body and "anakinra" not in body and "tocilizumab" not in body
    assert "assessor@example.invalid" not in message.to and "coord@example.invalid" in message.to
    assert AuditEvent.objects.filter(action="safety_clock_alert").count() == 1


def test_a_lapse_is_recorded_once_and_a_late_report_leaves_it_met_late(
    capsys: Any, save: Any, enroll: Callable[..., Any]
) -> None:
    p = enroll()
    aware = datetime(2026, 11, 20, 9, 30, tzinfo=NY)
    save(p.study_id, "unscheduled", "adverse_event", _ae(aware), "coord")
    due = aware + timedelta(hours=24)
    assert run_safety_clocks(due)["clocks_lapsed"] == 0  # at the due time: still open
    assert run_safety_clocks(due + timedelta(seconds=1))["clocks_lapsed"] == 1
    assert run_safety_clocks(due + timedelta(hours=1))["clocks_lapsed"] == 0
    assert AuditEvent.objects.filter(action="safety_clock_lapsed").count() == 1
    run(capsys, "safety", "report", f"{p.study_id}-AE1", "--to", "coordinating_centre", "--at",
        (due + timedelta(hours=2)).isoformat(), "--as", "coord")
    assert _clocks(capsys)[0]["status"] == "met_late"


def test_clocks_are_scoped_to_the_readers_sites(
    capsys: Any, save: Any, enroll: Callable[..., Any]
) -> None:
    p = enroll()
    save(p.study_id, "unscheduled", "adverse_event",
         _ae(datetime(2026, 11, 20, 9, 30, tzinfo=NY)), "coord")
    assert [c["study_id"] for c in _clocks(capsys, "monitor")] == [p.study_id]
    assert _clocks(capsys, "othercoord") == []
    assert _clocks(capsys, "datamanager", "--site", "SNU") == []
    for user in ("assessor", "sponsor", "pharmacist"):
        assert _clocks(capsys, user) == []


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_each_alert_once(
    on_postgres: None, trial_sites: None, personas: Any, enroll: Callable[..., Any], save: Any,
) -> None:
    for n in range(3):
        p = enroll()
        save(p.study_id, "unscheduled", "adverse_event",
             _ae(datetime(2026, 11, 20, 9, n, tzinfo=NY)), "coord")
    start = threading.Barrier(2)
    sent: list[int] = []

    def worker() -> None:
        try:
            start.wait()
            sent.append(run_safety_clocks(datetime(2026, 11, 21, 4, 0, tzinfo=NY))
                        ["clock_alerts_sent"])  # fmt: skip
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(sent) in ([0, 3], [1, 2]) and sum(sent) == 3
    assert AuditEvent.objects.filter(action="safety_clock_alert").count() == 3
    assert len(mail.outbox) == 3


@pytest.mark.req("§14", "#16")
def test_the_per_country_table_is_a_setting_and_a_site_country_without_one_fails_the_check(
    capsys: Any, save: Any, enroll: Callable[..., Any], settings: Any
) -> None:
    from django.core.checks import run_checks

    from combat_norse.sites.models import Site

    settings.COMBAT_NORSE_REGULATOR_DAYS = {"US": [5, 10]}
    p = enroll()
    save(p.study_id, "unscheduled", "adverse_event",
         _ae(datetime(2026, 11, 2, 10, 0, tzinfo=NY), related_to_study_drug="possible"), "coord")
    regulator = [c for c in _clocks(capsys) if c["kind"] == "regulator"]
    assert [c["due"] for c in regulator] == ["2026-11-12T10:00:00-05:00"]  # 10 days
    assert [e.id for e in run_checks(databases=["default"])
            if e.id == "combat_norse.E401"] == []  # fmt: skip
    Site.objects.filter(code="SNU").update(country_code="NZ")
    errors = [e for e in run_checks(databases=["default"]) if e.id == "combat_norse.E401"]
    assert len(errors) == 1 and "NZ" in errors[0].msg


@pytest.mark.req("§14", "#16")
def test_the_adverse_event_log_follows_events_until_resolved_and_masks_drug_names(
    capsys: Any, save: Any, personas: Any, enroll: Callable[..., Any]
) -> None:
    from combat_norse.participants.actions import do_assign_assessor

    p = enroll()
    do_assign_assessor(personas.coord, p, personas.assessor)
    aware = datetime(2026, 11, 20, 9, 30, tzinfo=NY)
    save(p.study_id, "unscheduled", "adverse_event",
         _ae(aware, term="Rash after anakinra", related_to_study_drug="probable"), "coord")
    save(p.study_id, "unscheduled", "adverse_event",
         _ae(aware, serious=False, seriousness=None, outcome="recovered",
             resolved_on="2026-11-25"), "coord")  # fmt: skip
    code, out, _ = run(capsys, "safety", "events", "--as", "coord")
    assert code == 0
    assert [(e["ae_id"], e["term"], e["susar"], e["outcome"]) for e in out["adverse_events"]] == [
        (f"{p.study_id}-AE1", "Rash after anakinra", True, "recovering"),
        (f"{p.study_id}-AE2", "Lung infection", False, "recovered")]
    code, out, _ = run(capsys, "safety", "events", "--unresolved", "--as", "coord")
    assert [e["ae_id"] for e in out["adverse_events"]] == [f"{p.study_id}-AE1"]
    code, out, _ = run(capsys, "safety", "events", "--as", "assessor")
    assert [e["term"] for e in out["adverse_events"]] == ["[masked]", "Lung infection"]
    code, out, _ = run(capsys, "safety", "events", "--as", "othercoord")
    assert out == {"adverse_events": []}


def test_another_site_learns_nothing_of_a_participants_adverse_events(
    capsys: Any, save: Any, enroll: Callable[..., Any]
) -> None:
    p = enroll()
    save(p.study_id, "unscheduled", "adverse_event",
         _ae(datetime(2026, 11, 20, 9, 30, tzinfo=NY)), "coord")
    answers = set()
    for n in (1, 2, 9):  # an event that exists and two that do not
        code, _, err = run(capsys, "safety", "report", f"{p.study_id}-AE{n}", "--to",
                           "coordinating_centre", "--at", "2026-11-21T09:00:00+00:00", "--as",
                           "othercoord")  # fmt: skip
        answers.add((code, err))
    assert answers == {(3, "refused: other site\n")}
