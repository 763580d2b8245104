"""Writers append without a shared lock; sealers (two at once, or one killed mid-batch) seal
every committed event exactly once, in one order (PostgreSQL, issue 19)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, transaction

from combat_norse.audit.api import record_event
from combat_norse.audit.models import AuditEvent, AuditLeaf
from combat_norse.audit.seal import seal_pending
from combat_norse.audit.verify import verify_chain

pytestmark = [pytest.mark.req("#19"), pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WRITERS = 16
EVENTS_PER_WRITER = 6
CLI = Path(sys.executable).parent / "combat-norse"


def _write(user: User, n: int) -> None:
    for i in range(n):
        with transaction.atomic():
            record_event(
                actor=user, action="update", object_type="crf.Form", object_id=i,
                changes={"n": [i, i + 1]}, reason="concurrent",
            )  # fmt: skip


def _assert_sealed_exactly_once_in_one_order() -> None:
    leaves = list(AuditLeaf.objects.order_by("position").values_list("position", "event_id"))
    events = dict(AuditEvent.objects.values_list("seq", "xid"))
    assert [p for p, _ in leaves] == list(range(len(events)))  # no gap, no duplicate position
    assert sorted(seq for _, seq in leaves) == sorted(events)  # each event once
    order = [(events[seq], seq) for _, seq in leaves]
    assert order == sorted(order)  # the sealer's order: (xid, seq)
    result = verify_chain(chunk_size=7)
    assert (result.ok, result.sealed, result.unsealed) == (True, len(events), 0), result


def test_sixteen_writers_and_two_sealers_at_once_seal_every_event_exactly_once() -> None:
    users = [User.objects.create_user(f"writer{i}", password=None) for i in range(WRITERS)]
    start = threading.Barrier(WRITERS + 2)
    writing = threading.Event()
    errors: list[BaseException] = []

    def writer(user: User) -> None:
        try:
            start.wait()
            _write(user, EVENTS_PER_WRITER)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    def sealer() -> None:
        try:
            start.wait()
            while writing.is_set():
                seal_pending(batch_size=5)  # small batches: many seals interleave the writes
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    writing.set()
    sealers = [threading.Thread(target=sealer) for _ in range(2)]
    writers = [threading.Thread(target=writer, args=(u,)) for u in users]
    for t in sealers + writers:
        t.start()
    for t in writers:
        t.join(timeout=120)
    writing.clear()
    for t in sealers:
        t.join(timeout=120)
    assert not errors
    seal_pending()
    assert AuditEvent.objects.filter(action="update").count() == WRITERS * EVENTS_PER_WRITER
    _assert_sealed_exactly_once_in_one_order()


def test_a_writer_does_not_wait_for_another_writers_open_transaction() -> None:
    """Under the old chain lock the second writer waited for the first one's commit."""
    alice = User.objects.create_user("alice", password=None)
    bob = User.objects.create_user("bob", password=None)
    assert seal_pending() == 1  # the trail's own start event
    appended = threading.Event()
    bob_committed = threading.Event()
    order: list[str] = []

    def alice_writes() -> None:
        try:
            with transaction.atomic():
                record_event(actor=alice, action="update", object_type="crf.Form", object_id=1)
                appended.set()
                bob_committed.wait(timeout=30)  # alice holds her transaction open meanwhile
                order.append("alice commits")
        finally:
            connection.close()

    thread = threading.Thread(target=alice_writes)
    thread.start()
    assert appended.wait(timeout=30)
    with transaction.atomic():
        record_event(actor=bob, action="update", object_type="crf.Form", object_id=2)
    order.append("bob committed")
    # alice's transaction is still open: neither event may be sealed yet (bob's is later)
    assert seal_pending() == 0
    bob_committed.set()
    thread.join(timeout=30)
    assert order == ["bob committed", "alice commits"]
    assert seal_pending() == 2
    sealed = list(AuditLeaf.objects.order_by("position").values_list("event__actor_username",
                                                                       flat=True))  # fmt: skip
    assert sealed[-2:] == ["alice", "bob"]  # alice's transaction began first: its xid is lower
    _assert_sealed_exactly_once_in_one_order()


def _database_url() -> str:
    params = connection.settings_dict
    user = params["USER"] or "postgres"
    password = f":{params['PASSWORD']}" if params["PASSWORD"] else ""
    host = params["HOST"] or "127.0.0.1"
    port = params["PORT"] or "5432"
    return f"postgres://{user}{password}@{host}:{port}/{params['NAME']}"


def test_a_sealer_killed_mid_batch_leaves_nothing_and_the_next_one_seals_everything() -> None:
    user = User.objects.create_user("writer", password=None)
    _write(user, 20)
    env = dict(
        os.environ,
        DATABASE_URL=_database_url(),
        AUDIT_KEY_DIR=str(settings.COMBAT_NORSE_AUDIT_KEY_DIR),
        AUDIT_CHECKPOINT_DIR=str(settings.COMBAT_NORSE_AUDIT_CHECKPOINT_DIR),
    )
    with connection.cursor() as cursor:
        cursor.execute("BEGIN")
        cursor.execute("LOCK TABLE audit_auditleaf IN SHARE MODE")  # the sealer's INSERT waits
        sealer = subprocess.Popen(
            [str(CLI), "audit", "seal"], env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            for _ in range(600):  # until the sealer is blocked inside its batch's transaction
                cursor.execute("SELECT pg_stat_clear_snapshot()")  # a fresh view each time
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND query LIKE 'INSERT INTO \"audit_auditleaf\"%%'"
                )
                row = cursor.fetchone()
                if (row and row[0]) or sealer.poll() is not None:
                    break
                time.sleep(0.1)
            assert sealer.poll() is None, sealer.communicate()
            sealer.send_signal(signal.SIGKILL)
            sealer.wait(timeout=30)
        finally:
            cursor.execute("COMMIT")
    assert sealer.returncode == -signal.SIGKILL
    for _ in range(300):  # the killed sealer's backend rolls back once it sees its client gone
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory')"
                " + (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid())"
            )
            row = cursor.fetchone()
        if not row or not row[0]:
            break
        time.sleep(0.1)
    assert AuditLeaf.objects.filter(event__actor=user).count() == 0  # nothing of the batch
    assert seal_pending() == 21  # the 20 events and the trail's start event
    assert seal_pending() == 0
    _assert_sealed_exactly_once_in_one_order()
