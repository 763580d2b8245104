"""`audit verify --state` replays the trail against the data and names every row changed,
swapped or deleted without an event (issue 19). The tampering runs as the superuser with the
triggers off on PostgreSQL (``session_replication_role = replica``), as a DBA could."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from combat_norse.allocation.models import Allocation
from combat_norse.cli.main import main
from combat_norse.crf.models import FormInstance
from combat_norse.exports.state import reconcile
from combat_norse.participants.models import (
    Consent,
    Participant,
    ScreeningDecision,
    ScreeningEntry,
)

pytestmark = [pytest.mark.req("#19"), pytest.mark.django_db]


@contextmanager
def _as_dba() -> Iterator[Callable[..., int]]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET session_replication_role = replica")

        def run(sql: str, params: list[Any] | None = None) -> int:
            cursor.execute(sql, params or [])
            return int(cursor.rowcount)

        yield run
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")


@pytest.fixture
def trial(personas: Any, enroll: Callable[..., Any], production_list: Any) -> list[Participant]:
    """Three participants enrolled and randomized, one with a saved outcome form."""
    from combat_norse.allocation.actions import do_randomize
    from combat_norse.crf.actions.forms import do_save_form
    from combat_norse.participants.actions import do_assign_assessor

    people = [enroll() for _ in range(3)]
    for p in people:
        do_randomize(personas.coord, p)
    do_assign_assessor(personas.coord, people[0], personas.assessor)
    do_save_form(personas.assessor, people[0], "day30", "mrs",
                 {"mrs": 3, "assessed_on": timezone.now().date().isoformat()})  # fmt: skip
    return people


def _problems(report: Any) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(d.object, d.problem, d.fields) for d in report.discrepancies]


def test_an_untouched_trial_agrees_with_its_trail(trial: list[Participant]) -> None:
    report = reconcile()
    assert report.ok, _problems(report)
    assert report.rows >= 3 * 4 + 1  # entries, decisions, consents, participants, allocations...


def test_an_allocation_arm_flipped_without_an_event_is_named(trial: list[Participant]) -> None:
    allocation = Allocation.unscoped.get(participant=trial[1])
    other = "tocilizumab" if allocation.arm == "anakinra" else "anakinra"
    with _as_dba() as sql:
        sql("UPDATE allocation_allocation SET arm = %s WHERE id = %s", [other, allocation.pk])
    assert _problems(reconcile()) == [(f"allocation.Allocation:{allocation.pk}",
                                       "differs from the trail (changed without an event)",
                                       ("arm",))]  # fmt: skip


def test_two_allocations_slots_swapped_are_both_named(trial: list[Participant]) -> None:
    a, b = (Allocation.unscoped.get(participant=p) for p in trial[:2])
    with _as_dba() as sql:
        sql("UPDATE allocation_allocation SET slot_id = NULL WHERE id = %s", [a.pk])
        sql("UPDATE allocation_allocation SET slot_id = %s WHERE id = %s", [a.slot_id, b.pk])
        sql("UPDATE allocation_allocation SET slot_id = %s WHERE id = %s", [b.slot_id, a.pk])
    named = {(obj, fields) for obj, _, fields in _problems(reconcile())}
    assert named == {(f"allocation.Allocation:{a.pk}", ("slot_id",)),
                     (f"allocation.Allocation:{b.pk}", ("slot_id",))}  # fmt: skip


def test_a_deleted_allocation_is_named(trial: list[Participant]) -> None:
    allocation = Allocation.unscoped.get(participant=trial[2])
    with _as_dba() as sql:
        sql("DELETE FROM allocation_allocation WHERE id = %s", [allocation.pk])
    assert _problems(reconcile()) == [(f"allocation.Allocation:{allocation.pk}",
                                       "deleted without an event", ())]  # fmt: skip


def test_a_screening_decision_changed_without_an_event_is_named(
    trial: list[Participant],
) -> None:
    entry = ScreeningEntry.unscoped.get(participant=trial[0])
    decision = ScreeningDecision.unscoped.get(screening=entry, purpose="screening")
    result = {**decision.result, "decision": "not_eligible"}
    with _as_dba() as sql:
        sql("UPDATE participants_screeningentry SET decision = 'not_eligible' WHERE id = %s",
            [entry.pk])  # fmt: skip
        sql("UPDATE participants_screeningdecision SET result = %s WHERE id = %s",
            [json.dumps(result), decision.pk])  # fmt: skip
    problems = _problems(reconcile())
    assert (f"participants.ScreeningEntry:{entry.pk}",
            "differs from the trail (changed without an event)", ("decision",)) in problems
    assert (f"participants.ScreeningDecision:{decision.pk}",
            "differs from the trail (changed without an event)", ("result",)) in problems
    assert len(problems) == 2


def test_a_deleted_screening_decision_is_named(trial: list[Participant]) -> None:
    entry = ScreeningEntry.unscoped.get(participant=trial[1])
    with _as_dba() as sql:
        sql("DELETE FROM participants_screeningdecision WHERE screening_id = %s"
            " AND purpose = 'screening'", [entry.pk])  # fmt: skip
    assert _problems(reconcile()) == [(f"participants.ScreeningEntry:{entry.pk}",
                                       "a screening decision was deleted without an event",
                                       ())]  # fmt: skip


def test_a_consent_and_a_participant_changed_without_an_event_are_named(
    trial: list[Participant],
) -> None:
    consent = Consent.unscoped.filter(screening__participant=trial[0]).get()
    with _as_dba() as sql:
        sql("UPDATE participants_consent SET signer = 'patient' WHERE id = %s", [consent.pk])
        sql("UPDATE participants_participant SET cohort = 'observational' WHERE id = %s",
            [trial[2].pk])  # fmt: skip
    named = {(obj, fields) for obj, _, fields in _problems(reconcile())}
    assert named == {(f"participants.Consent:{consent.pk}", ("signer",)),
                     (f"participants.Participant:{trial[2].pk}", ("cohort",))}  # fmt: skip


def test_a_form_value_changed_without_an_event_is_named(trial: list[Participant]) -> None:
    form = FormInstance.unscoped.get(participant=trial[0], form="mrs")
    values = {**form.values, "mrs": 1}
    with _as_dba() as sql:
        sql("UPDATE crf_forminstance SET \"values\" = %s WHERE id = %s",
            [json.dumps(values), form.pk])  # fmt: skip
    assert _problems(reconcile()) == [(f"crf.FormInstance:{form.pk}",
                                       "form values differ from the trail (changed without an "
                                       "event)", ("mrs",))]  # fmt: skip


def test_a_row_no_event_created_is_named(trial: list[Participant]) -> None:
    consent = Consent.unscoped.filter(screening__participant=trial[0]).get()
    columns = [f.column for f in Consent._meta.concrete_fields if not f.primary_key]
    cols = ", ".join(f'"{c}"' for c in columns)
    with _as_dba() as sql:
        sql(f"INSERT INTO participants_consent ({cols}) SELECT {cols} FROM participants_consent"  # noqa: S608
            " WHERE id = %s", [consent.pk])  # fmt: skip
    (problem,) = _problems(reconcile())
    assert problem[0].startswith("participants.Consent:") and problem[1] == (
        "no event created this row")


def test_cli_verify_state_exits_1_and_names_the_row(
    trial: list[Participant], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "verify", "--state"]) == 0
    assert json.loads(capsys.readouterr().out)["state"]["ok"] is True
    allocation = Allocation.unscoped.get(participant=trial[0])
    with _as_dba() as sql:
        sql("UPDATE allocation_allocation SET arm = 'x' WHERE id = %s", [allocation.pk])
    assert main(["audit", "verify", "--state"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is True  # the trail itself is intact
    assert out["state"]["first"] == [{
        "object": f"allocation.Allocation:{allocation.pk}", "fields": ["arm"],
        "problem": "differs from the trail (changed without an event)",
        "last_event": out["state"]["first"][0]["last_event"],
    }]  # fmt: skip
    assert "anakinra" not in json.dumps(out) and "tocilizumab" not in json.dumps(out)
