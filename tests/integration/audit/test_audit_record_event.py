"""record_event(): one chained event per call, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser, Group, User
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from combat_norse.audit.api import record_event
from combat_norse.audit.chain import compute_event_hash
from combat_norse.audit.exceptions import TransactionRequired
from combat_norse.audit.models import AuditEvent, AuditLeaf
from combat_norse.audit.seal import seal_pending
from combat_norse.audit.verify import verify_chain

pytestmark = pytest.mark.req("#3")


@pytest.mark.django_db
def test_events_are_numbered_by_the_database_and_hashed_over_their_own_fields(
    make_events: Callable[[int], list[AuditEvent]],
) -> None:
    made = make_events(3)
    events = list(AuditEvent.objects.order_by("seq"))
    assert [e.seq for e in events] == [e.seq for e in made]
    assert events[0].seq < events[1].seq < events[2].seq
    assert all(e.prev_hash == "" for e in events)  # no chain: a writer links to nothing
    assert all(e.hash == compute_event_hash(e.hashed_fields()) for e in events)
    assert len({e.hash for e in events}) == 3


@pytest.mark.django_db
def test_event_records_actor_utc_time_object_old_new_and_reason(alice: User, ward: Group) -> None:
    before = datetime.now(UTC)
    with transaction.atomic():
        record_event(
            actor=alice,
            action="update",
            obj=ward,
            changes={"name": ["ward-6", "ward-7"]},
            reason="ward renamed",
            site_code="YNH",
            participant_ref="YNH-001",
        )
    event = AuditEvent.objects.get()
    assert (event.actor_id, event.actor_username) == (alice.pk, "alice")
    assert before <= event.occurred_at <= datetime.now(UTC)
    assert event.occurred_at.utcoffset() == timedelta(0)
    assert (event.object_type, event.object_id) == ("auth.Group", str(ward.pk))
    assert event.changes == {"name": ["ward-6", "ward-7"]}
    assert event.reason == "ward renamed"
    assert (event.site_code, event.participant_ref) == ("YNH", "YNH-001")


@pytest.mark.django_db
@pytest.mark.parametrize("actor", [None, AnonymousUser()], ids=["none", "anonymous"])
def test_system_action_has_no_actor(actor: Any) -> None:
    with transaction.atomic():
        event = record_event(actor=actor, action="login_failed", changes={"attempts": [4, 5]})
    assert event.actor_id is None
    assert event.actor_username == ""
    assert event.object_type == ""


@pytest.mark.django_db
def test_audit_scope_of_the_object_fills_site_and_participant(alice: User, ward: Group) -> None:
    ward.audit_scope = lambda: ("BAR", "BAR-004")  # type: ignore[attr-defined]
    with transaction.atomic():
        event = record_event(actor=alice, action="create", obj=ward)
    assert (event.site_code, event.participant_ref) == ("BAR", "BAR-004")


@pytest.mark.django_db
def test_rolled_back_change_leaves_no_event_and_no_leaf(alice: User) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        record_event(actor=alice, action="randomize", object_type="x.Y", object_id=1)
        raise RuntimeError("the change failed")
    assert AuditEvent.objects.count() == 0
    with transaction.atomic():
        event = record_event(actor=alice, action="randomize", object_type="x.Y", object_id=1)
    seal_pending()  # the seq may have a gap; the tree's positions have none
    assert list(AuditLeaf.objects.values_list("position", flat=True)) == [0, 1]
    assert AuditLeaf.objects.filter(event_id=event.seq).exists()
    assert verify_chain().ok


@pytest.mark.django_db(transaction=True)
def test_record_event_outside_a_transaction_is_refused() -> None:
    with pytest.raises(TransactionRequired):
        record_event(actor=None, action="login")
    assert AuditEvent.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "action", ["", "Update", "re-randomize", "x" * 41, "drop table", "randomise", "created"]
)
def test_action_outside_the_closed_vocabulary_is_refused(action: str) -> None:
    with pytest.raises(ValueError, match="unknown audit action"), transaction.atomic():
        record_event(actor=None, action=action)


@pytest.mark.django_db
def test_over_long_identifiers_are_refused_on_every_database() -> None:
    with pytest.raises(ValueError, match="participant_ref"), transaction.atomic():
        record_event(actor=None, action="create", participant_ref="P" * 33)


@pytest.mark.django_db
def test_dates_decimals_and_large_numbers_are_stored_as_hashed(alice: User) -> None:
    changes = {
        "visit_date": [None, datetime(2025, 3, 1, 8, 0, tzinfo=UTC)],
        "dose_mg": [Decimal("100.50"), Decimal("200")],
        "big": [1e20, 2**70],
        "tiny": [1.5e-7, -0.0],
    }
    with transaction.atomic():
        record_event(actor=alice, action="update", changes=changes, reason="units")
    event = AuditEvent.objects.get()  # read back: jsonb on PostgreSQL rewrites numbers
    assert event.changes["dose_mg"] == ["100.50", "200"]
    assert event.changes["visit_date"] == [None, "2025-03-01T08:00:00Z"]
    assert compute_event_hash(event.hashed_fields()) == event.hash
    assert verify_chain().ok


_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20)
)
_json_values = st.recursive(
    _json_scalars,
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(st.characters(blacklist_characters="\x00",
                                            blacklist_categories=("Cs",)), max_size=8),
                      inner, max_size=3),
    max_leaves=8,
)  # fmt: skip


@pytest.mark.django_db
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=_json_values)
def test_any_json_change_hashes_the_same_after_the_database_round_trip(
    alice: User, value: Any
) -> None:
    try:
        with transaction.atomic():
            event = record_event(
                actor=alice, action="update", changes={"f": [value, None]}, reason="r"
            )
            stored = AuditEvent.objects.get(seq=event.seq)
            assert compute_event_hash(stored.hashed_fields()) == stored.hash
            raise _Rollback
    except _Rollback:
        pass


class _Rollback(Exception):
    """Undo one hypothesis example."""
