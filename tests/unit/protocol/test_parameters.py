"""The protocol's numbers live in one place (the protocol (docs/) [P] rules) and can be changed."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal

import pytest

from combat_norse.protocol.parameters import (
    DEFAULT,
    FIRES_ANCHOR_FIELD,
    RULES_VERSION,
    ProtocolParameters,
)


@pytest.mark.req("§4", "§5", "§6")
def test_defaults_are_the_protocol_as_written() -> None:
    p = DEFAULT
    assert RULES_VERSION == p.rules_version == "1.0"
    assert (p.min_age_years, p.adult_age_years, p.min_failed_asms) == (2, 18, 2)
    assert (p.max_study_day, p.early_window_last_day) == (7, 3)
    assert (p.anc_min_per_mm3, p.platelets_min_per_mm3) == (2000, 100000)
    assert p.transaminase_max_uln_ratio == Decimal("1.5")
    assert p.core_criteria == ("I1", "I2", "I3", "E1")
    assert (p.fires_window_earliest, p.fires_window_latest) == (
        timedelta(days=14),
        timedelta(hours=24),
    )
    assert FIRES_ANCHOR_FIELD == "se_onset"


@pytest.mark.req("§7", "§8", "§10")
def test_dosing_schedule_and_safety_defaults() -> None:
    p = DEFAULT
    assert (p.min_weight_kg, p.max_weight_kg) == (5, 300)
    assert (p.anakinra_mg_per_kg_per_day, p.anakinra_max_mg_per_day) == (10, 400)
    assert (p.anakinra_doses_per_day, p.anakinra_interval_hours) == (4, 6)
    assert (p.tocilizumab_mg_per_kg_light, p.tocilizumab_mg_per_kg_heavy) == (12, 8)
    assert (p.tocilizumab_band_weight_kg, p.tocilizumab_max_mg_per_dose) == (30, 800)
    assert p.tocilizumab_interval_hours == 336
    assert p.dose_deviation_fraction == Decimal("0.10")
    assert [(v.code, v.target_day, v.window_days) for v in p.visits if v.target_day] == [
        ("day30", 30, 7), ("month3", 90, 14), ("month6", 180, 30), ("month12", 365, 30),
    ]  # fmt: skip
    assert (p.days_per_year, p.annual_window_days) == (365, 60)
    assert (p.toci_anc_hold_max_per_mm3, p.toci_anc_stop_below_per_mm3) == (1000, 500)
    assert (p.toci_platelets_hold_max_per_mm3, p.toci_platelets_stop_below_per_mm3) == (
        100000,
        50000,
    )
    assert (p.toci_transaminase_hold_uln_ratio, p.toci_transaminase_stop_uln_ratio) == (3, 5)
    assert p.sae_report_hours == 24


@pytest.mark.req("§5")
def test_parameters_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT.max_study_day = 8


@pytest.mark.req("§5")
@pytest.mark.parametrize(
    "changes",
    [
        {"early_window_last_day": 7},
        {"adult_age_years": 2},
        {"min_weight_kg": Decimal(300)},
        {"fires_window_latest": timedelta(days=15)},
        {"core_criteria": ("I1", "I2", "I3")},
        {"core_criteria": ("I1", "I2", "I3", "E1", "I4")},
    ],
)
def test_inconsistent_parameters_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="invalid protocol parameters"):
        ProtocolParameters(**changes)
