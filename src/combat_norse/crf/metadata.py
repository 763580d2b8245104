"""Form metadata: the one source every form is declared in (§14; DESIGN.md "forms are data").

A :class:`FormDef` lists its items (:class:`ItemDef`: type, unit, range, code list, required,
arm-revealing tag, CDASH/SDTM names, labels, SI alternatives) and is validated when it is
declared, so a malformed form fails at import, not at the bedside. Validation of a submitted
document (:meth:`FormDef.validate`), the data dictionary (``combat-norse forms``), and later the
pages, the API schema and every export are generated from these objects; nothing else declares
an item.

A form version is immutable once used: :meth:`FormDef.fingerprint` is a digest of the
definition, stored with the first instance entered on that version; a later change to a used
version fails the system check ``combat_norse.E301`` (bump ``version`` instead).

This module imports no Django: it is pure and tested without a database.
"""

from __future__ import annotations

import enum
import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from combat_norse.protocol.parameters import DEFAULT as PROTOCOL

_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_TEXT = 4000
ADULT_AGE = PROTOCOL.adult_age_years  # §6: adult from 18 completed years
MAX_MAGNITUDE = Decimal(10) ** 15


class ItemType(enum.StrEnum):
    INTEGER = "integer"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"  # ISO 8601 with a UTC offset
    TEXT = "text"
    CHOICE = "choice"  # one code of the code list
    MULTI = "multi"  # a list of distinct codes of the code list


class ItemError(ValueError):
    """A submitted value outside its item's type, range or code list; ``item`` names it."""

    def __init__(self, item: str, problem: str) -> None:
        self.item = item
        self.problem = problem
        super().__init__(f"{item}: {problem}")


def in_language(english: str, translations: Mapping[str, str], language: str) -> str:
    """``translations[language]``, else that of its base language (``fr`` for ``fr-ca``), else
    ``english``. Language codes are compared in lower case.

    >>> in_language("Notes", {"fr": "Remarques"}, "fr-CA")
    'Remarques'
    >>> in_language("Notes", {"fr": "Remarques"}, "ko")
    'Notes'
    """
    code = (language or "").lower()
    lowered = {k.lower(): v for k, v in translations.items()}
    return lowered.get(code) or lowered.get(code.split("-")[0]) or english


@dataclass(frozen=True)
class SIAlternative:
    """An item a laboratory may report in SI units instead: ``code`` × ``factor`` = the item."""

    code: str
    unit: str
    factor: Decimal


