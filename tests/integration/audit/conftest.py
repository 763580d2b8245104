"""Personas and tampering helpers for the audit-trail tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection, transaction
from django.utils import timezone

from combat_norse.audit.api import record_event
from combat_norse.audit.chain import GENESIS_HASH, compute_hash
from combat_norse.audit.models import AuditEvent
from combat_norse.sites.models import Site

TABLE = AuditEvent._meta.db_table
ROW_TRIGGER = "audit_auditevent_no_update_delete"


@pytest.fixture
def alice(db: None) -> User:
    """A site coordinator who writes trial data."""
    return User.objects.create_user("alice", password=None)


@pytest.fixture
def bob(db: None) -> User:
    """A central data manager who corrects data (and may export the trail)."""
    from combat_norse.sites.models import Membership

    user = User.objects.create_user("bob", password=None)
    Membership.objects.create(user=user, role="data_manager")
    return user


@pytest.fixture
def sites(db: None) -> None:
    """The sites the tests name (a transactional test's flush removes the migration's rows)."""
    for code, tz in (
        ("YNH", "America/New_York"),
        ("BAR", "America/Phoenix"),
        ("CCO", "America/Denver"),
    ):
        Site.objects.get_or_create(
            code=code,
            defaults={"name": code, "city": "-", "country": "United States", "country_code": "US",
                      "timezone": tz, "region": "north_america"},
        )  # fmt: skip


@pytest.fixture
def ward(db: None) -> Group:
    """Stand-in for a trial-data row (participant models live in another app)."""
    return Group.objects.create(name="ward-7")


@pytest.fixture
def make_events(alice: User) -> Callable[[int], list[AuditEvent]]:
    """Append ``n`` events by Alice in one transaction."""

    def make(n: int) -> list[AuditEvent]:
        with transaction.atomic():
            return [
                record_event(
                    actor=alice,
                    action="update",
                    object_type="auth.Group",
                    object_id=i,
                    changes={"name": [f"n{i}", f"n{i + 1}"]},
                    reason=f"correction {i}",
                    site_code="YNH",
                    participant_ref=f"YNH-{i:03d}",
                )
                for i in range(1, n + 1)
            ]

    return make


def append_legacy(n: int, *, actor: User | None = None, action: str = "update") -> list[AuditEvent]:
    """Write ``n`` events as the code before issue 19 did: ``seq`` 1, 2, … and each chained
    to the one before by ``prev_hash`` (the trail a site migrates from)."""
    events = []
    last = AuditEvent.objects.exclude(prev_hash="").order_by("-seq").first()
    seq, prev = (last.seq + 1, last.hash) if last else (1, GENESIS_HASH)
    with transaction.atomic():
        for i in range(n):
            event = AuditEvent(
                seq=seq, occurred_at=timezone.now(), prev_hash=prev,
                actor_id=actor.pk if actor else None,
                actor_username=actor.username if actor else "", action=action,
                object_type="auth.Group", object_id=str(i), site_code="YNH",
                participant_ref=f"YNH-{i:03d}", changes={"name": [f"n{i}", f"n{i + 1}"]},
                reason=f"legacy {i}",
            )  # fmt: skip
            event.hash = compute_hash(event.hashed_fields())
            event._append("default")
            events.append(event)
            seq, prev = seq + 1, event.hash
        if connection.vendor == "postgresql":  # what migration 0004 does for existing events
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT setval(pg_get_serial_sequence('audit_auditevent', 'seq'),"
                    " GREATEST(MAX(seq) + 1, nextval(pg_get_serial_sequence("
                    "'audit_auditevent', 'seq'))), false) FROM audit_auditevent"
                )
    return events


@pytest.fixture
def legacy_events(alice: User) -> Callable[[int], list[AuditEvent]]:
    """Append ``n`` legacy (hash-chained) events by Alice."""
    return lambda n: append_legacy(n, actor=alice)


@pytest.fixture(autouse=True)
def _skip_postgres_only(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")


@contextmanager
def _behind_the_back() -> Iterator[Callable[..., int]]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending FK checks: ALTER may run
            cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER {ROW_TRIGGER}")

        def run(sql: str, params: list[Any] | None = None) -> int:
            cursor.execute(sql, params or [])
            return int(cursor.rowcount)

        yield run
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER {ROW_TRIGGER}")


@pytest.fixture
def behind_the_back(db: None) -> Callable[[], Any]:
    """Raw SQL on the audit table as its owner would run it: on PostgreSQL the append-only
    trigger is disabled first (inside the test's transaction, so the rollback restores it)."""
    return _behind_the_back
