"""The screening record of §3: parsing at the boundary, and back to JSON.

:func:`parse_screening_record` turns a decoded JSON document into a frozen
:class:`ScreeningRecord` or raises :class:`RecordError` naming the offending field. There is
**no coercion**: ``"no"`` is not a boolean, ``"3"`` and ``3.5`` and ``3.0`` are not counts
(counts must be JSON integers), ``true`` is not a number, and NaN or infinity (which Python's
``json`` module accepts although JSON does not) are rejected everywhere in the document.

Every field may be absent or ``null``. The record keeps the difference: a field that is
present with ``null`` is listed in :attr:`ScreeningRecord.null_fields`. The difference matters
for ``febrile_illness_onset`` (``null`` = no febrile illness; absent = not known) and for the
round trip through :func:`record_to_json`; for every other field both mean "not known".

Formats accepted:

* dates: ``YYYY-MM-DD`` only;
* datetimes: ``YYYY-MM-DDTHH:MM[:SS[.ffffff]]`` followed by ``Z`` or ``±HH:MM`` (``T`` may be
  a space); a datetime without a UTC offset is rejected;
* ``site_timezone``: an IANA zone name known to the zone database (not ``localtime``);
* numbers: JSON integers or finite JSON numbers of magnitude at most 1e15
  (:data:`MAX_MAGNITUDE`), counts included (``1e20`` and ``100000000000000000000`` are bad
  input for ``failed_asm_count`` as for a lab value); lab values ≥ 0, upper limits of normal
  > 0, ``weight_kg`` within 5–300 kg (the limits of :class:`ProtocolParameters`).

Unknown extra fields are ignored with a warning that names the key (cut to 40 characters,
escaped) and never shows the value; their values must still be valid: no NaN or infinity and
no number above 1e15 anywhere inside them. :func:`parse_screening_json` reads the raw bytes
(strict UTF-8, no duplicate keys, see :mod:`combat_norse.protocol.jsoninput`) and then parses.

Cross-field checks: ``date_of_birth`` may not be after the local date of ``se_onset`` in the
site zone (without a zone: after every date that ``se_onset`` has anywhere on Earth), and
``evaluated_at`` may not be earlier than ``se_onset``.
"""

from __future__ import annotations

import json
import math
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from typing import Any, Final

from combat_norse.protocol.jsoninput import JsonInputError, label, loads_strict, shown
from combat_norse.protocol.parameters import DEFAULT, ProtocolParameters
from combat_norse.protocol.units import as_decimal, si_to_per_mm3

MAX_MAGNITUDE: Final = 1e15
"""No count, lab value or weight comes near this; larger numbers are typing errors."""

PLAUSIBLE_YEARS: Final = (1900, 2200)
"""Dates and datetimes outside these years are typing errors, not patients."""


class PlannedTherapy(StrEnum):
    """What the treating team plans or considers (``planned_therapy``, criterion I4)."""

    ANAKINRA = "anakinra"
    TOCILIZUMAB = "tocilizumab"
    EITHER = "either"
    NONE = "none"


class RecordError(ValueError):
    """A screening record that cannot be used; ``field`` names the offending field.

    ``str(error)`` is ``"<field>: <problem>"``, one line, ready for stderr.
    """

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class ScreeningRecord:
    """One screening record (§3); ``None`` = absent or null (not known).

    ``null_fields`` lists the fields that were present with an explicit ``null``; any other
    field whose value is ``None`` was absent. Built directly (not parsed), a ``None`` field is
    absent unless named in ``null_fields``; names whose value is not ``None`` are dropped from
    ``null_fields``.
    """

    date_of_birth: date | None = None
    site_timezone: str | None = None
    se_onset: datetime | None = None
    evaluated_at: datetime | None = None
    usual_health_before_se: bool | None = None
    failed_asm_count: int | None = None
    active_epilepsy: bool | None = None
    preexisting_neuro_disorder: bool | None = None
    acute_cause_identified: bool | None = None
    planned_therapy: PlannedTherapy | None = None
    systemic_illness: bool | None = None
    hypersensitivity: bool | None = None
    active_serious_infection: bool | None = None
    tnf_blocker: bool | None = None
    anc_per_mm3: int | float | None = None
    platelets_per_mm3: int | float | None = None
    alt_u_l: int | float | None = None
    alt_uln_u_l: int | float | None = None
    ast_u_l: int | float | None = None
    ast_uln_u_l: int | float | None = None
    gi_perforation_risk: bool | None = None
    febrile_illness_onset: datetime | None = None
    weight_kg: int | float | None = None
    null_fields: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        unknown = self.null_fields - set(RECORD_FIELDS)
        if unknown:
            raise ValueError(f"null_fields names unknown fields: {sorted(unknown)}")
        kept = frozenset(n for n in self.null_fields if getattr(self, n) is None)
        object.__setattr__(self, "null_fields", kept)

    def is_absent(self, name: str) -> bool:
        """True when field ``name`` was not in the input at all."""
        return getattr(self, name) is None and name not in self.null_fields

    def is_null(self, name: str) -> bool:
        """True when field ``name`` was present with an explicit ``null``."""
        return name in self.null_fields

    def is_known(self, name: str) -> bool:
        """True when field ``name`` has a value (neither absent nor null)."""
        return getattr(self, name) is not None

    @property
    def zone(self) -> zoneinfo.ZoneInfo | None:
        """The site's time zone, or None when ``site_timezone`` is not known."""
        return None if self.site_timezone is None else zoneinfo.ZoneInfo(self.site_timezone)


