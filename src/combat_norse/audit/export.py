"""CSV export of the trail (``combat-norse audit export``), streamed row by row.

The events are read in ``seq`` order through ``QuerySet.iterator(chunk_size=...)`` (a
server-side cursor on PostgreSQL) and written with ``csv.writer`` as they arrive, so memory use
does not grow with the trail. Cells that a spreadsheet would run as a formula (starting with
``=``, ``+``, ``-``, ``@``, tab or carriage return) get a leading single quote.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from combat_norse.audit.chain import canonical_timestamp
from combat_norse.audit.vocabulary import ARM_REVEALING_ACTIONS

WITHHELD = "<withheld: arm-revealing, statistician only>"

HEADER: tuple[str, ...] = (
    "seq",
    "occurred_at",
    "actor",
    "action",
    "object_type",
    "object_id",
    "site_code",
    "participant_ref",
    "changes",
    "reason",
    "prev_hash",
    "hash",
    "operator",
)
_COLUMNS: tuple[str, ...] = (
    "seq",
    "occurred_at",
    "actor_username",
    "action",
    "object_type",
    "object_id",
    "site_code",
    "participant_ref",
    "changes",
    "reason",
    "prev_hash",
    "hash",
    "operator",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class Writable(Protocol):
    def write(self, s: str, /) -> Any: ...


@dataclass(frozen=True)
class ExportFilter:
    """Which events to export. ``since`` inclusive, ``until`` exclusive (both aware, UTC)."""

    since: datetime | None = None
    until: datetime | None = None
    site_code: str | None = None
    participant_ref: str | None = None
    reveal_arms: bool = False  # only for the unblinded statistician


def safe_cell(value: str) -> str:
    """Neutralize a spreadsheet formula (CSV injection)."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _cell(name: str, value: Any) -> str:
    if value is None:
        return ""
    if name == "occurred_at":
        return canonical_timestamp(value)
    if name == "changes":
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return safe_cell(str(value))


def iter_rows(flt: ExportFilter, chunk_size: int = 2000) -> Iterator[list[str]]:
    """Yield the CSV rows (without the header) of the events that match ``flt``."""
    from combat_norse.audit.models import AuditEvent

    qs = AuditEvent.objects.order_by("seq")
    if flt.since is not None:
        qs = qs.filter(occurred_at__gte=flt.since)
    if flt.until is not None:
        qs = qs.filter(occurred_at__lt=flt.until)
    if flt.site_code is not None:
        qs = qs.filter(site_code=flt.site_code)
    if flt.participant_ref is not None:
        qs = qs.filter(participant_ref=flt.participant_ref)
    hidden = {a.value for a in ARM_REVEALING_ACTIONS}
    changes_at, hash_at, prev_at = (_COLUMNS.index(c) for c in ("changes", "hash", "prev_hash"))
    last_hidden_hash = None
    for row in qs.values_list(*_COLUMNS).iterator(chunk_size=chunk_size):
        cells = [_cell(name, value) for name, value in zip(_COLUMNS, row, strict=True)]
        if not flt.reveal_arms:
            # A withheld event's hash is withheld too, and so is the next event's prev_hash
            # (the same value): either would let a reader test both arms against it.
            if cells[prev_at] == last_hidden_hash:
                cells[prev_at] = WITHHELD
            last_hidden_hash = None
            if row[_COLUMNS.index("action")] in hidden:
                last_hidden_hash = cells[hash_at]
                cells[changes_at] = json.dumps({"withheld": WITHHELD})
                cells[hash_at] = WITHHELD
                cells[prev_at] = WITHHELD
        yield cells


def write_csv(stream: Writable, flt: ExportFilter, chunk_size: int = 2000) -> int:
    """Write the header and the matching events to ``stream``; return the number of events."""
    writer = csv.writer(stream)  # RFC 4180: CRLF line ends
    writer.writerow(HEADER)
    count = 0
    for row in iter_rows(flt, chunk_size=chunk_size):
        writer.writerow(row)
        count += 1
    return count
