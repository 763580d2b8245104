"""Builders for the protocol tests: one complete record that routes to randomization."""

from __future__ import annotations

from typing import Any

from combat_norse.protocol.eligibility import ScreeningResult, evaluate
from combat_norse.protocol.records import ScreeningRecord, parse_screening_record

# A consistent synthetic adult at a New York site, screened on study day 3: every criterion met.
BASE_RECORD: dict[str, Any] = {
    "date_of_birth": "1990-06-15",
    "site_timezone": "America/New_York",
    "se_onset": "2026-05-04T10:00:00-04:00",
    "evaluated_at": "2026-05-07T15:30:00-04:00",
    "usual_health_before_se": True,
    "failed_asm_count": 2,
    "active_epilepsy": False,
    "preexisting_neuro_disorder": False,
    "acute_cause_identified": False,
    "planned_therapy": "either",
    "systemic_illness": False,
    "hypersensitivity": False,
    "active_serious_infection": False,
    "tnf_blocker": False,
    "anc_per_mm3": 4000,
    "platelets_per_mm3": 250000,
    "alt_u_l": 30,
    "alt_uln_u_l": 40,
    "ast_u_l": 28,
    "ast_uln_u_l": 40,
    "gi_perforation_risk": False,
    "febrile_illness_onset": None,
    "weight_kg": 70,
}


def build_json(drop: tuple[str, ...] = (), **changes: Any) -> dict[str, Any]:
    """BASE_RECORD with ``changes`` applied and the fields in ``drop`` removed."""
    data = {**BASE_RECORD, **changes}
    for name in drop:
        data.pop(name, None)
    return data


def build_record(drop: tuple[str, ...] = (), **changes: Any) -> ScreeningRecord:
    return parse_screening_record(build_json(drop, **changes)).record


def screen(drop: tuple[str, ...] = (), **changes: Any) -> ScreeningResult:
    return evaluate(build_record(drop, **changes))