@dataclass(frozen=True)
class ItemDef:
    code: str
    type: ItemType
    label: str
    unit: str = ""
    min: Decimal | None = None
    max: Decimal | None = None
    choices: tuple[str, ...] = ()
    required: bool = False
    arm_revealing: bool = False  # the item itself reveals the arm (a drug name)
    names_drug: bool = False  # free text: masked for a masked reader when it names a drug
    cdash: str = ""
    sdtm: str = ""
    help: str = ""
    si: tuple[SIAlternative, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)  # other languages (see label_in)
    # required only when another item has one of these values ("reason" when a dose is held);
    # ``required_unless`` the reverse (a dose's amount unless it was held or missed)
    required_when: tuple[str, tuple[object, ...]] | None = None
    required_unless: tuple[str, tuple[object, ...]] | None = None
    not_future: bool = False  # a date or time that cannot lie ahead (awareness of an event)

    def label_in(self, language: str) -> str:
        """The label in ``language`` (``fr``, ``fr-ca``: the base language serves a variant),
        the English ``label`` when the coordinating centre gave no translation."""
        return in_language(self.label, self.labels, language)

    def needed(self, values: Mapping[str, Any]) -> bool:
        """Whether this item is required given the form's other values."""
        if self.required_when is not None:
            other, among = self.required_when
            return values.get(other) in among
        if self.required_unless is not None:
            other, among = self.required_unless
            return values.get(other) not in among
        return self.required

    def __post_init__(self) -> None:
        if not _CODE.match(self.code):
            raise ValueError(f"item code {self.code!r} must be snake_case, ≤ 40 characters")
        if self.type in (ItemType.CHOICE, ItemType.MULTI) and not self.choices:
            raise ValueError(f"{self.code}: a {self.type} item needs choices")
        if self.choices and self.type not in (ItemType.CHOICE, ItemType.MULTI):
            raise ValueError(f"{self.code}: only choice items have choices")
        if len(set(self.choices)) != len(self.choices):
            raise ValueError(f"{self.code}: repeated choice")
        if (self.min is not None or self.max is not None) and self.type not in (
            ItemType.INTEGER, ItemType.DECIMAL
        ):  # fmt: skip
            raise ValueError(f"{self.code}: only numbers have a range")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"{self.code}: min above max")
        if self.si and self.type is not ItemType.DECIMAL and self.type is not ItemType.INTEGER:
            raise ValueError(f"{self.code}: only numbers have SI alternatives")

    def as_json(self) -> dict[str, Any]:
        """The data dictionary entry (§14 ``forms``)."""
        return {
            "code": self.code,
            "type": self.type.value,
            "unit": self.unit or None,
            "min": _number(self.min),
            "max": _number(self.max),
            "choices": list(self.choices) or None,
            "required": self.required,
            "arm_revealing": self.arm_revealing,
            "label": self.label,
            "cdash": self.cdash or None,
            "sdtm": self.sdtm or None,
            "si_alternatives": [
                {"code": s.code, "unit": s.unit, "factor": _number(s.factor)} for s in self.si
            ] or None,
            # only when set: the fingerprint of every form declared before them is unchanged
            **({"required_when": {"item": self.required_when[0],
                                  "in": list(self.required_when[1])}}
               if self.required_when is not None else {}),
            **({"required_unless": {"item": self.required_unless[0],
                                    "in": list(self.required_unless[1])}}
               if self.required_unless is not None else {}),
            **({"not_future": True} if self.not_future else {}),
        }  # fmt: skip

    def parse(self, raw: object) -> Any:
        """``raw`` (from JSON) as this item's stored value; ItemError otherwise. ``None`` clears."""
        if raw is None:
            return None
        kind = self.type
        if kind is ItemType.BOOLEAN:
            if not isinstance(raw, bool):
                raise ItemError(self.code, "expected true or false")
            return raw
        if kind in (ItemType.INTEGER, ItemType.DECIMAL):
            return self._number(raw)
        if kind is ItemType.TEXT:
            if not isinstance(raw, str):
                raise ItemError(self.code, "expected text")
            if len(raw) > MAX_TEXT:
                raise ItemError(self.code, f"longer than {MAX_TEXT} characters")
            return raw
        if kind is ItemType.DATE:
            if not isinstance(raw, str):
                raise ItemError(self.code, "expected an ISO date (YYYY-MM-DD)")
            try:
                day = date.fromisoformat(raw)
            except ValueError:
                raise ItemError(self.code, "expected an ISO date (YYYY-MM-DD)") from None
            _check_year(self.code, day.year)
            return day.isoformat()
        if kind is ItemType.DATETIME:
            if not isinstance(raw, str) or len(raw) > 40:
                raise ItemError(self.code, "expected an ISO datetime with a UTC offset")
            try:
                value = datetime.fromisoformat(raw)
            except ValueError:
                raise ItemError(self.code, "expected an ISO datetime with a UTC offset") from None
            if value.tzinfo is None:
                raise ItemError(self.code, "must carry a UTC offset")
            _check_year(self.code, value.year)
            return value.isoformat()
        if kind is ItemType.CHOICE:
            if not isinstance(raw, str) or raw not in self.choices:
                raise ItemError(self.code, f"one of {', '.join(self.choices)}")
            return raw
        if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
            raise ItemError(self.code, f"a list of {', '.join(self.choices)}")
        unknown = [v for v in raw if v not in self.choices]
        if unknown:
            raise ItemError(self.code, f"unknown choice; one of {', '.join(self.choices)}")
        if len(set(raw)) != len(raw):
            raise ItemError(self.code, "a choice is repeated")
        return sorted(raw, key=self.choices.index)

    def _number(self, raw: object) -> int | float:
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise ItemError(self.code, "expected a number")
        if isinstance(raw, float) and not math.isfinite(raw):
            raise ItemError(self.code, "expected a finite number")
        try:
            value = Decimal(str(raw))
        except InvalidOperation:  # pragma: no cover - str() of a finite number parses
            raise ItemError(self.code, "expected a number") from None
        if abs(value) > MAX_MAGNITUDE:
            raise ItemError(self.code, "number too large")
        if self.type is ItemType.INTEGER and value != value.to_integral_value():
            raise ItemError(self.code, "expected a whole number")
        if self.min is not None and value < self.min:
            raise ItemError(self.code, f"below {_number(self.min)}{_unit(self.unit)}")
        if self.max is not None and value > self.max:
            raise ItemError(self.code, f"above {_number(self.max)}{_unit(self.unit)}")
        return int(value) if self.type is ItemType.INTEGER else float(value)


