"""Tampering behind the application's back is named by `audit verify` (issue 19).

On PostgreSQL every change runs as the superuser with triggers off (``SET
session_replication_role = replica``: the append-only triggers and the foreign keys' checks),
as a DBA could; on SQLite there is nothing to switch off. The keys and checkpoints are the
server's files, which the DBA does not hold: every forgery below is one a DBA can make with
the database alone, including re-computing every hash that does not need a key.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, transaction

from combat_norse.audit.api import record_event
from combat_norse.audit.chain import compute_event_hash, leaf_document
from combat_norse.audit.merkle import leaf_hash
from combat_norse.audit.models import AuditEvent, AuditLeaf
from combat_norse.audit.seal import SealRefused, seal_pending
from combat_norse.audit.verify import verify_chain
from combat_norse.cli.main import main

pytestmark = [pytest.mark.req("#19"), pytest.mark.django_db]

Events = Callable[[int], list[AuditEvent]]
Sql = Callable[..., int]


@contextmanager
def _as_dba() -> Iterator[Sql]:
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
def sealed(make_events: Events) -> list[int]:
    """Six events sealed and checkpointed; returns the seqs in tree order."""
    make_events(6)
    seal_pending()
    return list(AuditLeaf.objects.order_by("position").values_list("event_id", flat=True))


def _forge_leaf(seq: int) -> str:
    """The leaf hash a DBA computes for an event (possible for any non-arm-revealing event:
    RFC 9162 hashing is public)."""
    event = AuditEvent.objects.get(seq=seq)
    fields = event.hashed_fields()
    return leaf_hash(leaf_document(fields, redact=False, key=b"")).hex()


def _bad(result: Any) -> tuple[bool, int | None]:
    return result.ok, result.first_bad_event


def test_an_untouched_sealed_trail_verifies(sealed: list[int]) -> None:
    result = verify_chain(chunk_size=2)
    assert (result.ok, result.sealed, result.unsealed, result.checkpoints) == (True, 7, 0, 1)


def test_an_edited_sealed_event_is_named(sealed: list[int]) -> None:
    with _as_dba() as sql:
        sql("UPDATE audit_auditevent SET reason = 'x' WHERE seq = %s", [sealed[2]])
    result = verify_chain()
    assert _bad(result) == (False, sealed[2])
    assert result.reason is not None and "hash mismatch" in result.reason


def test_an_edit_with_recomputed_event_and_leaf_hashes_is_named(sealed: list[int]) -> None:
    seq = sealed[3]
    event = AuditEvent.objects.get(seq=seq)
    event.actor_username = "mallory"
    with _as_dba() as sql:
        sql("UPDATE audit_auditevent SET actor_username = 'mallory', hash = %s WHERE seq = %s",
            [compute_event_hash(event.hashed_fields()), seq])  # fmt: skip
        sql("UPDATE audit_auditleaf SET leaf_hash = %s WHERE event_id = %s",
            [_forge_leaf(seq), seq])  # fmt: skip
    result = verify_chain()
    assert _bad(result) == (False, seq)
    assert result.reason is not None and "not the event the checkpoints signed" in result.reason


@pytest.mark.postgres  # leaves a dangling foreign key, which the SQLite test harness refuses
def test_a_deleted_sealed_event_is_named(sealed: list[int]) -> None:
    with _as_dba() as sql:
        sql("DELETE FROM audit_auditevent WHERE seq = %s", [sealed[1]])
    result = verify_chain()
    assert _bad(result) == (False, sealed[1])
    assert result.reason is not None and "deleted" in result.reason


def test_a_deleted_event_with_its_leaf_and_the_positions_closed_up_is_named(
    sealed: list[int],
) -> None:
    with _as_dba() as sql:
        sql("DELETE FROM audit_auditleaf WHERE event_id = %s", [sealed[1]])
        sql("DELETE FROM audit_auditevent WHERE seq = %s", [sealed[1]])
        sql("UPDATE audit_auditleaf SET position = position + 1000 WHERE position > 1")
        sql("UPDATE audit_auditleaf SET position = position - 1001 WHERE position > 1000")
    result = verify_chain()
    assert _bad(result) == (False, sealed[2])  # the event now where the deleted one was


def test_two_sealed_events_swapped_in_the_tree_are_named(sealed: list[int]) -> None:
    with _as_dba() as sql:
        sql("UPDATE audit_auditleaf SET position = 1000 WHERE position = 2")
        sql("UPDATE audit_auditleaf SET position = 2 WHERE position = 3")
        sql("UPDATE audit_auditleaf SET position = 3 WHERE position = 1000")
    result = verify_chain()
    assert _bad(result) == (False, sealed[3])  # now first of the pair


@pytest.mark.postgres  # SQLite orders by seq, and the sealed seqs leave no free number below
def test_an_event_inserted_below_the_sealed_horizon_is_named(sealed: list[int]) -> None:
    first = AuditEvent.objects.get(seq=sealed[0])
    forged = sealed[2] * 10_000  # any unused id
    with _as_dba() as sql:
        sql(
            "INSERT INTO audit_auditevent (seq, xid, occurred_at, actor_username, operator,"
            " action, object_type, object_id, site_code, participant_ref, changes, reason,"
            " prev_hash, hash) VALUES (%s, %s, %s, 'mallory', '', 'unmask', '', '', '', '',"
            " '{}', '', '', %s)",
            [forged, first.xid - 1, first.occurred_at, "f" * 64],  # "an older transaction"
        )
    result = verify_chain()
    assert _bad(result) == (False, forged)
    assert result.reason is not None and "inserted behind the sealer's back" in result.reason


def test_an_event_inserted_in_the_middle_of_the_tree_is_named(sealed: list[int]) -> None:
    with transaction.atomic():  # a genuine-looking event, then moved into the tree by the DBA
        forged = record_event(actor=None, action="update", object_type="crf.Form", object_id=9)
    with _as_dba() as sql:
        sql("UPDATE audit_auditleaf SET position = position + 1000 WHERE position >= 2")
        sql("UPDATE audit_auditleaf SET position = position - 999 WHERE position >= 1000")
        sql("INSERT INTO audit_auditleaf (position, event_id, leaf_hash) VALUES (2, %s, %s)",
            [forged.seq, _forge_leaf(forged.seq)])  # fmt: skip
    result = verify_chain()
    assert _bad(result) == (False, forged.seq)


@pytest.mark.parametrize("newest", [1, 3])
def test_the_newest_events_deleted_are_reported_as_missing(sealed: list[int], newest: int) -> None:
    size = len(sealed)
    with _as_dba() as sql:
        for seq in sealed[-newest:]:
            sql("DELETE FROM audit_auditleaf WHERE event_id = %s", [seq])
            sql("DELETE FROM audit_auditevent WHERE seq = %s", [seq])
    result = verify_chain()
    assert (result.ok, result.first_bad_event) == (False, None)
    assert result.reason is not None
    assert result.reason.startswith(f"missing events at positions {size - newest}..{size - 1}")
    assert result.details["missing"] == [size - newest, size - 1]


def test_a_re_hashed_tail_is_named_at_its_first_changed_event(sealed: list[int]) -> None:
    with _as_dba() as sql:
        for seq in sealed[2:-1]:  # every make_events event from the third on, re-hashed
            event = AuditEvent.objects.get(seq=seq)
            event.reason = "rewritten"
            sql("UPDATE audit_auditevent SET reason = 'rewritten', hash = %s WHERE seq = %s",
                [compute_event_hash(event.hashed_fields()), seq])  # fmt: skip
            sql("UPDATE audit_auditleaf SET leaf_hash = %s WHERE event_id = %s",
                [_forge_leaf(seq), seq])  # fmt: skip
    result = verify_chain()
    assert _bad(result) == (False, sealed[2])


def test_a_database_restored_from_a_backup_before_the_last_checkpoint_is_a_rollback(
    sealed: list[int], make_events: Events
) -> None:
    """The backup is the state after the first seal; the restore removes what came after."""
    make_events(4)
    assert seal_pending() == 4
    later = list(
        AuditLeaf.objects.filter(position__gte=len(sealed)).values_list("event_id", flat=True)
    )
    with _as_dba() as sql:  # the restored database: as it was when the backup was taken
        sql("DELETE FROM audit_auditleaf WHERE position >= %s", [len(sealed)])
        for seq in later:
            sql("DELETE FROM audit_auditevent WHERE seq = %s", [seq])
    result = verify_chain()
    assert (result.ok, result.first_bad_event) == (False, None)
    assert result.reason is not None and "rollback" in result.reason
    assert result.details["missing"] == [len(sealed), len(sealed) + 3]
    make_events(1)  # writing goes on, but no sealer continues the rolled-back tree
    with pytest.raises(SealRefused, match="missing"):
        seal_pending()


def _checkpoints() -> list[Path]:
    root = Path(settings.COMBAT_NORSE_AUDIT_CHECKPOINT_DIR)
    return sorted(p for p in root.glob("*/*.json"))


def test_a_removed_checkpoint_file_is_reported(sealed: list[int], make_events: Events) -> None:
    make_events(2)
    seal_pending()
    make_events(2)
    seal_pending()
    files = _checkpoints()
    assert len(files) == 3
    files[1].chmod(0o644)
    files[1].unlink()
    result = verify_chain()
    assert result.ok is False and result.reason is not None
    assert "checkpoint files are missing" in result.reason


def test_a_checkpoint_signed_with_another_key_is_refused(
    sealed: list[int], tmp_path: Path
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    other = tmp_path / "other.pub"
    other.write_bytes(Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))  # fmt: skip
    result = verify_chain(public_key=other)
    assert result.ok is False and result.reason is not None
    assert "signature does not check" in result.reason


def test_a_checkpoint_head_edited_in_the_file_is_refused(sealed: list[int]) -> None:
    (path,) = _checkpoints()
    document = json.loads(path.read_text())
    document["head"]["tree_size"] = 3
    path.chmod(0o644)
    path.write_text(json.dumps(document))
    assert verify_chain().ok is False


def test_unsealed_events_are_not_in_the_tree_yet_and_verify(
    sealed: list[int], make_events: Events
) -> None:
    make_events(2)
    result = verify_chain()
    assert (result.ok, result.sealed, result.unsealed) == (True, 7, 2)


def test_verify_writes_nothing(sealed: list[int], capsys: pytest.CaptureFixture[str]) -> None:
    before = (AuditEvent.objects.count(), AuditLeaf.objects.count(), _checkpoints())
    assert main(["audit", "verify"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True
    assert (AuditEvent.objects.count(), AuditLeaf.objects.count(), _checkpoints()) == before


def test_cli_verify_names_the_missing_range_and_exits_1(
    sealed: list[int], capsys: pytest.CaptureFixture[str]
) -> None:
    with _as_dba() as sql:
        sql("DELETE FROM audit_auditleaf WHERE event_id = %s", [sealed[-1]])
        sql("DELETE FROM audit_auditevent WHERE seq = %s", [sealed[-1]])
    assert main(["audit", "verify"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert (out["ok"], out["first_bad_event"], out["missing"]) == (False, None, [6, 6])
    assert out["reason"].startswith("missing events at positions 6..6")


@pytest.mark.postgres
def test_a_transaction_left_open_in_another_database_does_not_hold_back_sealing(
    make_events: Events,
) -> None:
    """Other databases on the same server (other applications, other test runs) do not
    count for the horizon: only this database's running transactions do. (On a quiet server
    the other transaction's xid lies between the snapshot's xmax and this test's own xid,
    the case that held sealing back before the horizon looked at pg_locks.)"""
    import psycopg

    params = connection.settings_dict
    other = psycopg.connect(host=params["HOST"] or "127.0.0.1", port=params["PORT"] or 5432,
                            user=params["USER"] or "postgres", dbname="postgres")  # fmt: skip
    try:
        other.execute("SELECT pg_current_xact_id()")  # an xid older than the events below
        make_events(3)
        assert seal_pending() == 4  # the three and the trail's start
    finally:
        other.rollback()
        other.close()


@pytest.mark.postgres
def test_another_databases_committed_subtransaction_does_not_hold_sealing_back() -> None:
    """A released savepoint in another database's open transaction (every Django test and
    most applications make them) has an xid that stays "in progress" until its parent ends
    but holds no lock of its own: the horizon took it for one of this database's and sealed
    nothing (the audit tests failed by the dozen while another test suite ran beside them).
    This test writes nothing before the other transaction has its xids, so its own xid is
    above them, the case the horizon has to decide."""
    import psycopg

    params = connection.settings_dict
    other = psycopg.connect(host=params["HOST"] or "127.0.0.1", port=params["PORT"] or 5432,
                            user=params["USER"] or "postgres", dbname="postgres")  # fmt: skip
    try:
        other.execute("CREATE TEMP TABLE scratch (n int)")  # the parent's xid
        other.execute("SAVEPOINT s")
        other.execute("INSERT INTO scratch VALUES (1)")  # a subtransaction's xid ...
        other.execute("RELEASE SAVEPOINT s")  # ... committed into its still-open parent
        with transaction.atomic():
            for n in range(3):
                record_event(actor=None, action="export", changes={"rows": [None, n]})
        assert seal_pending() == 4  # the three and the trail's start
    finally:
        other.rollback()
        other.close()
