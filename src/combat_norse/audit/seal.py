"""The sealer: orders committed events and seals them into the Merkle tree (issue 19).

:func:`seal_pending` is the one entry point (``combat-norse audit seal``, the background loop
``audit seal --every N`` that ``make run`` starts, the ``seal_audit_trail`` task, or any periodic
scheduler): it is idempotent and safe with two running at once.

**Order.** Writers take no shared lock, so the sealer decides the order, the same for anyone:

* PostgreSQL: by ``(xid, seq)``, for events whose transaction id is below the *horizon*, the
  oldest transaction of this database still running (from ``pg_current_snapshot()``; the
  sealer's own transaction does not count, and transactions of other databases on the same
  server are left out through ``pg_locks`` and ``pg_stat_activity``). Every transaction below
  the horizon has ended, so no event can later appear below it: each batch continues the
  order of the last.
  Events written before this scheme carry the xid of migration 0004 and come first, by seq.
* SQLite: one writer at a time (``BEGIN IMMEDIATE``), so by ``seq``.

**Safety.** One sealer at a time: a PostgreSQL session advisory lock (released if the process
dies), or an ``flock`` on a file next to the checkpoints for SQLite. A batch's leaves are one
transaction: a sealer killed mid-batch leaves nothing, and the next run seals the same events.
After the commit the signed checkpoint is written; a sealer that died before writing it is
caught up by the next run (it signs the tree the database holds). A sealer refuses to continue
a tree that is shorter than the latest checkpoint or whose last checkpointed root differs
(a database restored from an older backup): ``audit verify`` says what is missing.
"""

from __future__ import annotations

import fcntl
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import Q
from django.utils import timezone

from combat_norse.audit import checkpoint as cp
from combat_norse.audit.chain import ALL_HASHED_FIELDS, canonical_timestamp, leaf_document
from combat_norse.audit.exceptions import AuditError
from combat_norse.audit.merkle import Frontier, leaf_hash
from combat_norse.audit.models import AuditEvent, AuditLeaf, AuditTrail
from combat_norse.audit.vocabulary import ARM_REVEALING_ACTIONS, AuditAction

# Key of the PostgreSQL advisory lock held by the one running sealer (int.from_bytes(b"CN-SEAL!")).
SEAL_LOCK_KEY = 0x434E2D5345414C21
BATCH_SIZE = 5000
_REDACTED_ACTIONS = frozenset(a.value for a in ARM_REVEALING_ACTIONS)

# The horizon: no transaction of this database below it is still running (see module doc).
# A snapshot lists the running xids below its xmax (its own excepted); xids at or above xmax
# are not listed, so xmax bounds the horizon. Transactions of other databases on the server
# (their xids and subtransaction xids, from the locks each holds on its own xid) do not count,
# nor does an xid that has ended since the snapshot. The sealer's own transaction, when it has
# written events (a test; in production the sealer writes none before this), may be above
# xmax: its events are sealable once no other transaction of this database holds an xid (a
# running backend's ``backend_xid``, or a prepared transaction). The xids between xmax and it
# cannot be tested one by one: another database's committed subtransaction stays "in
# progress" until its parent ends and holds no lock of its own after its commit, so it looked
# like one of ours (the sealer then sealed nothing while another database's tests ran).
HORIZON_SQL = """
WITH snap AS (SELECT pg_current_snapshot() AS s, pg_current_xact_id_if_assigned() AS own),
others AS (
    SELECT l.transactionid::text::bigint AS x
      FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
     WHERE l.locktype = 'transactionid' AND l.mode = 'ExclusiveLock'
       AND a.datname IS DISTINCT FROM current_database()),
bounds AS (
    SELECT pg_snapshot_xmax(s)::text::bigint AS xmax, own::text::bigint AS own FROM snap)
SELECT LEAST(
    (SELECT CASE
        WHEN own IS NOT NULL AND own >= xmax AND NOT EXISTS (
            SELECT 1 FROM pg_stat_activity a
             WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
               AND a.backend_xid IS NOT NULL)
          AND NOT EXISTS (SELECT 1 FROM pg_prepared_xacts p
                           WHERE p.database = current_database())
        THEN own + 1 ELSE xmax END FROM bounds),
    (SELECT min(x::text::bigint) FROM snap, pg_snapshot_xip(snap.s) AS x
      WHERE x IS DISTINCT FROM snap.own
        AND pg_xact_status(x) = 'in progress'
        AND (x::text::bigint % 4294967296) NOT IN (SELECT x FROM others)))
"""