@dataclass(frozen=True)
class FormDef:
    """A form version: its items in order, and whether the whole form reveals the arm."""

    code: str
    version: int
    title: str
    items: tuple[ItemDef, ...]
    visits: tuple[str, ...]  # the visit codes it belongs to (``annual_N``, ``inpatient_day_N``)
    arm_revealing: bool = False  # the whole form (dose: drug, amount and timing)
    repeating: bool = False  # saved at ``unscheduled``: a new instance each time
    event: bool = False  # its visit exists once the form is saved (se_resolution, death, ...)
    outcome: bool = False  # entered by a masked assessor: assessor and assessed_unmasked kept
    # Whom the form is for: "adults" (18 and over), "children" (under 18) or everyone (""):
    # which forms a visit expects of a participant (the missing-forms list). Not in
    # ``as_json``: declaring it leaves a used version's fingerprint alone.
    ages: str = ""
    # Participant-facing words per language (§14 "label per language"), supplied by the
    # coordinating centre: the title's translations and an information text shown above the
    # items (e.g. what an interview is, for the participant who consented to it). Words only:
    # they are not in ``as_json``, so a translation added later leaves the fingerprint alone.
    titles: Mapping[str, str] = field(default_factory=dict)
    notice: str = ""  # in English
    notices: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _CODE.match(self.code):
            raise ValueError(f"form code {self.code!r} must be snake_case")
        if self.version < 1:
            raise ValueError(f"{self.code}: versions start at 1")
        codes = [i.code for i in self.items]
        if len(set(codes)) != len(codes):
            raise ValueError(f"{self.code}: an item code is repeated")
        alternatives = [s.code for i in self.items for s in i.si]
        if set(alternatives) & set(codes) or len(set(alternatives)) != len(alternatives):
            raise ValueError(f"{self.code}: an SI alternative clashes with an item")
        if not self.visits:
            raise ValueError(f"{self.code}: belongs to no visit")
        if self.ages not in ("", "adults", "children"):
            raise ValueError(f"{self.code}: ages is adults, children or empty")
        for item in self.items:
            condition = item.required_when or item.required_unless
            if condition is not None and (item.required or condition[0] not in codes):
                raise ValueError(f"{self.code}.{item.code}: a condition on an item of the form, "
                                 "and not also always required")  # fmt: skip

    def for_age(self, age_years: int | None) -> bool:
        """Whether the form is collected for a participant of ``age_years`` (unknown: yes)."""
        if age_years is None or not self.ages:
            return True
        return (age_years >= ADULT_AGE) == (self.ages == "adults")

    def title_in(self, language: str) -> str:
        return in_language(self.title, self.titles, language)

    def notice_in(self, language: str) -> str:
        return in_language(self.notice, self.notices, language) if self.notice else ""

    @property
    def languages(self) -> list[str]:
        """``en`` and every language a title, notice or item label is translated into."""
        found = {"en", *self.titles, *self.notices}
        for item in self.items:
            found.update(item.labels)
        return sorted(found)

    @property
    def item_map(self) -> dict[str, ItemDef]:
        return {i.code: i for i in self.items}

    def as_json(self, *, masked: bool = False) -> dict[str, Any]:
        """The data dictionary entry; a masked reader gets no arm-revealing item."""
        return {
            "code": self.code,
            "version": self.version,
            "title": self.title,
            "arm_revealing": self.arm_revealing,
            "repeating": self.repeating,
            "visits": list(self.visits),
            "items": [i.as_json() for i in self.items if not (masked and i.arm_revealing)],
        }

    def fingerprint(self) -> str:
        """SHA-256 of the definition: a used version must keep it (system check E301)."""
        text = json.dumps(self.as_json(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def validate(
        self, submitted: Mapping[str, object], current: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """The document after this submission: ``current`` updated with the submitted items,
        each parsed (SI alternatives converted); ItemError for the first bad item, in form
        order, and nothing applied. ``null`` clears an item; an unknown item is bad input."""
        items = self.item_map
        si = {s.code: (i, s) for i in self.items for s in i.si}
        unknown = sorted(k for k in submitted if k not in items and k not in si)
        if unknown:
            raise ItemError(_short(unknown[0]), f"not an item of form {self.code}")
        parsed: dict[str, Any] = {}
        for key, raw in submitted.items():
            if key in si:
                item, alt = si[key]
                if item.code in submitted:
                    raise ItemError(key, f"give {item.code} or {key}, not both")
                value = SI_HOLDER(alt.code, item).parse(raw)
                parsed[item.code] = None if value is None else item.parse(
                    _scaled(value, alt.factor, item.type)
                )  # fmt: skip
            else:
                parsed[key] = items[key].parse(raw)
        out = dict(current or {})
        for code in (i.code for i in self.items):
            if code in parsed:
                if parsed[code] is None:
                    out.pop(code, None)
                else:
                    out[code] = parsed[code]
        return out

    def missing_required(self, values: Mapping[str, Any]) -> list[str]:
        return [i.code for i in self.items if i.needed(values) and values.get(i.code) is None]


YEARS = (1900, 2200)  # as the screening record's dates (§3): anything else is a typing error


def _check_year(code: str, year: int) -> None:
    if not YEARS[0] <= year <= YEARS[1]:
        raise ItemError(code, f"year {year} is outside {YEARS[0]}–{YEARS[1]}")


def check_not_future(form: FormDef, values: Mapping[str, Any], now: datetime,
                     skew: timedelta) -> None:  # fmt: skip
    """ItemError for the first ``not_future`` item of ``values`` later than ``now`` + ``skew``
    (the bedside clock skew; a date may be the site's today anywhere on Earth, so up to now +
    1 day)."""
    for item in form.items:
        raw = values.get(item.code)
        if not item.not_future or not isinstance(raw, str):
            continue
        if item.type is ItemType.DATE:
            if date.fromisoformat(raw) > (now + timedelta(days=1)).date():
                raise ItemError(item.code, "in the future")
        elif datetime.fromisoformat(raw) > now + skew:
            raise ItemError(item.code, "in the future")


def SI_HOLDER(code: str, item: ItemDef) -> ItemDef:
    """A plain number item under the SI alternative's own code (for its error messages)."""
    return ItemDef(code=code, type=ItemType.DECIMAL, label=f"{item.label} (SI)")


def _scaled(value: float, factor: Decimal, kind: ItemType) -> int | float:
    result = Decimal(str(value)) * factor
    if kind is ItemType.INTEGER:
        return int(result.to_integral_value())
    return float(result)


def _number(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _unit(unit: str) -> str:
    return f" {unit}" if unit else ""


def _short(text: str) -> str:
    return text if len(text) <= 40 else text[:40] + "…"


def catalog_errors(forms: Iterable[FormDef]) -> list[str]:
    """Problems of a catalog as a whole: a (code, version) declared twice."""
    seen: set[tuple[str, int]] = set()
    errors = []
    for form in forms:
        key = (form.code, form.version)
        if key in seen:
            errors.append(f"form {form.code} version {form.version} declared twice")
        seen.add(key)
    return errors


def stored_datetime(value: Any) -> datetime | None:
    """A DATETIME item's stored value (ISO 8601 with its offset, as validation kept it) as a
    datetime; None when the item is empty."""
    return datetime.fromisoformat(value) if isinstance(value, str) else None
