"""Verification of the chain (``combat-norse audit verify``, §13).

The events are read in ``seq`` order with a streaming iterator (``chunk_size`` rows at a time;
on PostgreSQL a server-side cursor), never the whole table at once. The first event that fails
one of these checks is reported, with the reason:

* ``seq`` is 1, 2, 3, … without a gap (a deleted event shows as a gap at the next one);
* ``prev_hash`` equals the stored ``hash`` of the event before it (reordering, deletion);
* ``hash`` equals the SHA-256 of the event's canonical JSON (any edited field).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from combat_norse.audit.chain import ALL_HASHED_FIELDS, GENESIS_HASH, compute_hash


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of :func:`verify_chain`. ``events``: how many events were checked."""

    ok: bool
    events: int
    first_bad_event: int | None = None
    reason: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The §13 output: ``{"ok": true, "events": N}`` or ``{"ok": false, ...}``."""
        if self.ok:
            return {"ok": True, "events": self.events}
        return {"ok": False, "first_bad_event": self.first_bad_event, "reason": self.reason}


def check_link(
    fields: dict[str, Any], stored_hash: str, expected_seq: int, prev_hash: str
) -> str | None:
    """Why the event ``fields`` breaks the chain at position ``expected_seq``, or None."""
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


def verify_chain(chunk_size: int = 2000, using: str | None = None) -> VerifyResult:
    """Walk the whole chain in ``seq`` order and report the first broken link."""
    from django.db import router

    from combat_norse.audit.models import AuditEvent

    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    alias = using or router.db_for_read(AuditEvent)
    rows = (
        AuditEvent.objects.using(alias)
        .order_by("seq")
        .values_list(*ALL_HASHED_FIELDS, "hash")
        .iterator(chunk_size=chunk_size)
    )
    expected_seq, prev_hash, count = 1, GENESIS_HASH, 0
    for row in rows:
        fields = dict(zip(ALL_HASHED_FIELDS, row[:-1], strict=True))
        stored_hash = row[-1]
        problem = check_link(fields, stored_hash, expected_seq, prev_hash)
        if problem is not None:
            return VerifyResult(False, count, fields["seq"], problem)
        count += 1
        expected_seq, prev_hash = expected_seq + 1, stored_hash
    return VerifyResult(True, count)
