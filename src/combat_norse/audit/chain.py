"""Canonical JSON of an event, its SHA-256, and its Merkle leaf (no database access here).

Two formats live side by side (issue 19):

* **Legacy chain (v1)**, written before the sealer existed: every event stores ``prev_hash``
  (the ``hash`` of the event before it; 64 zeros for the first) and ``hash`` = hex SHA-256 of
  the canonical JSON of all its other fields, so an edit, a deleted event or a reordering breaks
  the chain at the first event it touches. Appending needed one global lock.
* **Sealed events (v2)**: a writer stores ``hash`` over the event's own fields (no ``seq``, no
  ``prev_hash``: it takes no lock and does not know its neighbour); the sealer later puts every
  committed event, legacy ones first, as one leaf of an RFC 9162 Merkle tree
  (:mod:`combat_norse.audit.merkle`). The leaf data is :func:`leaf_document`: every field and
  ``seq``, with the ``changes`` of an arm-revealing event replaced by an HMAC-SHA256 under a key
  the database does not hold, so a published leaf hash cannot be tested against both arms.

The canonical form must give the same bytes for the values written and for the values read back
from either database. PostgreSQL stores ``changes`` as ``jsonb``, which reorders keys and
rewrites numbers (``1e+20`` comes back as the integer ``100000000000000000000``), so keys are
sorted and every number is written as its exact, normalized decimal value (``1E+20``).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Context, Decimal
from typing import Any

GENESIS_HASH = "0" * 64
HASH_VERSION = 1  # part of every hashed document: a future format change stays verifiable

# The fields that enter the hash, in the order of the model (seq and prev_hash included).
HASHED_FIELDS: tuple[str, ...] = (
    "seq",
    "occurred_at",
    "actor_id",
    "actor_username",
    "action",
    "object_type",
    "object_id",
    "site_code",
    "participant_ref",
    "changes",
    "reason",
    "prev_hash",
)
# Fields added after the first events were written: they enter the hash only when non-empty,
# so every event written before them (where they are empty) verifies unchanged.
OPTIONAL_HASHED_FIELDS: tuple[str, ...] = ("operator",)
#: Every column read to recompute a hash (verification reads these).
ALL_HASHED_FIELDS: tuple[str, ...] = HASHED_FIELDS + OPTIONAL_HASHED_FIELDS


def canonical_timestamp(value: datetime) -> str:
    """``occurred_at`` as UTC with microseconds, e.g. ``2025-03-01T08:00:00.000000Z``."""
    if value.tzinfo is None:
        raise ValueError("occurred_at must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _number(value: Decimal) -> str:
    if value == 0:
        return "0"
    digits = len(value.as_tuple().digits)
    text = str(value.normalize(Context(prec=max(digits, 1))))
    return text  # '1E+20', '1.5E-7', '123.45': valid JSON numbers


def canonical_json(value: Any) -> str:
    """Deterministic JSON text of a JSON-compatible value (see the module docstring)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return _number(Decimal(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("audit values must be finite numbers")
        return _number(Decimal(repr(value)))
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=True)
    if isinstance(value, list | tuple):
        return "[" + ",".join(canonical_json(item) for item in value) + "]"
    if isinstance(value, Mapping):
        items = []
        for key in sorted(value):
            if not isinstance(key, str):
                raise TypeError(f"audit JSON keys must be strings, got {type(key).__name__}")
            items.append(json.dumps(key, ensure_ascii=True) + ":" + canonical_json(value[key]))
        return "{" + ",".join(items) + "}"
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def event_document(fields: Mapping[str, Any]) -> str:
    """The canonical JSON that is hashed: every field of :data:`HASHED_FIELDS` plus the version,
    and each field of :data:`OPTIONAL_HASHED_FIELDS` that is present and non-empty."""
    doc: dict[str, Any] = {name: fields[name] for name in HASHED_FIELDS}
    for name in OPTIONAL_HASHED_FIELDS:
        if fields.get(name):
            doc[name] = fields[name]
    doc["occurred_at"] = canonical_timestamp(fields["occurred_at"])
    doc["v"] = HASH_VERSION
    return canonical_json(doc)


def compute_hash(fields: Mapping[str, Any]) -> str:
    """Hex SHA-256 of :func:`event_document` (a legacy, chained event)."""
    return hashlib.sha256(event_document(fields).encode("ascii")).hexdigest()


SEALED_HASH_VERSION = 2
#: The fields a writer hashes for a sealed (v2) event: everything but ``seq`` (assigned by the
#: database on insert) and ``prev_hash`` (empty: there is no chain to link to).
SEALED_HASHED_FIELDS: tuple[str, ...] = tuple(
    name for name in HASHED_FIELDS if name not in ("seq", "prev_hash")
)
LEAF_VERSION = "leaf/1"


def is_legacy(fields: Mapping[str, Any]) -> bool:
    """A v1 (chained) event has a ``prev_hash``; a v2 (sealed) event has ``""``."""
    return bool(fields.get("prev_hash"))


def sealed_document(fields: Mapping[str, Any]) -> str:
    """The canonical JSON a writer hashes for a v2 event (see :data:`SEALED_HASHED_FIELDS`)."""
    doc: dict[str, Any] = {name: fields[name] for name in SEALED_HASHED_FIELDS}
    for name in OPTIONAL_HASHED_FIELDS:
        if fields.get(name):
            doc[name] = fields[name]
    doc["occurred_at"] = canonical_timestamp(fields["occurred_at"])
    doc["v"] = SEALED_HASH_VERSION
    return canonical_json(doc)


def compute_event_hash(fields: Mapping[str, Any]) -> str:
    """The ``hash`` an event must have: v1 (chained) or v2 (sealed) by its ``prev_hash``."""
    if is_legacy(fields):
        return compute_hash(fields)
    return hashlib.sha256(sealed_document(fields).encode("ascii")).hexdigest()


def keyed_digest(key: bytes, value: Any) -> str:
    """HMAC-SHA256 (hex) of the canonical JSON of ``value``: a commitment that reveals nothing
    to whoever lacks ``key``, even when ``value`` has two possible values (an arm)."""
    import hmac

    return hmac.new(key, canonical_json(value).encode("ascii"), hashlib.sha256).hexdigest()


def leaf_document(fields: Mapping[str, Any], *, redact: bool, key: bytes) -> bytes:
    """The data of an event's Merkle leaf: every hashed field plus ``seq`` and, for a legacy
    event, ``prev_hash``; with ``redact`` (an arm-revealing action) ``changes`` becomes
    ``{"hmac-sha256": HMAC(key, changes)}``."""
    doc: dict[str, Any] = {name: fields[name] for name in SEALED_HASHED_FIELDS}
    for name in OPTIONAL_HASHED_FIELDS:
        if fields.get(name):
            doc[name] = fields[name]
    doc["seq"] = fields["seq"]
    if is_legacy(fields):
        doc["prev_hash"] = fields["prev_hash"]
    if redact:
        doc["changes"] = {"hmac-sha256": keyed_digest(key, fields["changes"])}
    doc["occurred_at"] = canonical_timestamp(fields["occurred_at"])
    doc["v"] = LEAF_VERSION
    return canonical_json(doc).encode("ascii")
