"""The legacy chain (events written before issue 19, each linked to the one before by
``prev_hash``): verify_chain() and `combat-norse audit verify` still name the first event
touched behind the application's back (§13), before and after the chain is sealed into the
Merkle tree. On PostgreSQL the tampering first disables the append-only trigger, as the table
owner could; on SQLite there is no trigger to disable. The sealed trail's own tamper tests are
in test_audit_tamper.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction

from combat_norse.audit.api import record_event
from combat_norse.audit.chain import compute_hash
from combat_norse.audit.models import AuditEvent, AuditLeaf
from combat_norse.audit.seal import seal_pending
from combat_norse.audit.verify import VerifyResult, verify_chain
from combat_norse.cli.main import main

pytestmark = [pytest.mark.req("#3"), pytest.mark.django_db]

Events = Callable[[int], list[AuditEvent]]
Tamper = Callable[[], Any]

# Every column but the chain position, for swapping two events' contents.
CONTENT_COLUMNS = [f.column for f in AuditEvent._meta.concrete_fields if not f.primary_key]


def test_untouched_chain_verifies(legacy_events: Events) -> None:
    legacy_events(7)
    assert verify_chain() == VerifyResult(ok=True, events=7, unsealed=7)
    assert verify_chain(chunk_size=2) == VerifyResult(ok=True, events=7, unsealed=7)


def test_empty_trail_verifies() -> None:
    assert verify_chain() == VerifyResult(ok=True, events=0)


def test_raw_update_is_reported_at_the_edited_event(
    legacy_events: Events, behind_the_back: Tamper
) -> None:
    legacy_events(6)
    with behind_the_back() as sql:
        assert sql("UPDATE audit_auditevent SET reason = %s WHERE seq = 4", ["no reason"]) == 1
    result = verify_chain(chunk_size=2)
    assert (result.ok, result.first_bad_event) == (False, 4)
    assert result.reason is not None and "hash mismatch" in result.reason


def test_edited_old_value_in_changes_is_reported(
    legacy_events: Events, behind_the_back: Tamper
) -> None:
    legacy_events(3)
    forged = json.dumps({"name": ["n2", "forged"]})
    with behind_the_back() as sql:
        sql("UPDATE audit_auditevent SET changes = %s WHERE seq = 2", [forged])
    assert verify_chain().first_bad_event == 2


def test_edit_with_a_recomputed_hash_is_reported_at_the_next_event(
    legacy_events: Events, behind_the_back: Tamper
) -> None:
    legacy_events(5)
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
    legacy_events: Events, behind_the_back: Tamper
) -> None:
    legacy_events(6)
    with behind_the_back() as sql:
        assert sql("DELETE FROM audit_auditevent WHERE seq = 3") == 1
    result = verify_chain()
    assert (result.ok, result.first_bad_event) == (False, 4)
    assert result.reason is not None and "sequence gap" in result.reason


def test_swapped_pair_is_reported_at_the_first_of_the_pair(
    legacy_events: Events, behind_the_back: Tamper
) -> None:
    legacy_events(6)
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
    legacy_events: Events, behind_the_back: Tamper
) -> None:
    legacy_events(6)
    with behind_the_back() as sql:
        sql("UPDATE audit_auditevent SET seq = 1000 WHERE seq = 3")
        sql("UPDATE audit_auditevent SET seq = 3 WHERE seq = 4")
        sql("UPDATE audit_auditevent SET seq = 4 WHERE seq = 1000")
    assert verify_chain().first_bad_event == 3


def test_appended_forgery_is_reported(legacy_events: Events, behind_the_back: Tamper) -> None:
    events = legacy_events(2)
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
    legacy_events: Events, capsys: pytest.CaptureFixture[str]
) -> None:
    legacy_events(4)
    assert main(["audit", "verify"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "ok": True, "events": 4, "sealed": 0, "unsealed": 4, "checkpoints": 0,
    }  # fmt: skip


@pytest.mark.req("§13")
def test_cli_verify_names_the_first_bad_event_and_exits_1(
    legacy_events: Events, behind_the_back: Tamper, capsys: pytest.CaptureFixture[str]
) -> None:
    legacy_events(4)
    with behind_the_back() as sql:
        sql("DELETE FROM audit_auditevent WHERE seq = 2")
    assert main(["audit", "verify"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert list(out) == ["ok", "first_bad_event", "reason"]
    assert (out["ok"], out["first_bad_event"]) == (False, 3)


def test_new_events_continue_the_legacy_chain_and_both_verify_after_sealing(
    legacy_events: Events,
) -> None:
    legacy = legacy_events(3)
    assert verify_chain().ok
    with transaction.atomic():
        new = record_event(actor=None, action="export", changes={"rows": [None, 2]})
    assert new.seq > legacy[-1].seq and new.prev_hash == ""
    assert verify_chain() == VerifyResult(ok=True, events=4, unsealed=4)
    assert seal_pending() == 5  # the 3 legacy events first, then the trail's start and the new
    assert list(AuditLeaf.objects.order_by("position").values_list("event_id", flat=True))[
        :3
    ] == [e.seq for e in legacy]
    assert verify_chain() == VerifyResult(ok=True, events=5, sealed=5, checkpoints=1)


def test_legacy_event_edited_after_sealing_is_still_named(
    legacy_events: Events, behind_the_back: Tamper
) -> None:
    legacy_events(4)
    seal_pending()
    with behind_the_back() as sql:
        sql("UPDATE audit_auditevent SET reason = %s WHERE seq = 2", ["no reason"])
    result = verify_chain()
    assert (result.ok, result.first_bad_event) == (False, 2)