RECORD_FIELDS: Final[tuple[str, ...]] = tuple(
    f.name for f in fields(ScreeningRecord) if f.name != "null_fields"
)
"""The §3 field names, in the order of the protocol's table."""

BOOL_FIELDS: Final = frozenset(
    {
        "usual_health_before_se",
        "active_epilepsy",
        "preexisting_neuro_disorder",
        "acute_cause_identified",
        "systemic_illness",
        "hypersensitivity",
        "active_serious_infection",
        "tnf_blocker",
        "gi_perforation_risk",
    }
)
DATETIME_FIELDS: Final = frozenset({"se_onset", "evaluated_at", "febrile_illness_onset"})
LAB_VALUE_FIELDS: Final = frozenset({"anc_per_mm3", "platelets_per_mm3", "alt_u_l", "ast_u_l"})
ULN_FIELDS: Final = frozenset({"alt_uln_u_l", "ast_uln_u_l"})


@dataclass(frozen=True)
class ParsedRecord:
    """The result of :func:`parse_screening_record`: the record and the warnings to show."""

    record: ScreeningRecord
    warnings: tuple[str, ...] = ()


# ------------------------------------------------------------------------------------------
# value parsers

_DATE_RE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME_RE: Final = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<time>\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)"
    r"(?P<offset>[Zz]|[+-]\d{2}:?\d{2})?"
)
_EXCLUDED_ZONES: Final = frozenset({"localtime", "Factory", "posixrules"})
# Every local date that an instant has somewhere: offsets run from UTC-12 to UTC+14.
_MAX_UTC_OFFSET: Final = timedelta(hours=14)


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float | Decimal):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def _wrong_type(name: str, expected: str, value: object) -> RecordError:
    quoted = f" {shown(value)}" if isinstance(value, str) else ""
    return RecordError(name, f"expected {expected}, got {_json_type(value)}{quoted}")


def _too_large(name: str) -> RecordError:
    return RecordError(name, f"implausibly large (magnitude more than {MAX_MAGNITUDE:.0e})")


def _parse_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise _wrong_type(name, "a boolean (true or false)", value)
    return value


def _is_finite(value: float | Decimal) -> bool:
    return value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)


def _too_big(value: int | float | Decimal) -> bool:
    """Magnitude above :data:`MAX_MAGNITUDE` (exact for ints and Decimals of any size)."""
    if isinstance(value, Decimal):
        return abs(value) > Decimal(MAX_MAGNITUDE)
    return abs(value) > MAX_MAGNITUDE


def _parse_count(name: str, value: object) -> int:
    """A JSON integer, 0 ≤ value ≤ 1e15; a float is refused even when whole (``3.0``)."""
    if isinstance(value, float | Decimal):
        if not _is_finite(value):
            raise RecordError(name, "must be a finite number (NaN and Infinity are not JSON)")
        if _too_big(value):
            raise _too_large(name)
        whole = value == (value.to_integral_value() if isinstance(value, Decimal) else int(value))
        if not whole:
            raise RecordError(name, f"expected a whole number (JSON integer), got {value}")
        raise RecordError(
            name, f"expected a whole number (JSON integer), got the decimal number {value}"
        )
    if isinstance(value, bool) or not isinstance(value, int):
        raise _wrong_type(name, "a whole number (JSON integer)", value)
    if _too_big(value):
        raise _too_large(name)
    if value < 0:
        raise RecordError(name, f"must be 0 or more, got {value}")
    return value


