"""A synthetic screening record dated relative to now, for walkthroughs and demos.

``examples/screening-randomized.json`` is fixed in March 2026, so a patient screened from it
today is far past day 7 and lands in the observational cohort. :func:`fresh_example_record`
gives the same synthetic patient with the seizure onset ``onset_hours_ago`` hours ago in the
site's zone and no ``evaluated_at`` (the system uses the moment of the command), so the README's
walkthrough reaches the randomized cohort on any day.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

BASE_RECORD: dict[str, Any] = {
    "date_of_birth": "1994-05-17",
    "usual_health_before_se": True,
    "failed_asm_count": 3,
    "active_epilepsy": False,
    "preexisting_neuro_disorder": False,
    "acute_cause_identified": False,
    "planned_therapy": "either",
    "systemic_illness": False,
    "hypersensitivity": False,
    "active_serious_infection": False,
    "tnf_blocker": False,
    "anc_per_mm3": 5400,
    "platelets_per_mm3": 231000,
    "alt_u_l": 38,
    "alt_uln_u_l": 40,
    "ast_u_l": 41,
    "ast_uln_u_l": 35,
    "gi_perforation_risk": False,
    "weight_kg": 72.5,
}

MAX_HOURS_AGO = 24 * 400


def fresh_example_record(
    now: datetime, *, onset_hours_ago: int = 30, timezone: str = "America/New_York"
) -> dict[str, Any]:
    """The synthetic patient with SE onset ``onset_hours_ago`` hours before ``now`` (aware), in
    ``timezone``; a febrile illness six days before onset (FIRES); no ``evaluated_at``.

    >>> from datetime import UTC
    >>> r = fresh_example_record(datetime(2026, 11, 29, 12, tzinfo=UTC), onset_hours_ago=30)
    >>> r["se_onset"], r["site_timezone"], "evaluated_at" in r
    ('2026-11-28T01:00:00-05:00', 'America/New_York', False)
    """
    if now.tzinfo is None:
        raise ValueError("now must carry a UTC offset")
    if not 0 <= onset_hours_ago <= MAX_HOURS_AGO:
        raise ValueError(f"onset_hours_ago: from 0 to {MAX_HOURS_AGO}")
    zone = ZoneInfo(timezone)
    onset = (now - timedelta(hours=onset_hours_ago)).astimezone(zone).replace(microsecond=0)
    febrile = (onset - timedelta(days=6)).astimezone(zone)
    return {
        **BASE_RECORD,
        "site_timezone": timezone,
        "se_onset": onset.isoformat(),
        "febrile_illness_onset": febrile.isoformat(),
    }
