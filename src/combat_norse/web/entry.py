"""Typed values from what a browser posts (every value arrives as text): the pages' boundary
parsing, one function per kind. Validation of the values (ranges, code lists, the record's
rules) stays with the actions, which the pages call with these values.

Times typed at the bedside are local times of the participant's site (``datetime-local``
inputs carry no offset): they are read in the site's zone and sent on with its offset.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

ABSENT = object()  # nothing typed: the item is left out (unknown), not cleared


class EntryError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


def text(raw: str) -> Any:
    return raw if raw.strip() else ABSENT


def integer(field: str, raw: str) -> Any:
    raw = raw.strip()
    if not raw:
        return ABSENT
    if not raw.lstrip("-").isdigit() or len(raw) > 16:
        raise EntryError(field, _("a whole number"))
    return int(raw)


def number(field: str, raw: str) -> Any:
    raw = raw.strip().replace(",", ".")
    if not raw:
        return ABSENT
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise EntryError(field, _("a number")) from None
    if not value.is_finite() or len(raw) > 24:
        raise EntryError(field, _("a number"))
    return int(value) if value == value.to_integral_value() and "." not in raw else float(value)


def yes_no(field: str, raw: str) -> Any:
    if raw == "yes":
        return True
    if raw == "no":
        return False
    if raw in ("", "unknown"):
        return ABSENT
    raise EntryError(field, _("yes, no or unknown"))


def a_date(field: str, raw: str) -> Any:
    raw = raw.strip()
    if not raw:
        return ABSENT
    try:
        return date.fromisoformat(raw).isoformat()
    except ValueError:
        raise EntryError(field, _("a date (YYYY-MM-DD)")) from None


def local_time(field: str, raw: str, zone: str) -> Any:
    """A ``datetime-local`` value read in the site's ``zone``; ISO with the offset."""
    raw = raw.strip()
    if not raw:
        return ABSENT
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise EntryError(field, _("a date and time")) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(zone))
    return value.isoformat()


def as_local_input(iso: str | None, zone: str) -> str:
    """An ISO time as the ``datetime-local`` input shows it (in the site's zone)."""
    if not iso:
        return ""
    try:
        value = datetime.fromisoformat(iso)
    except ValueError:
        return ""
    if value.tzinfo is not None:
        value = value.astimezone(ZoneInfo(zone))
    return value.strftime("%Y-%m-%dT%H:%M")


def present(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` without the items left empty."""
    return {k: v for k, v in values.items() if v is not ABSENT}