def _parse_number(name: str, value: object) -> int | float:
    """A finite JSON number (int or float; a finite Decimal becomes one of these)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise _wrong_type(name, "a number", value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise RecordError(name, "must be a finite number (NaN and Infinity are not JSON)")
        if _too_big(value):  # before int(): Decimal("1e999999") would be a huge int
            raise _too_large(name)
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise RecordError(name, "must be a finite number (NaN and Infinity are not JSON)")
    if abs(value) > MAX_MAGNITUDE:
        raise _too_large(name)
    return value


def _parse_date(name: str, value: object) -> date:
    if not isinstance(value, str):
        raise _wrong_type(name, "an ISO date string (YYYY-MM-DD)", value)
    if not _DATE_RE.fullmatch(value):
        raise RecordError(name, f"malformed date {shown(value)}, expected YYYY-MM-DD")
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise RecordError(name, f"not a calendar date: {value!r}") from None
    if not PLAUSIBLE_YEARS[0] <= parsed.year <= PLAUSIBLE_YEARS[1]:
        raise RecordError(name, f"year {parsed.year} is outside {PLAUSIBLE_YEARS[0]}–"
                          f"{PLAUSIBLE_YEARS[1]}")  # fmt: skip
    return parsed


def parse_aware_datetime(name: str, value: object) -> datetime:
    """An ISO 8601 date and time that carries a UTC offset, in the plausible years (every typed
    moment: the record's times, a corrected onset, the time a report was sent)."""
    if not isinstance(value, str):
        raise _wrong_type(name, "an ISO datetime string with a UTC offset", value)
    match = _DATETIME_RE.fullmatch(value)
    if match is None:
        raise RecordError(
            name,
            f"malformed datetime {shown(value)}, expected YYYY-MM-DDTHH:MM[:SS] with Z or ±HH:MM",
        )
    if match.group("offset") is None:
        raise RecordError(name, f"datetime {value!r} has no UTC offset (add Z or ±HH:MM)")
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise RecordError(name, f"not a valid date and time: {value!r}") from None
    if parsed.utcoffset() is None:  # pragma: no cover - the pattern requires an offset
        raise RecordError(name, f"datetime {value!r} has no UTC offset")
    if not PLAUSIBLE_YEARS[0] <= parsed.year <= PLAUSIBLE_YEARS[1]:
        # also keeps time-zone arithmetic away from year 1 and 9999, where it overflows
        raise RecordError(name, f"year {parsed.year} is outside {PLAUSIBLE_YEARS[0]}–"
                          f"{PLAUSIBLE_YEARS[1]}")  # fmt: skip
    return parsed


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) - _EXCLUDED_ZONES


def is_known_timezone(name: str) -> bool:
    """True when ``name`` is an IANA zone name of the zone database."""
    return name in _known_zones()


def _parse_timezone(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise _wrong_type(name, "an IANA time-zone name such as 'America/New_York'", value)
    if not is_known_timezone(value):
        raise RecordError(name, f"unknown time zone {shown(value)} (expected an IANA name)")
    return value


def _parse_planned_therapy(name: str, value: object) -> PlannedTherapy:
    allowed = ", ".join(t.value for t in PlannedTherapy)
    if not isinstance(value, str):
        raise _wrong_type(name, f"one of {allowed}", value)
    try:
        return PlannedTherapy(value)
    except ValueError:
        raise RecordError(
            name, f"unknown value {shown(value)}, expected one of {allowed}"
        ) from None


def _check_extra_value(name: str, value: object) -> None:
    """An ignored extra field must still be valid input: no NaN/Infinity and no number above
    1e15 anywhere inside it (iterative: no recursion limit to hit).

    ``name`` is already made safe for a message (:func:`label`); the value is never shown.
    """
    stack: list[object] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, bool):
            continue
        if isinstance(item, float | Decimal) and not _is_finite(item):
            raise RecordError(name, "NaN and Infinity are not valid JSON")
        if isinstance(item, int | float | Decimal) and _too_big(item):
            raise _too_large(name)
        if isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)


def _parse_field(name: str, value: object, params: ProtocolParameters) -> Any:
    if name in BOOL_FIELDS:
        return _parse_bool(name, value)
    if name in DATETIME_FIELDS:
        return parse_aware_datetime(name, value)
    if name == "date_of_birth":
        return _parse_date(name, value)
    if name == "site_timezone":
        return _parse_timezone(name, value)
    if name == "failed_asm_count":
        return _parse_count(name, value)
    if name == "planned_therapy":
        return _parse_planned_therapy(name, value)
    number = _parse_number(name, value)
    exact = as_decimal(number)
    if name in LAB_VALUE_FIELDS and exact < 0:
        raise RecordError(name, f"must be 0 or more, got {number}")
    if name in ULN_FIELDS and exact <= 0:
        raise RecordError(name, f"upper limit of normal must be greater than 0, got {number}")
    if name == "weight_kg" and not params.min_weight_kg <= exact <= params.max_weight_kg:
        raise RecordError(
            name,
            f"{number} kg is outside {params.min_weight_kg}–{params.max_weight_kg} kg",
        )
    return number


