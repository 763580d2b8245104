"""Verification of the trail (``combat-norse audit verify``, §13, issue 19). Writes nothing.

Read in streams (``chunk_size`` rows at a time), the trail is checked in this order, and the
first failure is reported with the event (``first_bad_event``: its ``seq``) or the missing
range it concerns:

1. **Legacy chain** (events written before the sealer, ``prev_hash`` set): ``seq`` 1, 2, 3, …
   without a gap, each ``prev_hash`` the ``hash`` of the event before, each ``hash`` its
   contents' SHA-256 (audit/chain.py).
2. **Checkpoints** (the signed tree heads outside the database, for this database's trail id):
   each signature checks with the public key; each file continues the one before
   (``prev_size``); the leaves they list give, at every checkpoint's size, exactly the signed
   root. So every head is consistent with every later one, and the files alone hold the tree.
3. **Leaves** in position order: positions 0, 1, 2, … without a gap; the event of each leaf
   exists, its ``hash`` matches its contents, its leaf hash (recomputed, with the leaf key for
   arm-revealing events) matches the stored one and the checkpointed one at that position, and
   the order is the sealer's (``(xid, seq)`` on PostgreSQL, ``seq`` on SQLite).
4. **Completeness**: the database holds at least every leaf the latest checkpoint signed (fewer:
   ``missing events at positions N..M``, deleted or a database restored from an older backup).
5. **Unsealed events**: an event outside the tree must be newer than the last sealed one (an
   event below it was inserted behind the sealer's back), and its ``hash`` must match.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from combat_norse.audit import checkpoint as cp
from combat_norse.audit.chain import (
    ALL_HASHED_FIELDS,
    GENESIS_HASH,
    compute_event_hash,
    compute_hash,
)
from combat_norse.audit.merkle import Frontier


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of :func:`verify_chain`. ``events``: how many events were checked."""

    ok: bool
    events: int
    first_bad_event: int | None = None
    reason: str | None = None
    sealed: int = 0
    unsealed: int = 0
    checkpoints: int = 0
    details: dict[str, Any] = field(default_factory=dict, compare=False)

    def as_json(self) -> dict[str, Any]:
        """The §13 output: ``{"ok": true, "events": N, ...}`` or ``{"ok": false, ...}``."""
        if self.ok:
            return {
                "ok": True,
                "events": self.events,
                "sealed": self.sealed,
                "unsealed": self.unsealed,
                "checkpoints": self.checkpoints,
                **self.details,
            }
        return {
            "ok": False,
            "first_bad_event": self.first_bad_event,
            "reason": self.reason,
            **self.details,
        }


