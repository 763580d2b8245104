"""System checks of the safety app.

- combat_norse.E401: an active site's country has no regulator deadline (no SUSAR clock could
  be opened there); add it to ``COMBAT_NORSE_REGULATOR_DAYS``.
"""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, Tags, register
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError


@register(Tags.database)
def check_every_site_country_has_a_regulator_deadline(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[Error]:
    from combat_norse.safety.actions.clocks import regulator_table
    from combat_norse.sites.models import Site

    if not databases:
        return []
    try:
        known = {code for code, _fatal, _other in regulator_table()}
    except ImproperlyConfigured:  # a bad setting: E105 names it
        return []
    try:
        countries = set(Site.objects.filter(active=True).values_list("country_code", flat=True))
    except DatabaseError:  # not migrated yet
        return []
    return [
        Error(f"active sites in {country} have no regulator deadline for SUSAR reports",
              hint='set COMBAT_NORSE_REGULATOR_DAYS, e.g. {"' + country + '": [7, 15]}',
              id="combat_norse.E401")
        for country in sorted(c.upper() for c in countries if c and c.upper() not in known)
    ]  # fmt: skip