def _check_consistency(record: ScreeningRecord) -> None:
    onset = record.se_onset
    if onset is not None and record.evaluated_at is not None and record.evaluated_at < onset:
        raise RecordError("evaluated_at", "is earlier than se_onset")
    if onset is not None and record.date_of_birth is not None:
        zone = record.zone
        if zone is not None:
            latest_onset_date = onset.astimezone(zone).date()
            where = "the local date of se_onset"
        else:
            latest_onset_date = (onset.astimezone(UTC) + _MAX_UTC_OFFSET).date()
            where = "se_onset (in any time zone)"
        if record.date_of_birth > latest_onset_date:
            raise RecordError("date_of_birth", f"is after {where}")


SI_LAB_FIELDS: Final[dict[str, str]] = {
    "anc_1e9_per_l": "anc_per_mm3",
    "platelets_1e9_per_l": "platelets_per_mm3",
}
"""Counts that may arrive in SI units (×10⁹/L): converted on entry to the §3 field (×1000)."""


def _convert_si_labs(data: Mapping[str, Any]) -> Mapping[str, Any]:
    if not any(key in data for key in SI_LAB_FIELDS):
        return data
    out = dict(data)
    for si_name, name in SI_LAB_FIELDS.items():
        if si_name not in out:
            continue
        raw = out.pop(si_name)
        if raw is None:
            continue
        if out.get(name) is not None:
            raise RecordError(si_name, f"give {name} or {si_name}, not both")
        number = _parse_number(si_name, raw)
        if number < 0:
            raise RecordError(si_name, f"must be >= 0, got {shown(raw)}")
        try:
            out[name] = si_to_per_mm3(number)
        except ValueError:
            raise RecordError(si_name, "number too large") from None
    return out


def parse_screening_record(data: object, params: ProtocolParameters = DEFAULT) -> ParsedRecord:
    """Validate a decoded JSON document as a screening record (§3, §5).

    Raises :class:`RecordError` for the first problem found (fields in the §3 order, then the
    cross-field checks); a non-object document is reported on the field ``record``. Unknown
    extra fields give one warning each (sorted) and are otherwise ignored. ANC and platelets may
    be given in SI units instead (``anc_1e9_per_l``, ``platelets_1e9_per_l``, ×10⁹/L): they
    are converted on entry, and the record holds cells/mm³ (§3).
    """
    if not isinstance(data, Mapping):
        raise RecordError("record", f"expected a JSON object, got {_json_type(data)}")
    for key in data:
        if not isinstance(key, str):
            raise RecordError("record", f"field names must be strings, got {shown(key)}")
    data = _convert_si_labs(data)
    values: dict[str, Any] = {}
    nulls: set[str] = set()
    for name in RECORD_FIELDS:
        if name not in data:
            continue
        raw = data[name]
        if raw is None:
            nulls.add(name)
        else:
            values[name] = _parse_field(name, raw, params)
    extras = sorted(key for key in data if key not in RECORD_FIELDS)
    for key in extras:
        _check_extra_value(label(key), data[key])
    record = ScreeningRecord(**values, null_fields=frozenset(nulls))
    _check_consistency(record)
    # The key only (cut and escaped), never the value: a stray field may hold anything.
    warnings = tuple(f"unknown field {shown(key)} ignored" for key in extras)
    return ParsedRecord(record=record, warnings=warnings)


def parse_screening_json(
    text: str | bytes, params: ProtocolParameters = DEFAULT
) -> ParsedRecord:
    """Decode a screening record from raw JSON (bytes are strict UTF-8; duplicate keys at any
    depth and lone surrogates are refused) and parse it with :func:`parse_screening_record`.

    Raises :class:`RecordError` for every problem; malformed JSON is reported on ``file``.

    >>> parse_screening_json(b'{"hypersensitivity": true, "hypersensitivity": false}')
    Traceback (most recent call last):
    ...
    combat_norse.protocol.records.RecordError: hypersensitivity: duplicate key (each field ...)
    """
    try:
        data = loads_strict(text)
    except JsonInputError as exc:
        raise RecordError(exc.field, exc.problem) from None
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise RecordError("file", f"not valid JSON ({where})") from None
    except RecursionError:
        raise RecordError("file", "JSON nested too deeply") from None
    except ValueError:  # e.g. an integer of more than 4300 digits
        raise RecordError("file", "unreadable number") from None
    return parse_screening_record(data, params)


def record_to_json(record: ScreeningRecord) -> dict[str, Any]:
    """The record as a JSON-ready dict that :func:`parse_screening_record` reads back equal.

    Absent fields are omitted, null fields are ``None``; dates and datetimes are ISO strings
    (datetimes keep the offset they were given with), ``planned_therapy`` its string value.
    """
    out: dict[str, Any] = {}
    for name in RECORD_FIELDS:
        value = getattr(record, name)
        if value is None:
            if record.is_null(name):
                out[name] = None
            continue
        if isinstance(value, date | datetime):
            out[name] = value.isoformat()
        elif isinstance(value, PlannedTherapy):
            out[name] = value.value
        else:
            out[name] = value
    return out
