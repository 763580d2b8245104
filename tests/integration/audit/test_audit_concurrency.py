"""Many writers append to one chain without duplicate or missing positions (PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction

from combat_norse.audit.api import record_event
from combat_norse.audit.models import AuditEvent
from combat_norse.audit.verify import verify_chain

THREADS = 8
EVENTS_PER_THREAD = 25


@pytest.mark.req("#3")
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_build_one_gap_free_chain() -> None:
    users = [User.objects.create_user(f"writer{i}", password=None) for i in range(THREADS)]
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def write(user: User) -> None:
        try:
            start.wait()
            for i in range(EVENTS_PER_THREAD):
                with transaction.atomic():
                    record_event(
                        actor=user, action="update", object_type="crf.Form", object_id=i,
                        changes={"n": [i, i + 1]}, reason="concurrent",
                    )  # fmt: skip
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    assert list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True)) == list(
        range(1, THREADS * EVENTS_PER_THREAD + 1)
    )
    for user in users:
        assert AuditEvent.objects.filter(actor=user).count() == EVENTS_PER_THREAD
    result = verify_chain(chunk_size=50)
    assert (result.ok, result.events) == (True, THREADS * EVENTS_PER_THREAD)
