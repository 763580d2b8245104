"""verify_chain() and `combat-norse audit verify` name the first event touched behind the
application's back (§13). On PostgreSQL the tampering first disables the
append-only trigger, as the table owner could; on SQLite there is no trigger to disable."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction

from combat_norse.audit.api import record_event
from combat_norse.audit.chain import compute_hash
from combat_norse.audit.models import AuditEvent
from combat_norse.audit.verify import VerifyResult, verify_chain
from combat_norse.cli.main import main

pytestmark = [pytest.mark.req("#3"), pytest.mark.django_db]

Events = Callable[[int], list[AuditEvent]]
Tamper = Callable[[], Any]

# Every column but the chain position, for swapping two events' contents.
CONTENT_COLUMNS = [f.column for f in AuditEvent._meta.concrete_fields if not f.primary_key]


def test_untouched_chain_verifies(make_events: Events) -> None:
    make_events(7)
    assert verify_chain() == VerifyResult(ok=True, events=7)
    assert verify_chain(chunk_size=2) == VerifyResult(ok=True, events=7)


def test_empty_trail_verifies() -> None:
    assert verify_chain() == VerifyResult(ok=True, events=0)


def test_raw_update_is_reported_at_the_edited_event(
    make_events: Events, behind_the_back: Tamper
) -> None:
    make_events(6)
    with behind_the_back() as sql:
        assert sql("UPDATE audit_auditevent SET reason = %s WHERE seq = 4", ["no reason"]) == 1
    result = verify_chain(chunk_size=2)
    assert (result.ok, result.first_bad_event, result.events) == (False, 4, 3)
    assert result.reason is not None and "hash mismatch" in result.reason


def test_edited_old_value_in_changes_is_reported(
    make_events: Events, behind_the_back: Tamper
) -> None:
    make_events(3)
    forged = json.dumps({"name": ["n2", "forged"]})
    with behind_the_back() as sql:
        sql("UPDATE audit_auditevent SET changes = %s WHERE seq = 2", [forged])
    assert verify_chain().first_bad_event == 2


def test_edit_with_a_recomputed_hash_is_reported_at_the_next_event(
    make_events: Events, behind_the_back: Tamper
) -> None:
    make_events(5)
    fields = AuditEvent.objects.get(seq=3).hashed_fields()
    fields["actor_username"] = "mallory"
    with behind_the_back() as sql:
        sql(
            "UPDATE audit_auditevent SET actor_username = %s, hash = %s WHERE seq = 3",
            ["mallory", compute_hash(fields)],
        )
    result = verify_chain()
    assert (result.ok, result.first_bad_event) == (False, 4)
    assert result.reason is not None and "prev_hash" in result.reason


def test_raw_delete_is_reported_at_the_next_event(
    make_events: Events, behind_the_back: Tamper
) -> None:
    make_events(6)
    with behind_the_back() as sql:
        assert sql("DELETE FROM audit_auditevent WHERE seq = 3") == 1
    result = verify_chain()
    assert (result.ok, result.first_bad_event) == (False, 4)
    assert result.reason is not None and "sequence gap" in result.reason


def test_swapped_pair_is_reported_at_the_first_of_the_pair(
    make_events: Events, behind_the_back: Tamper
) -> None:
    make_events(6)
    cols = ", ".join(CONTENT_COLUMNS)
    with behind_the_back() as sql:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(f"SELECT seq, {cols} FROM audit_auditevent WHERE seq IN (3, 4)")  # noqa: S608
            rows = {row[0]: row[1:] for row in cursor.fetchall()}
        assignments = ", ".join(f"{c} = %s" for c in CONTENT_COLUMNS)
        for seq, other in ((3, 4), (4, 3)):
            update = f"UPDATE audit_auditevent SET {assignments} WHERE seq = %s"  # noqa: S608
            sql(update, [*rows[other], seq])
    result = verify_chain()
    assert (result.ok, result.first_bad_event) == (False, 3)
    assert result.reason is not None and "prev_hash" in result.reason


def test_renumbered_pair_is_reported_at_the_first_of_the_pair(
    make_events: Events, behind_the_back: Tamper
) -> None:
    make_events(6)
    with behind_the_back() as sql:
        sql("UPDATE audit_auditevent SET seq = 1000 WHERE seq = 3")
        sql("UPDATE audit_auditevent SET seq = 3 WHERE seq = 4")
        sql("UPDATE audit_auditevent SET seq = 4 WHERE seq = 1000")
    assert verify_chain().first_bad_event == 3


def test_appended_forgery_is_reported(make_events: Events, behind_the_back: Tamper) -> None:
    events = make_events(2)
    with behind_the_back() as sql:
        sql(
            "INSERT INTO audit_auditevent (seq, occurred_at, actor_username, action, object_type,"
            " object_id, site_code, participant_ref, changes, reason, prev_hash, hash)"
            " VALUES (3, %s, 'mallory', 'unmask', '', '', '', '', '{}', '', %s, %s)",
            [events[1].occurred_at, events[1].hash, "f" * 64],
        )
    assert verify_chain().first_bad_event == 3


@pytest.mark.req("§13")
def test_cli_verify_prints_ok_and_the_event_count(
    make_events: Events, capsys: pytest.CaptureFixture[str]
) -> None:
    make_events(4)
    assert main(["audit", "verify"]) == 0
    assert json.loads(capsys.readouterr().out) == {"ok": True, "events": 4}


@pytest.mark.req("§13")
def test_cli_verify_names_the_first_bad_event_and_exits_1(
    make_events: Events, behind_the_back: Tamper, capsys: pytest.CaptureFixture[str]
) -> None:
    make_events(4)
    with behind_the_back() as sql:
        sql("DELETE FROM audit_auditevent WHERE seq = 2")
    assert main(["audit", "verify"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert list(out) == ["ok", "first_bad_event", "reason"]
    assert (out["ok"], out["first_bad_event"]) == (False, 3)


def test_events_recorded_after_verification_keep_verifying(make_events: Events) -> None:
    make_events(2)
    assert verify_chain().ok
    with transaction.atomic():
        record_event(actor=None, action="export", changes={"rows": [None, 2]})
    assert verify_chain() == VerifyResult(ok=True, events=3)
