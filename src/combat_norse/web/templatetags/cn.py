"""Template filters of the pages: times shown absolute, in the participant's site's zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import template

register = template.Library()


@register.filter
def in_zone(value: object, zone: str) -> str:
    """An ISO datetime with an offset as ``2026-03-10 22:40 EDT`` in ``zone``; anything else
    (a date, an empty value) unchanged."""
    if not isinstance(value, str) or "T" not in value:
        return "" if value is None else str(value)
    try:
        moment = datetime.fromisoformat(value)
        local = ZoneInfo(zone)
    except (ValueError, ZoneInfoNotFoundError):
        return value
    if moment.tzinfo is None:
        return value
    return moment.astimezone(local).strftime("%Y-%m-%d %H:%M %Z")