class _Bad(Exception):
    def __init__(self, reason: str, event: int | None = None, **details: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.event = event
        self.details = details


def check_link(
    fields: dict[str, Any], stored_hash: str, expected_seq: int, prev_hash: str
) -> str | None:
    """Why the legacy event ``fields`` breaks the chain at position ``expected_seq``, or None."""
    seq = fields["seq"]
    if seq != expected_seq:
        return f"sequence gap: expected event {expected_seq}, found {seq}"
    if fields["prev_hash"] != prev_hash:
        previous = f"event {seq - 1}" if seq > 1 else "the chain's start"
        return f"prev_hash does not match the hash of {previous} (deleted or reordered)"
    try:
        actual = compute_hash(fields)
    except (TypeError, ValueError) as exc:
        return f"contents cannot be hashed ({exc})"
    if actual != stored_hash:
        return "hash mismatch: contents changed after the event was written"
    return None


def _event_hash_problem(fields: dict[str, Any], stored_hash: str) -> str | None:
    try:
        actual = compute_event_hash(fields)
    except (TypeError, ValueError) as exc:
        return f"contents cannot be hashed ({exc})"
    if actual != stored_hash:
        return "hash mismatch: contents changed after the event was written"
    return None


_COLUMNS = (*ALL_HASHED_FIELDS, "hash", "xid")


def _fields(row: tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip(_COLUMNS, row, strict=True))


def _legacy(alias: str, chunk_size: int) -> int:
    from combat_norse.audit.models import AuditEvent

    rows = (
        AuditEvent.objects.using(alias)
        .exclude(prev_hash="")
        .order_by("seq")
        .values_list(*_COLUMNS)
        .iterator(chunk_size=chunk_size)
    )
    expected_seq, prev_hash = 1, GENESIS_HASH
    for row in rows:
        fields = _fields(row)
        problem = check_link(fields, fields["hash"], expected_seq, prev_hash)
        if problem is not None:
            raise _Bad(problem, fields["seq"])
        expected_seq, prev_hash = expected_seq + 1, fields["hash"]
    return expected_seq - 1


def _checkpoint_leaves(paths: Any, trail_id: str, public_key: Path | None) -> tuple[
    list[str], list[cp.Checkpoint]
]:
    """The leaves the checkpoints sign, after checking every signature, link and root."""
    checkpoints = list(cp.iter_checkpoints(paths.checkpoint_dir, trail_id))
    if not checkpoints:
        return [], []
    public = cp.load_public_key(public_key or paths.key_dir / cp.PUBLIC_KEY)
    leaves: list[str] = []
    frontier = Frontier()
    previous_time = ""
    for checkpoint in checkpoints:
        name = checkpoint.path.name if checkpoint.path else "?"
        head = checkpoint.head
        if head.trail_id != trail_id:
            raise _Bad(f"checkpoint {name} names another trail ({head.trail_id})")
        if not cp.check_signature(head, checkpoint.signature, public):
            raise _Bad(f"checkpoint {name}: the signature does not check with the public key")
        if checkpoint.prev_size != len(leaves):
            raise _Bad(
                f"checkpoint files are missing: {name} continues size {checkpoint.prev_size} "
                f"but the files before it end at size {len(leaves)}",
                missing_checkpoints=[len(leaves), checkpoint.prev_size],
            )
        if len(checkpoint.leaves) != head.tree_size - checkpoint.prev_size:
            raise _Bad(f"checkpoint {name}: lists {len(checkpoint.leaves)} leaves for "
                       f"sizes {checkpoint.prev_size}..{head.tree_size}")  # fmt: skip
        if head.timestamp < previous_time:
            raise _Bad(f"checkpoint {name} is dated before the checkpoint it continues")
        try:
            frontier.extend([bytes.fromhex(h) for h in checkpoint.leaves])
        except ValueError:
            raise _Bad(f"checkpoint {name}: a leaf is not a hex hash") from None
        if frontier.root().hex() != head.root_hash:
            raise _Bad(f"checkpoint {name}: its leaves do not give its signed root")
        leaves.extend(checkpoint.leaves)
        previous_time = head.timestamp
    return leaves, checkpoints


LeafRow = tuple[int, str, int, dict[str, Any] | None]


def _leaf_rows(alias: str, chunk_size: int) -> Iterator[LeafRow]:
    """(position, stored leaf hash, event seq, the event's fields or None if it is gone)."""
    from combat_norse.audit.models import AuditEvent, AuditLeaf

    after = -1
    while True:
        chunk = list(
            AuditLeaf.objects.using(alias)
            .filter(position__gt=after)
            .order_by("position")
            .values_list("position", "leaf_hash", "event_id")[:chunk_size]
        )
        if not chunk:
            return
        seqs = [row[2] for row in chunk]
        events = {
            row[0]: _fields(row)
            for row in AuditEvent.objects.using(alias)
            .filter(seq__in=seqs)
            .values_list(*_COLUMNS)
        }
        for position, stored, seq in chunk:
            yield position, stored, seq, events.get(seq)
        after = chunk[-1][0]


def _verify(alias: str, chunk_size: int, public_key: Path | None) -> VerifyResult:
    from django.db import connections

    from combat_norse.audit.models import AuditEvent, AuditLeaf
    from combat_norse.audit.seal import audit_paths, current_trail, event_leaf

    postgres = connections[alias].vendor == "postgresql"
    _legacy(alias, chunk_size)
    paths = audit_paths()
    trail = current_trail(alias)
    has_leaves = AuditLeaf.objects.using(alias).exists()
    if trail is None and has_leaves:
        raise _Bad("the trail id is missing from the database, but events are sealed")
    signed: list[str] = []
    checkpoints: list[cp.Checkpoint] = []
    if trail is not None:
        signed, checkpoints = _checkpoint_leaves(paths, str(trail.trail_id), public_key)
        if has_leaves and not checkpoints:
            raise _Bad(
                f"no checkpoint of trail {trail.trail_id} under {paths.checkpoint_dir}: "
                "the sealed events cannot be checked against a signed head"
            )
    leaf_key = cp.load_leaf_key(paths.key_dir) if has_leaves else b""

    count = 0
    last_order: tuple[int, int] | None = None
    last_event: dict[str, Any] | None = None
    for position, stored, seq, fields in _leaf_rows(alias, chunk_size):
        if position != count:
            raise _Bad(
                f"missing events at positions {count}..{position - 1}: their leaves were "
                "deleted", None, missing=[count, position - 1],
            )  # fmt: skip
        if fields is None:
            raise _Bad(f"event {seq} (position {position}) was deleted", seq)
        problem = _event_hash_problem(fields, fields["hash"])
        if problem is not None:
            raise _Bad(problem, seq)
        if event_leaf(fields, leaf_key).hex() != stored:
            raise _Bad(f"event {seq} does not match its leaf at position {position} "
                       "(changed after it was sealed)", seq)  # fmt: skip
        if position < len(signed) and stored != signed[position]:
            raise _Bad(
                f"event {seq} at position {position} is not the event the checkpoints signed "
                "there (changed, reordered, inserted or re-hashed)", seq,
            )  # fmt: skip
        order = (fields["xid"] or 0, seq) if postgres else (0, seq)
        if last_order is not None and order <= last_order:
            raise _Bad(f"event {seq} at position {position} is out of the sealer's order", seq)
        last_order, last_event = order, fields
        count += 1
    if count < len(signed):
        latest = checkpoints[-1].head
        raise _Bad(
            f"missing events at positions {count}..{len(signed) - 1}: checkpoint "
            f"{latest.timestamp} signed {len(signed)} events, the database holds {count} "
            "(the newest events deleted, or the database restored from a backup taken before "
            "that checkpoint: a rollback)", None, missing=[count, len(signed) - 1],
        )  # fmt: skip

    unsealed = 0
    rows = (
        AuditEvent.objects.using(alias)
        .filter(leaf__isnull=True)
        .order_by("seq")
        .values_list(*_COLUMNS)
        .iterator(chunk_size=chunk_size)
    )
    for row in rows:
        fields = _fields(row)
        seq = fields["seq"]
        if last_event is not None:
            below = (
                fields["xid"] is None
                or (fields["xid"], seq) < (last_event["xid"] or 0, last_event["seq"])
                if postgres
                else seq < last_event["seq"]
            )
            if below:
                raise _Bad(f"event {seq} is older than the last sealed event but not in the "
                           "tree (inserted behind the sealer's back)", seq)  # fmt: skip
        problem = _event_hash_problem(fields, fields["hash"])
        if problem is not None:
            raise _Bad(problem, seq)
        unsealed += 1
    details: dict[str, Any] = {}
    if checkpoints:
        latest = checkpoints[-1].head
        details = {
            "trail_id": latest.trail_id,
            "tree_size": count,
            "signed_size": latest.tree_size,
            "root_hash": latest.root_hash,
            "signed_at": latest.timestamp,
        }
    return VerifyResult(
        True, count + unsealed, sealed=count, unsealed=unsealed,
        checkpoints=len(checkpoints), details=details,
    )  # fmt: skip


def verify_chain(
    chunk_size: int = 2000, using: str | None = None, public_key: Path | None = None
) -> VerifyResult:
    """Check the whole trail (module docstring) and report the first problem.

    ``public_key``: a PEM file to check the checkpoints with instead of the one next to the
    signing key (a site's own copy)."""
    from django.db import router

    from combat_norse.audit.models import AuditEvent

    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    alias = using or router.db_for_read(AuditEvent)
    try:
        return _verify(alias, chunk_size, public_key)
    except _Bad as bad:
        return VerifyResult(False, 0, bad.event, bad.reason, details=bad.details)
    except cp.CheckpointError as exc:
        return VerifyResult(False, 0, None, str(exc))
