"""Loading the registration's sites (§12) into the Site table."""

from __future__ import annotations

from typing import Any

from combat_norse.protocol.sites import SITES


def load_sites(site_model: Any) -> None:
    """Create or update every site of ``protocol.sites.SITES``, matched on code. Takes the
    model class so a migration can pass its historical model."""
    for info in SITES:
        site_model.objects.update_or_create(
            code=info.code,
            defaults={
                "name": info.name,
                "city": info.city,
                "state": info.state,
                "country": info.country,
                "country_code": info.country_code,
                "timezone": info.timezone,
                "region": info.region,
            },
        )
