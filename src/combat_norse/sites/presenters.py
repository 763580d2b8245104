"""Presenters of the sites app: sites are public (the registration lists them)."""

from __future__ import annotations

from typing import Any

from combat_norse.sites.models import Site


def present_site(site: Site) -> dict[str, Any]:
    """One site as ``combat-norse sites`` prints it (§13)."""
    return {
        "code": site.code,
        "name": site.name,
        "city": site.city,
        "country": site.country,
        "country_code": site.country_code,
        "timezone": site.timezone,
        "region": site.region,
    }
