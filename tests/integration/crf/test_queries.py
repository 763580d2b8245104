"""Data queries through the §14 commands: ``queries`` (scoped, masked, filtered, summarised) and
``query raise|answer|close|reopen`` by every role at its own and another site, hostile input,
states, the rule queries that close themselves, and the audit events."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from tests.integration.crf.conftest import run

from combat_norse.audit.models import AuditEvent
from combat_norse.crf.models import DataQuery, QueryMessage

pytestmark = [pytest.mark.django_db, pytest.mark.req("§14", "#18"),
              pytest.mark.usefixtures("cli_face")]  # locally and through the API
DRUGS = ("anakinra", "tocilizumab")


@dataclass
class World:
    ynh: Any  # participant at YNH: mrs (assessor assigned), labs and a dose form saved
    snu: Any  # participant at SNU: labs saved


@pytest.fixture
def world(personas: Any, enroll: Callable[..., Any], save: Callable[..., Any]) -> World:
    from combat_norse.accounts.actions import do_add_user
    from combat_norse.participants.actions import do_assign_assessor

    for name, role in (("othermonitor", "monitor"), ("otherinvestigator", "site_investigator")):
        do_add_user(name, role, ("SNU",))
    ynh, snu = enroll(), enroll(site="SNU")
    do_assign_assessor(personas.coord, ynh, personas.assessor)
    assert save(ynh.study_id, "day30", "mrs", {"mrs": 2}, "assessor")[0] == 0
    assert save(ynh.study_id, "baseline", "labs", {"anc_per_mm3": 1200}, "coord")[0] == 0
    dose = {"drug": "tocilizumab", "dose_mg": 576, "given_at": timezone.now().isoformat(),
            "route": "iv"}  # fmt: skip
    assert save(ynh.study_id, "unscheduled", "dose", dose, "pharmacist")[0] == 0
    assert save(snu.study_id, "baseline", "labs", {"anc_per_mm3": 900}, "othercoord")[0] == 0
    return World(ynh, snu)


def _raise(capsys: pytest.CaptureFixture[str], study_id: str, visit: str, form: str, item: str,
           text: str, user: str, *extra: str) -> tuple[int, Any, str]:  # fmt: skip
    return run(capsys, "query", "raise", study_id, visit, form, item, "--text", text, *extra,
               "--as", user)  # fmt: skip


def _listed(capsys: pytest.CaptureFixture[str], user: str, *extra: str) -> list[dict[str, Any]]:
    code, out, err = run(capsys, "queries", *extra, "--as", user)
    assert code == 0, err
    rows: list[dict[str, Any]] = out["queries"]
    return rows


# ------------------------------------------------------------------ raise
@pytest.mark.parametrize(("user", "expected"), [
    ("datamanager", "open"), ("monitor", "open"),
    ("othermonitor", "refused: other site"), ("othercoord", "refused: other site"),
    ("coord", "refused: role (needs data_manager or monitor"),
    ("investigator", "refused: role (needs data_manager or monitor"),
    ("pharmacist", "refused: role"), ("assessor", "refused: role"),
    ("statistician", "refused: role"), ("dsmb", "refused: role"), ("sponsor", "refused: role"),
])  # fmt: skip
def test_raise_is_for_the_data_manager_and_the_sites_monitor(
    capsys: pytest.CaptureFixture[str], world: World, user: str, expected: str
) -> None:
    code, out, err = _raise(capsys, world.ynh.study_id, "baseline", "labs", "anc_per_mm3",
                            "ANC 1200: please confirm against the lab report", user)  # fmt: skip
    if expected == "open":
        assert code == 0 and out == {"id": out["id"], "status": "open"}
        query = DataQuery.unscoped.get(pk=out["id"])
        assert (query.origin, query.item, query.opened_by.username) == (
            "manual", "anc_per_mm3", user)  # fmt: skip
        event = AuditEvent.objects.filter(action="query_open").latest("seq")
        assert event.object_id == str(query.pk) and event.participant_ref == world.ynh.study_id
        return
    assert code == 3 and err.startswith(expected), err
    assert DataQuery.unscoped.count() == 0
    refused = AuditEvent.objects.filter(action="query_open_refused").latest("seq")
    assert refused.changes["code"][1] == ("other_site" if "other site" in expected else "role")


def test_raise_needs_a_saved_instance_a_real_item_and_sane_text(
    capsys: pytest.CaptureFixture[str], world: World
) -> None:
    p = world.ynh.study_id
    cases = [
        ((p, "baseline", "labs", "shoe_size", "x"), "error: item: shoe_size is not an item"),
        ((p, "baseline", "nosuchform", "x", "x"), "error: form: unknown form"),
        ((p, "day30", "labs", "anc_per_mm3", "x"), "error: form: no saved labs at visit day30"),
        ((p, "unscheduled", "labs", "anc_per_mm3", "x"), "error: form: no saved labs"),
        (("YNH-999", "baseline", "labs", "anc_per_mm3", "x"), "error: study_id: unknown"),
        ((p, "baseline", "labs", "anc_per_mm3", ""), "error: text: required"),
        ((p, "baseline", "labs", "anc_per_mm3", "   "), "error: text: required"),
        ((p, "baseline", "labs", "anc_per_mm3", "y" * 5000),
         "error: text: at most 2000 characters, got 5000"),
        ((p, "baseline", "labs", "anc_per_mm3", "bell\x07"), "error: arguments: control"),
    ]  # fmt: skip
    for args, message in cases:
        code, out, err = _raise(capsys, *args, "datamanager")
        assert (code, out) == (2, None) and err.startswith(message), (args[3:], err)
        assert len(err.splitlines()) == 1
    code, _, err = _raise(capsys, p, "unscheduled", "dose", "dose_mg", "x", "datamanager",
                          "--instance", "2")  # fmt: skip
    assert code == 2 and err.startswith("error: form: no saved dose instance 2")
    code, _, err = _raise(capsys, p, "unscheduled", "dose", "dose_mg", "x", "datamanager",
                          "--instance", "zero")  # fmt: skip
    assert code == 2 and err.startswith("error: instance:")
    assert DataQuery.unscoped.count() == 0
    assert not AuditEvent.objects.filter(action__startswith="query_").exists()
    code, out, _ = _raise(capsys, p, "unscheduled", "dose", "dose_mg", "576 mg for 40 kg?",
                          "datamanager", "--instance", "1")  # fmt: skip
    assert code == 0 and DataQuery.unscoped.get(pk=out["id"]).form_instance.form == "dose"


# ------------------------------------------------------------------ answer, close, reopen
@pytest.fixture
def manual(capsys: pytest.CaptureFixture[str], world: World) -> int:
    code, out, _ = _raise(capsys, world.ynh.study_id, "baseline", "labs", "anc_per_mm3",
                          "ANC 1200: confirm", "monitor")  # fmt: skip
    assert code == 0
    return int(out["id"])


@pytest.mark.parametrize(("user", "expected"), [
    ("coord", 0), ("investigator", 0),
    ("othercoord", "refused: other site"), ("otherinvestigator", "refused: other site"),
    ("pharmacist", "refused: role (needs site_coordinator or site_investigator at YNH"),
    ("assessor", "refused: role"), ("monitor", "refused: role"),
    ("datamanager", "refused: role"), ("statistician", "refused: role"),
])  # fmt: skip
def test_answer_is_for_the_site_team_of_the_participants_site(
    capsys: pytest.CaptureFixture[str], manual: int, user: str, expected: int | str
) -> None:
    code, out, err = run(capsys, "query", "answer", str(manual), "--text",
                         "checked: the report says 1200", "--as", user)  # fmt: skip
    query = DataQuery.unscoped.get(pk=manual)
    if expected == 0:
        assert (code, out) == (0, {"id": manual, "status": "answered"})
        message = QueryMessage.unscoped.get(query=query)
        assert (message.kind, message.text, message.author.username) == (
            "answer", "checked: the report says 1200", user)  # fmt: skip
        assert message.history.count() == 1
        event = AuditEvent.objects.get(action="query_answer")
        assert event.changes["status"] == ["open", "answered"]
        assert event.changes["message"] == [None, "checked: the report says 1200"]
        return
    assert code == 3 and err.startswith(str(expected)), err
    assert query.status == "open" and not QueryMessage.unscoped.exists()
    assert AuditEvent.objects.filter(action="query_answer_refused").count() == 1


@pytest.mark.parametrize(("user", "expected"), [
    ("datamanager", 0), ("monitor", 0),
    ("othermonitor", "refused: other site"), ("othercoord", "refused: other site"),
    ("coord", "refused: role (needs data_manager or monitor"), ("investigator", "refused: role"),
    ("assessor", "refused: role"), ("sponsor", "refused: role"),
])  # fmt: skip
def test_close_and_reopen_are_for_the_data_manager_and_the_sites_monitor(
    capsys: pytest.CaptureFixture[str], manual: int, user: str, expected: int | str
) -> None:
    code, out, err = run(capsys, "query", "close", str(manual), "--as", user)
    if expected != 0:
        assert code == 3 and err.startswith(str(expected)), err
        run(capsys, "query", "close", str(manual), "--as", "datamanager")
        code, _, err = run(capsys, "query", "reopen", str(manual), "--as", user)
        assert code == 3 and err.startswith(str(expected)), err
        assert DataQuery.unscoped.get(pk=manual).status == "closed"
        assert AuditEvent.objects.filter(action="query_reopen_refused").count() == 1
        return
    assert (code, out) == (0, {"id": manual, "status": "closed"})
    assert DataQuery.unscoped.get(pk=manual).closed_at is not None
    code, out, _ = run(capsys, "query", "reopen", str(manual), "--text", "the lab report "
                       "attached shows 1020", "--as", user)  # fmt: skip
    assert (code, out) == (0, {"id": manual, "status": "open"})
    assert DataQuery.unscoped.get(pk=manual).closed_at is None
    assert [m.kind for m in QueryMessage.unscoped.filter(query_id=manual)] == ["reopen"]
    assert [e.action for e in AuditEvent.objects.filter(action__startswith="query_")
            .order_by("seq")] == ["query_open", "query_close", "query_reopen"]  # fmt: skip


def test_the_life_cycle_refuses_what_the_state_does_not_allow(
    capsys: pytest.CaptureFixture[str], manual: int
) -> None:
    q = str(manual)
    steps = [
        (("reopen", "datamanager"), (3, "refused: the query is open: cannot reopen it")),
        (("answer", "coord"), (0, "answered")),
        (("answer", "investigator"), (3, "refused: the query is answered: cannot answer it")),
        (("reopen", "monitor"), (0, "open")),  # the answer did not satisfy the monitor
        (("answer", "coord"), (0, "answered")),
        (("close", "monitor"), (0, "closed")),
        (("close", "datamanager"), (3, "refused: the query is closed: cannot close it")),
        (("answer", "coord"), (3, "refused: the query is closed: cannot answer it")),
        (("reopen", "datamanager"), (0, "open")),
        (("close", "datamanager"), (0, "closed")),
    ]
    for (verb, user), (code, what) in steps:
        got, out, err = run(capsys, "query", verb, q, "--as", user)
        if code == 0:
            assert (got, out) == (0, {"id": manual, "status": what}), (verb, err)
        else:
            assert (got, err.strip()) == (3, what), verb
    refused = AuditEvent.objects.filter(action__endswith="_refused", action__startswith="query_")
    assert {e.changes["code"][1] for e in refused} == {"state"} and refused.count() == 4
    assert DataQuery.unscoped.get(pk=manual).history.count() == 7  # raise and 6 changes


def test_hostile_ids_and_texts_are_bad_input_and_change_nothing(
    capsys: pytest.CaptureFixture[str], manual: int
) -> None:
    before = AuditEvent.objects.count()
    for args, message in (
        (("answer", "999999", "--text", "ok"), "error: id: unknown query 999999"),
        (("close", "abc"), "error: id: a query id is a positive whole number"),
        (("close", "0"), "error: id:"),
        (("close", "9" * 40), "error: id:"),
        (("answer", str(manual), "--text", ""), "error: text: empty"),
        (("answer", str(manual), "--text", " \t "), "error: text: empty"),
        (("answer", str(manual), "--text", "z" * 100_000),
         "error: text: at most 2000 characters, got 100000"),
        (("close", str(manual), "--text", "x" * 2001), "error: text: at most 2000"),
        (("close", str(manual), "--as", "nobody"), "error: as: unknown or inactive user"),
    ):  # fmt: skip
        user = () if "--as" in args else ("--as", "coord" if args[0] == "answer" else "monitor")
        code, out, err = run(capsys, "query", *args, *user)
        assert (code, out) == (2, None) and err.startswith(message), (args[:2], err)
        assert len(err.splitlines()) == 1 and len(err) < 200
    code, _, err = run(capsys, "queries", "--status", "pending", "--as", "datamanager")
    assert code == 2 and err.startswith("error:")
    code, _, err = run(capsys, "queries", "--site", "NOPE", "--as", "datamanager")
    assert code == 2 and err.startswith("error: site: unknown site code NOPE")
    code, _, err = run(capsys, "queries", "--summary", "--status", "open", "--as", "datamanager")
    assert code == 2
    assert DataQuery.unscoped.get(pk=manual).status == "open"
    assert not QueryMessage.unscoped.exists() and AuditEvent.objects.count() == before


# ------------------------------------------------------------------ the list
def test_queries_lists_what_each_role_may_read_with_every_field(
    capsys: pytest.CaptureFixture[str], world: World
) -> None:
    ynh, snu = world.ynh.study_id, world.snu.study_id
    _, a, _ = _raise(capsys, ynh, "baseline", "labs", "anc_per_mm3", "confirm", "monitor")
    _, b, _ = _raise(capsys, snu, "baseline", "labs", "anc_per_mm3", "confirm", "datamanager")
    _, c, _ = _raise(capsys, ynh, "day30", "mrs", "mrs", "mRS 2 but discharged home walking?",
                     "datamanager")  # fmt: skip
    run(capsys, "query", "answer", str(a["id"]), "--text", "confirmed", "--as", "coord")
    rows = _listed(capsys, "datamanager")
    assert [r["id"] for r in rows] == [a["id"], b["id"], c["id"]]
    first = rows[0]
    assert set(first) == {"id", "study_id", "visit", "form", "instance", "item", "status",
                          "origin", "text", "opened_at"}  # fmt: skip
    assert (first["study_id"], first["visit"], first["form"], first["instance"], first["item"],
            first["status"], first["origin"], first["text"]) == (
        ynh, "baseline", "labs", 1, "anc_per_mm3", "answered", "manual", "confirm")  # fmt: skip
    assert first["opened_at"].endswith("+00:00")
    ids = lambda user, *extra: [r["id"] for r in _listed(capsys, user, *extra)]  # noqa: E731
    assert ids("datamanager", "--status", "open") == [b["id"], c["id"]]
    assert ids("datamanager", "--status", "answered") == [a["id"]]
    assert ids("datamanager", "--status", "closed") == []
    assert ids("datamanager", "--site", "snu") == [b["id"]]
    assert ids("statistician") == [a["id"], b["id"], c["id"]]
    for user in ("coord", "investigator", "pharmacist", "monitor"):
        assert ids(user) == [a["id"], c["id"]], user
    assert ids("coord", "--site", "SNU") == []  # another site's filter gives nothing
    assert ids("othercoord") == ids("othermonitor") == [b["id"]]
    assert ids("assessor") == [a["id"], c["id"]]  # the assigned participant's forms only
    for user in ("dsmb", "sponsor", "sysadmin"):
        assert ids(user) == [], user


def test_an_assessor_never_sees_a_query_on_the_dose_form_and_drug_names_are_masked(
    capsys: pytest.CaptureFixture[str], world: World
) -> None:
    p = world.ynh.study_id
    _raise(capsys, p, "unscheduled", "dose", "given_at", "given before the order was written?",
           "datamanager", "--instance", "1")  # fmt: skip
    _raise(capsys, p, "day30", "mrs", "mrs", "the family says the anakinra made him worse",
           "datamanager")  # fmt: skip
    _raise(capsys, p, "day30", "mrs", "mrs", "was ＴＯＣＩＬＩＺＵＭＡＢ stopped?", "monitor")
    _raise(capsys, p, "day30", "mrs", "mrs", "score 2 or 3?", "monitor")
    unmasked = _listed(capsys, "coord")
    assert [r["form"] for r in unmasked] == ["dose", "mrs", "mrs", "mrs"]
    assert "anakinra" in unmasked[1]["text"]
    code, out, _ = run(capsys, "queries", "--as", "assessor")
    assert [(r["form"], r["text"]) for r in out["queries"]] == [
        ("mrs", "[masked]"), ("mrs", "[masked]"), ("mrs", "score 2 or 3?")]  # fmt: skip
    text = json.dumps(out).lower()
    assert "dose" not in text and not any(d in text for d in DRUGS)
    code, summary, _ = run(capsys, "queries", "--summary", "--as", "assessor")
    assert summary["summary"]["by_form"] == {"mrs": 3}
    dose_query = DataQuery.unscoped.get(form_instance__form="dose")
    code, _, err = run(capsys, "query", "answer", str(dose_query.pk), "--as", "assessor")
    assert (code, err.strip()) == (3, "refused: role (needs site_coordinator or "
                                      "site_investigator at YNH to answer a query)")  # fmt: skip


def test_a_masked_monitor_can_neither_raise_nor_see_a_dose_query(
    capsys: pytest.CaptureFixture[str], world: World, settings: Any
) -> None:
    """Which roles are masked is a setting (§11): a blinded-monitor trial masks the monitor."""
    settings.COMBAT_NORSE_MASKED_ROLES = frozenset({"outcome_assessor", "sponsor_viewer",
                                                    "monitor"})  # fmt: skip
    p = world.ynh.study_id
    code, _, err = _raise(capsys, p, "unscheduled", "dose", "dose_mg", "check", "monitor",
                          "--instance", "7")  # fmt: skip
    assert (code, err.strip()) == (3, "refused: masked")  # absence does not leak either
    _, dq, _ = _raise(capsys, p, "unscheduled", "dose", "dose_mg", "check", "datamanager",
                      "--instance", "1")  # fmt: skip
    assert [r["form"] for r in _listed(capsys, "monitor")] == []
    code, _, err = run(capsys, "query", "close", str(dq["id"]), "--as", "monitor")
    assert (code, err.strip()) == (3, "refused: masked")


# ------------------------------------------------------------------ rule queries
def test_a_rule_query_is_listed_answered_and_still_closes_itself_when_corrected(
    capsys: pytest.CaptureFixture[str], world: World, save: Callable[..., Any]
) -> None:
    p = world.ynh
    before_onset = (p.screening.se_onset - timedelta(hours=2)).isoformat()
    code, out, _ = save(p.study_id, "se_resolution", "se_resolution",
                        {"resolved_at": before_onset}, "coord")  # fmt: skip
    rule_id = out["queries"][0]["id"]
    rows = _listed(capsys, "coord", "--status", "open")
    assert [(r["id"], r["origin"], r["item"]) for r in rows] == [(rule_id, "rule", "resolved_at")]
    run(capsys, "query", "answer", str(rule_id), "--text", "will correct", "--as", "coord")
    later = (p.screening.se_onset + timedelta(hours=30)).isoformat()
    code, out, _ = save(p.study_id, "se_resolution", "se_resolution", {"resolved_at": later},
                        "coord", "--reason", "typo in the date")  # fmt: skip
    assert code == 0 and out["queries"] == []
    assert DataQuery.unscoped.get(pk=rule_id).status == "closed"
    # reopened by hand, it closes itself again at the next passing save
    code, out, _ = run(capsys, "query", "reopen", str(rule_id), "--as", "datamanager")
    assert out == {"id": rule_id, "status": "open"}
    save(p.study_id, "se_resolution", "se_resolution",
         {"resolved_at": (p.screening.se_onset + timedelta(hours=31)).isoformat()}, "coord",
         "--reason", "minute corrected")  # fmt: skip
    assert DataQuery.unscoped.get(pk=rule_id).status == "closed"
    actions = [e.action for e in AuditEvent.objects.filter(action__startswith="query_")
               .order_by("seq")]  # fmt: skip
    assert actions == ["query_open", "query_answer", "query_close", "query_reopen",
                       "query_close"]  # fmt: skip


def test_a_data_manager_may_close_a_rule_query_by_hand(
    capsys: pytest.CaptureFixture[str], world: World, save: Callable[..., Any]
) -> None:
    p = world.ynh
    before_onset = (p.screening.se_onset - timedelta(hours=2)).isoformat()
    _, out, _ = save(p.study_id, "se_resolution", "se_resolution",
                     {"resolved_at": before_onset}, "coord")  # fmt: skip
    rule_id = out["queries"][0]["id"]
    code, out, _ = run(capsys, "query", "close", str(rule_id), "--text",
                       "onset time was estimated; resolution confirmed", "--as", "datamanager")
    assert (code, out) == (0, {"id": rule_id, "status": "closed"})
    assert QueryMessage.unscoped.get(query_id=rule_id).kind == "close"


# ------------------------------------------------------------------ counts
def test_query_counts_give_open_queries_per_site_form_and_age(
    capsys: pytest.CaptureFixture[str], world: World
) -> None:
    from combat_norse.crf.access import query_counts

    ynh, snu = world.ynh.study_id, world.snu.study_id
    made = []
    for study_id, visit, form, item in ((ynh, "baseline", "labs", "anc_per_mm3"),
                                        (ynh, "day30", "mrs", "mrs"),
                                        (ynh, "day30", "mrs", "mrs"),
                                        (snu, "baseline", "labs", "anc_per_mm3"),
                                        (snu, "baseline", "labs", "anc_per_mm3")):  # fmt: skip
        made.append(_raise(capsys, study_id, visit, form, item, "check", "datamanager")[1]["id"])
    now = timezone.now()
    for pk, age in zip(made, (0, 7, 8, 30, 31), strict=True):
        DataQuery.unscoped.filter(pk=pk).update(opened_at=now - timedelta(days=age, hours=1))
    run(capsys, "query", "answer", str(made[0]), "--as", "coord")
    counts = query_counts(world_scope("datamanager"), now=now)
    assert counts == {"open": 4, "answered": 1, "by_site": {"SNU": 2, "YNH": 2},
                      "by_form": {"labs": 2, "mrs": 2},
                      "by_age_days": {"0-7": 1, "8-30": 2, "over_30": 1}}  # fmt: skip
    code, out, _ = run(capsys, "queries", "--summary", "--site", "YNH", "--as", "datamanager")
    assert out == {"summary": {"open": 2, "answered": 1, "by_site": {"YNH": 2},
                               "by_form": {"mrs": 2},
                               "by_age_days": {"0-7": 1, "8-30": 1, "over_30": 0}}}  # fmt: skip
    code, out, _ = run(capsys, "queries", "--summary", "--as", "othercoord")
    assert code == 0 and out["summary"]["by_site"] == {"SNU": 2} and out["summary"]["answered"] == 0
    _, out, _ = run(capsys, "queries", "--summary", "--as", "sponsor")
    assert out["summary"] == {"open": 0, "answered": 0, "by_site": {}, "by_form": {},
                              "by_age_days": {"0-7": 0, "8-30": 0, "over_30": 0}}  # fmt: skip


def world_scope(username: str) -> Any:
    from django.contrib.auth.models import User

    from combat_norse.sites.access import scope_for

    return scope_for(User.objects.get(username=username))


def test_an_assessor_sees_no_query_of_a_participant_not_assigned_to_them(
    capsys: pytest.CaptureFixture[str], world: World, enroll: Callable[..., Any],
    save: Callable[..., Any],
) -> None:  # fmt: skip
    other = enroll()  # YNH, not assigned to the assessor
    save(other.study_id, "baseline", "labs", {"anc_per_mm3": 800}, "coord")
    _, q, _ = _raise(capsys, other.study_id, "baseline", "labs", "anc_per_mm3", "low?", "monitor")
    assert q["id"] in [r["id"] for r in _listed(capsys, "coord")]
    assert _listed(capsys, "assessor") == []