class SealRefused(AuditError):
    """The database's tree does not continue the latest checkpoint (rollback or tampering)."""


@dataclass(frozen=True)
class AuditPaths:
    key_dir: Path
    checkpoint_dir: Path


def audit_paths() -> AuditPaths:
    """Where the keys and checkpoints live (settings, read at call time)."""
    return AuditPaths(
        Path(settings.COMBAT_NORSE_AUDIT_KEY_DIR), Path(settings.COMBAT_NORSE_AUDIT_CHECKPOINT_DIR)
    )


def is_arm_revealing(action: str) -> bool:
    return action in _REDACTED_ACTIONS


def event_leaf(fields: dict[str, Any], key: bytes) -> bytes:
    """The RFC 9162 leaf hash of an event (its fields as :data:`ALL_HASHED_FIELDS` + seq)."""
    document = leaf_document(fields, redact=is_arm_revealing(fields["action"]), key=key)
    return leaf_hash(document)


@contextmanager
def _sealer_lock(using: str, paths: AuditPaths) -> Iterator[None]:
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [SEAL_LOCK_KEY])
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [SEAL_LOCK_KEY])
        return
    cp.private_dir(paths.checkpoint_dir)
    with open(paths.checkpoint_dir / ".seal.lock", "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def current_trail(using: str | None = None) -> AuditTrail | None:
    alias = using or router.db_for_read(AuditTrail)
    return AuditTrail.objects.using(alias).order_by("pk").first()


def _trail(using: str, paths: AuditPaths) -> AuditTrail:
    trail = current_trail(using)
    if trail is not None:
        return trail
    from combat_norse.audit.api import SYSTEM, record_event

    public = cp.load_signing_key(paths.key_dir).public_key()
    with transaction.atomic(using=using):
        trail = AuditTrail(trail_id=uuid.uuid4(), created_at=timezone.now())
        trail.save(using=using, force_insert=True)
        record_event(
            actor=SYSTEM, action=AuditAction.TRAIL_START, obj=trail,
            changes={"trail_id": [None, str(trail.trail_id)], "key_id": [None, cp.key_id(public)]},
        )  # fmt: skip
    return trail


def _tree_state(using: str) -> tuple[int, AuditEvent | None]:
    """(number of leaves, the event of the last leaf)."""
    last = AuditLeaf.objects.using(using).order_by("-position").first()
    if last is None:
        return 0, None
    event = AuditEvent.objects.using(using).filter(seq=last.event_id).first()
    if event is None:
        raise SealRefused(
            f"the event {last.event_id} of the last leaf is missing: "
            "run `combat-norse audit verify`"
        )
    return last.position + 1, event


def _horizon(using: str) -> int:
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # pg_stat_activity as of now
        cursor.execute(HORIZON_SQL)
        row = cursor.fetchone()
    if row is None or row[0] is None:
        raise AuditError("PostgreSQL returned no snapshot horizon")
    return int(row[0])


def _next_batch(using: str, last: AuditEvent | None, batch_size: int) -> list[AuditEvent]:
    events = AuditEvent.objects.using(using)
    if connections[using].vendor == "postgresql":
        qs = events.filter(xid__lt=_horizon(using)).order_by("xid", "seq")
        if last is not None:
            if last.xid is None:
                raise SealRefused(f"the last sealed event {last.seq} has no transaction id")
            # (xid, seq) after the last sealed event's: a later xid, or more events of the same
            # transaction (only the sealer's own, when it runs inside a transaction that writes)
            qs = qs.filter(Q(xid__gt=last.xid) | Q(xid=last.xid, seq__gt=last.seq))
        batch = list(qs[:batch_size])
        if len(batch) == batch_size:  # finish the last transaction: never split one
            tail = batch[-1]
            batch += list(
                events.filter(xid=tail.xid, seq__gt=tail.seq).order_by("seq")
            )
        return batch
    qs = events.order_by("seq")
    if last is not None:
        qs = qs.filter(seq__gt=last.seq)
    return list(qs[:batch_size])


def _leaf_hashes_from(using: str, start: int) -> list[bytes]:
    rows = (
        AuditLeaf.objects.using(using)
        .filter(position__gte=start)
        .order_by("position")
        .values_list("leaf_hash", flat=True)
    )
    return [bytes.fromhex(h) for h in rows.iterator(chunk_size=5000)]


def _frontier_of(using: str, paths: AuditPaths, trail_id: str, size: int) -> Frontier:
    """The frontier of the database's tree of ``size`` leaves: from the latest checkpoint when
    it signs exactly this tree, else rebuilt from the stored leaves."""
    latest = cp.latest_checkpoint(paths.checkpoint_dir, trail_id)
    if latest is not None and latest.head.tree_size == size and latest.frontier is not None:
        frontier = Frontier(size, [bytes.fromhex(h) for h in latest.frontier])
        if frontier.root().hex() == latest.head.root_hash:
            return frontier
    return Frontier.of(_leaf_hashes_from(using, 0))


def _check_continues(using: str, paths: AuditPaths, trail_id: str, size: int) -> int:
    """Refuse a tree that does not continue the latest checkpoint; return its size."""
    latest = cp.latest_checkpoint(paths.checkpoint_dir, trail_id)
    if latest is None:
        return 0
    signed = latest.head.tree_size
    if size < signed:
        raise SealRefused(
            f"the database holds {size} sealed events but checkpoint {latest.head.timestamp} "
            f"signed {signed}: events {size}..{signed - 1} are missing (deleted, or the "
            "database restored from an earlier backup); run `combat-norse audit verify`"
        )
    leaves = _leaf_hashes_from(using, latest.prev_size)[: signed - latest.prev_size]
    if [h.hex() for h in leaves] != list(latest.leaves):
        raise SealRefused(
            f"the database's leaves {latest.prev_size}..{signed - 1} differ from checkpoint "
            f"{latest.head.timestamp}; run `combat-norse audit verify`"
        )
    return signed


def _write_checkpoint(
    paths: AuditPaths, trail_id: str, frontier: Frontier, prev_size: int, new: Sequence[bytes]
) -> None:
    key = cp.load_signing_key(paths.key_dir)
    head = cp.Head(
        trail_id=trail_id,
        tree_size=frontier.size,
        root_hash=frontier.root().hex(),
        timestamp=canonical_timestamp(timezone.now()),
    )
    cp.write_checkpoint(
        paths.checkpoint_dir,
        cp.Checkpoint(
            head=head,
            signature=cp.sign_head(head, key),
            key_id=cp.key_id(key.public_key()),
            prev_size=prev_size,
            leaves=tuple(h.hex() for h in new),
            frontier=tuple(h.hex() for h in frontier.roots),
        ),
    )


def seal_pending(*, using: str | None = None, batch_size: int = BATCH_SIZE) -> int:
    """Seal every committed event that is not in the tree yet; return how many were sealed.

    Creates the keys and the trail id on first use. Raises :class:`SealRefused` when the
    database's tree does not continue the latest checkpoint. Call it outside a transaction
    (each batch commits, then its checkpoint is written); inside one (a test), the batches are
    savepoints and the checkpoint is written before the outer transaction commits.
    """
    alias = using or router.db_for_write(AuditLeaf)
    paths = audit_paths()
    cp.ensure_keys(paths.key_dir)
    leaf_key = cp.load_leaf_key(paths.key_dir)
    sealed = 0
    with _sealer_lock(alias, paths):
        trail_id = str(_trail(alias, paths).trail_id)
        size, last = _tree_state(alias)
        signed = _check_continues(alias, paths, trail_id, size)
        frontier = _frontier_of(alias, paths, trail_id, size)
        unsigned = _leaf_hashes_from(alias, signed) if size > signed else []
        while True:
            with transaction.atomic(using=alias):
                batch = _next_batch(alias, last, batch_size)
                hashes = []
                leaves = []
                for offset, event in enumerate(batch):
                    fields = {name: getattr(event, name) for name in ALL_HASHED_FIELDS}
                    digest = event_leaf(fields, leaf_key)
                    hashes.append(digest)
                    leaves.append(AuditLeaf(
                        position=size + offset, event_id=event.seq, leaf_hash=digest.hex()
                    ))  # fmt: skip
                AuditLeaf.objects.using(alias).bulk_create(leaves)
            if not batch:
                break
            frontier.extend(hashes)
            unsigned += hashes
            size += len(batch)
            sealed += len(batch)
            last = batch[-1]
        if unsigned:
            _write_checkpoint(paths, trail_id, frontier, frontier.size - len(unsigned), unsigned)
    return sealed
