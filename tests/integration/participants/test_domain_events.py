"""Domain events (issue 13 item 5, ``combat_norse.core.events``): each action sends its signal
with the documented keyword arguments, inside the action's transaction, so a receiver that
raises rolls the whole action back and nothing is saved (no row, no history, no audit event)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.dispatch import Signal

from combat_norse.allocation.actions import do_randomize
from combat_norse.allocation.models import Allocation, ListSlot
from combat_norse.audit.models import AuditEvent
from combat_norse.core import events
from combat_norse.participants.actions import (
    do_assign_assessor,
    do_end_follow_up,
    do_enroll,
    do_record_assessor_unmasked,
    do_record_consent,
    do_screen,
    do_unmask,
    do_withdraw,
)
from combat_norse.participants.models import (
    Participant,
    ParticipantStatus,
    SiteCounter,
    Unmasking,
    Withdrawal,
)
from combat_norse.sites.models import Site

pytestmark = [pytest.mark.django_db, pytest.mark.req("#13")]

Enroll = Callable[..., Any]
Action = Callable[[], Any]
PASSWORD = "correct horse battery staple 42"  # the personas' (tests/integration/conftest.py)

# The keyword arguments core/events.py documents for each signal (besides signal and sender).
DOCUMENTED: dict[str, set[str]] = {
    "enrolled": {"participant", "actor"},
    "randomized": {"participant", "allocation", "actor"},
    "unmasked": {"participant", "user", "kind", "actor"},
    "withdrawn": {"participant", "withdrawal", "actor"},
    "follow_up_ended": {"participant", "status", "actor"},
    "onset_corrected": {"participant", "old", "new", "actor"},
}


class ReceiverFailed(Exception):
    pass


@contextmanager
def received(signal: Signal, *, fail: bool = False) -> Iterator[list[dict[str, Any]]]:
    """Collect what ``signal`` delivers (and how deep in atomic blocks); raise if ``fail``."""
    calls: list[dict[str, Any]] = []

    def receiver(**kwargs: Any) -> None:
        kwargs["_savepoints"] = len(connection.savepoint_ids)
        kwargs["_row"] = Participant.unscoped.filter(pk=kwargs["participant"].pk).exists()
        kwargs["_events"] = AuditEvent.objects.count()
        calls.append(kwargs)
        if fail:
            raise ReceiverFailed("a later app refused")

    signal.connect(receiver, weak=False, dispatch_uid="test_domain_events")
    try:
        yield calls
    finally:
        signal.disconnect(dispatch_uid="test_domain_events")


def snapshot() -> dict[str, Any]:
    return {
        "participants": list(Participant.unscoped.values_list("pk", "status", "ended_at")),
        "history": Participant.history.count(),
        "allocations": Allocation.unscoped.count(),
        "used_slots": ListSlot.unscoped.filter(participant__isnull=False).count(),
        "withdrawals": Withdrawal.unscoped.count(),
        "unmaskings": Unmasking.unscoped.count(),
        "counters": list(SiteCounter.unscoped.values_list("kind", "last")),
        "events": AuditEvent.objects.count(),
    }


def before_action() -> dict[str, int]:
    """How deep in atomic blocks the test itself runs, and the audit events so far."""
    return {"savepoints": len(connection.savepoint_ids), "events": AuditEvent.objects.count()}


def assert_one_call(
    calls: list[dict[str, Any]], name: str, before: dict[str, int]
) -> dict[str, Any]:
    assert len(calls) == 1
    call = calls[0]
    assert set(call) - {"_savepoints", "_row", "_events"} == (
        {"signal", "sender"} | DOCUMENTED[name])
    assert call["signal"] is getattr(events, name)
    assert call["sender"] is Participant
    assert call["_savepoints"] > before["savepoints"]  # inside the action's atomic block
    assert call["_row"]  # after the participant's row was written ...
    # ... and after the action's audit event (earlier receivers may add theirs: safety's dose
    # plan on ``randomized``)
    assert call["_events"] >= before["events"] + 1
    return call


# ------------------------------------------------------------------ keyword arguments
def test_enrolled_carries_the_participant_and_the_actor(
    personas: Any, make_record: Callable[..., dict[str, Any]]
) -> None:
    entry, _ = do_screen(personas.coord, Site.objects.get(code="YNH"), make_record())
    do_record_consent(personas.coord, entry, signer="lar", form_version="1.0")
    outside = before_action()
    with received(events.enrolled) as calls:
        p = do_enroll(personas.coord, entry)
    call = assert_one_call(calls, "enrolled", outside)
    assert call["participant"] == p and call["actor"] == personas.coord
    with received(events.enrolled) as again:
        do_enroll(personas.coord, entry)  # enrolling twice returns the first: no second event
    assert again == []


def test_randomized_carries_the_participant_the_allocation_and_the_actor(
    personas: Any, enroll: Callable[..., Any], production_list: Any
) -> None:
    p = enroll()
    outside = before_action()
    with received(events.randomized) as calls:
        allocation = do_randomize(personas.investigator, p)
    call = assert_one_call(calls, "randomized", outside)
    assert call["participant"] == p and call["actor"] == personas.investigator
    assert call["allocation"] == allocation and call["allocation"].pk is not None
    with received(events.randomized) as again:
        do_randomize(personas.coord, p)
    assert again == []


def test_withdrawn_and_follow_up_ended_are_sent_for_a_withdrawal_that_ends_follow_up(
    personas: Any, enroll: Callable[..., Any]
) -> None:
    p = enroll()
    outside = before_action()
    with received(events.withdrawn) as withdrawn, received(events.follow_up_ended) as ended:
        w = do_withdraw(personas.coord, p, scope="stop_follow_up", reason="family request")
    call = assert_one_call(withdrawn, "withdrawn", outside)
    assert call["participant"] == p and call["withdrawal"] == w
    assert call["actor"] == personas.coord
    call = assert_one_call(ended, "follow_up_ended", outside)
    assert call["status"] == ParticipantStatus.WITHDRAWN and call["actor"] == personas.coord


def test_a_withdrawal_from_treatment_only_does_not_end_follow_up(
    personas: Any, enroll: Callable[..., Any]
) -> None:
    p = enroll()
    with received(events.withdrawn) as withdrawn, received(events.follow_up_ended) as ended:
        do_withdraw(personas.coord, p, scope="stop_treatment", reason="rash")
    assert len(withdrawn) == 1 and ended == []


def test_follow_up_ended_carries_the_status_of_a_death(
    personas: Any, enroll: Callable[..., Any]
) -> None:
    p = enroll()
    outside = before_action()
    with received(events.follow_up_ended) as calls:
        do_end_follow_up(personas.datamanager, p, status=ParticipantStatus.DIED, reason="died")
    call = assert_one_call(calls, "follow_up_ended", outside)
    assert call["participant"] == p and call["status"] == ParticipantStatus.DIED
    assert call["actor"] == personas.datamanager


def test_unmasked_names_the_masked_user_the_kind_and_the_actor(
    personas: Any, enroll: Callable[..., Any], production_list: Any
) -> None:
    p = enroll()
    do_randomize(personas.coord, p)
    do_assign_assessor(personas.coord, p, personas.assessor)
    outside = before_action()
    with received(events.unmasked) as calls:
        do_record_assessor_unmasked(personas.coord, p, personas.assessor, how="family told")
    call = assert_one_call(calls, "unmasked", outside)
    assert (call["user"], call["kind"], call["actor"]) == (
        personas.assessor, "incidental", personas.coord)
    outside = before_action()
    with received(events.unmasked) as calls:
        do_unmask(personas.assessor, p, reason="severe rash", password=PASSWORD)
    call = assert_one_call(calls, "unmasked", outside)
    assert (call["user"], call["kind"], call["actor"]) == (
        personas.assessor, "deliberate", personas.assessor)


def test_every_documented_signal_is_declared() -> None:
    for name in DOCUMENTED:
        assert isinstance(getattr(events, name), Signal)
        assert f"``{name}``" in (events.__doc__ or "")


def test_every_documented_signal_has_a_sender() -> None:
    src = Path(events.__file__).resolve().parents[1]
    sent = {
        m.group(1)
        for path in src.rglob("*.py")
        for m in re.finditer(r"events\.(\w+)\.send\(", path.read_text(encoding="utf-8"))
    }
    assert set(DOCUMENTED) <= sent


# ------------------------------------------------------------------ a failing receiver
def _enroll_case(personas: Any, enroll: Enroll, make_record: Any) -> Action:
    entry, _ = do_screen(personas.coord, Site.objects.get(code="YNH"), make_record())
    do_record_consent(personas.coord, entry, signer="lar", form_version="1.0")
    return lambda: do_enroll(personas.coord, entry)


def _randomize_case(personas: Any, enroll: Enroll, make_record: Any) -> Action:
    p = enroll()
    return lambda: do_randomize(personas.coord, p)


def _withdraw_case(personas: Any, enroll: Enroll, make_record: Any) -> Action:
    p = enroll()
    return lambda: do_withdraw(personas.coord, p, scope="stop_follow_up", reason="request")


def _end_case(personas: Any, enroll: Enroll, make_record: Any) -> Action:
    p = enroll()
    return lambda: do_end_follow_up(personas.coord, p, status="lost_to_follow_up", reason="moved")


def _unmask_case(personas: Any, enroll: Enroll, make_record: Any) -> Action:
    p = enroll()
    do_randomize(personas.coord, p)
    do_assign_assessor(personas.coord, p, personas.assessor)
    return lambda: do_unmask(personas.assessor, p, reason="severe rash", password=PASSWORD)


def _record_unmasking_case(
    personas: Any, enroll: Enroll, make_record: Any
) -> Action:
    p = enroll()
    do_assign_assessor(personas.coord, p, personas.assessor)
    return lambda: do_record_assessor_unmasked(personas.coord, p, personas.assessor, how="told")


def _correct_onset_case(personas: Any, enroll: Enroll, make_record: Any) -> Action:
    from datetime import timedelta

    from django.utils import timezone

    from combat_norse.participants.actions import do_correct_onset

    p = enroll()
    onset = timezone.now() - timedelta(days=3)
    return lambda: do_correct_onset(personas.datamanager, p, se_onset=onset, reason="chart")


FAILING: dict[str, tuple[str, Callable[..., Callable[[], Any]]]] = {
    "enroll": ("enrolled", _enroll_case),
    "randomize": ("randomized", _randomize_case),
    "withdraw": ("withdrawn", _withdraw_case),
    "withdraw (follow-up ends)": ("follow_up_ended", _withdraw_case),
    "end follow-up": ("follow_up_ended", _end_case),
    "unmask": ("unmasked", _unmask_case),
    "record unmasking": ("unmasked", _record_unmasking_case),
    "correct onset": ("onset_corrected", _correct_onset_case),
}


@pytest.mark.parametrize("case", list(FAILING))
def test_a_receiver_that_raises_rolls_the_whole_action_back(
    personas: Any, enroll: Callable[..., Any], make_record: Callable[..., dict[str, Any]],
    production_list: Any, mailoutbox: list[Any], case: str,
) -> None:
    name, prepare = FAILING[case]
    action = prepare(personas, enroll, make_record)
    before = snapshot()
    mails = len(mailoutbox)
    with received(getattr(events, name), fail=True) as calls, pytest.raises(ReceiverFailed):
        action()
    assert len(calls) == 1
    assert snapshot() == before  # no row, no history, no counter, no audit event
    assert len(mailoutbox) == mails  # nothing queued in the rolled-back transaction was sent
    with received(getattr(events, name)) as calls:  # without the failing receiver it works
        action()
    assert len(calls) == 1 and snapshot() != before
