"""Suggested doses and deviations (§7)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from combat_norse.protocol.dosing import (
    DoseError,
    Drug,
    dose_deviation,
    round_mg,
    suggested_dose,
)

ANAKINRA_KEYS = ["drug", "weight_kg", "mg_per_kg", "dose_mg", "interval_hours", "doses_per_day",
                 "daily_mg", "capped"]  # fmt: skip
TOCILIZUMAB_KEYS = ["drug", "weight_kg", "mg_per_kg", "dose_mg", "interval_hours", "capped"]


@pytest.mark.req("§7")
def test_anakinra_for_a_child_is_10_mg_per_kg_per_day_in_four_doses() -> None:
    out = suggested_dose("anakinra", 18.5).to_json()
    assert {k: out[k] for k in ANAKINRA_KEYS} == {
        "drug": "anakinra",
        "weight_kg": 18.5,
        "mg_per_kg": 10,
        "dose_mg": 46.3,  # 185 / 4 = 46.25, half up
        "interval_hours": 6,
        "doses_per_day": 4,
        "daily_mg": 185.0,
        "capped": False,
    }


@pytest.mark.req("§7")
def test_anakinra_cap_binds_from_40_kg() -> None:
    at_40 = suggested_dose(Drug.ANAKINRA, 40)
    assert (at_40.daily_mg, at_40.dose_mg, at_40.capped) == (Decimal(400), Decimal(100), False)
    above = suggested_dose(Drug.ANAKINRA, 40.1)
    assert (above.daily_mg, above.dose_mg, above.capped) == (Decimal(400), Decimal(100), True)
    assert list(above.to_json())[:len(ANAKINRA_KEYS)] == ANAKINRA_KEYS


@pytest.mark.req("§7")
@pytest.mark.parametrize(
    ("weight", "mg_per_kg", "dose_mg", "capped"),
    [
        (5, 12, 60.0, False),
        (29.99, 12, 359.9, False),  # 359.88
        (30, 8, 240.0, False),  # exactly 30 kg: 8 mg/kg
        (100, 8, 800.0, False),
        (100.01, 8, 800.0, True),
        (300, 8, 800.0, True),
    ],
)
def test_tocilizumab_bands_and_cap(
    weight: float, mg_per_kg: int, dose_mg: float, capped: bool
) -> None:
    data = suggested_dose("tocilizumab", weight).to_json()
    assert list(data)[:len(TOCILIZUMAB_KEYS)] == TOCILIZUMAB_KEYS
    assert (data["mg_per_kg"], data["dose_mg"], data["capped"]) == (mg_per_kg, dose_mg, capped)
    assert data["interval_hours"] == 336


@pytest.mark.req("§7")
def test_doses_round_half_up_to_one_decimal() -> None:
    assert round_mg(Decimal("12.25")) == Decimal("12.3")  # half-even would give 12.2
    assert round_mg(Decimal("12.45")) == Decimal("12.5")  # half-even would give 12.4
    assert round_mg(Decimal("12.24")) == Decimal("12.2")
    assert suggested_dose("anakinra", 5.03).dose_mg == Decimal("12.6")  # 50.3 / 4 = 12.575
    assert suggested_dose("tocilizumab", 5.0125).dose_mg == Decimal("60.2")  # 60.15


@pytest.mark.req("§7")
@pytest.mark.parametrize("weight", [4.99, 0, -10, 300.01, 1000])
def test_weight_outside_5_to_300_kg_is_rejected_naming_weight_kg(weight: float) -> None:
    with pytest.raises(DoseError) as info:
        suggested_dose("anakinra", weight)
    assert info.value.field == "weight_kg" and str(info.value).startswith("weight_kg: ")


@pytest.mark.req("§7")
@pytest.mark.parametrize("weight", [float("nan"), float("inf"), True, "70"])
def test_non_numbers_are_rejected_naming_weight_kg(weight: object) -> None:
    with pytest.raises(DoseError) as info:
        suggested_dose("tocilizumab", weight)
    assert info.value.field == "weight_kg"


@pytest.mark.req("§7")
def test_unknown_drug_is_rejected_naming_drug() -> None:
    with pytest.raises(DoseError) as info:
        suggested_dose("rituximab", 70)
    assert info.value.field == "drug"


@pytest.mark.req("§7")
@pytest.mark.parametrize(
    ("suggested", "given", "deviation"),
    [
        (100, 100, False),
        (100, 110, False),  # exactly 10 % is not a deviation
        (100, 90, False),
        (100, 110.1, True),
        (100, 89.9, True),
        (33.3, 36.63, False),  # exactly 10 % in decimal, not in binary floats
        (100, 0, True),
    ],
)
def test_more_than_10_percent_off_is_a_deviation(
    suggested: float, given: float, deviation: bool
) -> None:
    assert dose_deviation(suggested, given) is deviation


@pytest.mark.req("§7")
def test_deviation_needs_a_positive_suggestion_and_a_non_negative_dose() -> None:
    with pytest.raises(ValueError, match="suggested_mg"):
        dose_deviation(0, 10)
    with pytest.raises(ValueError, match="given_mg"):
        dose_deviation(10, -1)


_weights = st.decimals(min_value=5, max_value=300, places=2)


@pytest.mark.req("§7")
@settings(max_examples=200, deadline=None)
@given(weight=_weights, drug=st.sampled_from(list(Drug)))
def test_dose_never_exceeds_the_caps(weight: Decimal, drug: Drug) -> None:
    dose = suggested_dose(drug, weight)
    if drug is Drug.ANAKINRA:
        assert dose.daily_mg is not None and dose.daily_mg <= 400
        assert dose.dose_mg <= 100
        assert dose.capped == (weight > 40)
    else:
        assert dose.dose_mg <= 800
        assert dose.capped == (weight > 100)
    assert dose.dose_mg == round_mg(dose.dose_mg)


@pytest.mark.req("§7")
@settings(max_examples=200, deadline=None)
@given(a=_weights, b=_weights, drug=st.sampled_from(list(Drug)))
def test_dose_is_monotone_in_weight_within_each_band(a: Decimal, b: Decimal, drug: Drug) -> None:
    low, high = sorted((a, b))
    if drug is Drug.TOCILIZUMAB and (low < 30) != (high < 30):
        return  # the 12 -> 8 mg/kg step at 30 kg is a drop by design
    assert suggested_dose(drug, low).dose_mg <= suggested_dose(drug, high).dose_mg


@pytest.mark.req("§7")
@settings(max_examples=100, deadline=None)
@given(weight=st.floats(min_value=5, max_value=300))
def test_float_weights_give_the_same_dose_as_their_decimal_text(weight: float) -> None:
    assert suggested_dose("anakinra", weight) == suggested_dose("anakinra", Decimal(repr(weight)))


@pytest.mark.req("§7", "#16")
def test_each_figure_names_its_basis_so_per_day_is_not_read_as_per_dose() -> None:
    out = suggested_dose("anakinra", 24).to_json()
    assert out["mg_per_kg"] == 10 and out["mg_per_kg_basis"] == "per_day"
    assert out["per_dose"] == {"mg": 60.0, "mg_per_kg": 2.5, "every_hours": 6}
    assert out["per_day"] == {"mg": 240.0, "mg_per_kg": 10, "doses": 4}
    assert out["units"]["mg_per_kg"] == "mg/kg per day"
    assert out["units"]["dose_mg"] == "mg per dose"
    capped = suggested_dose("anakinra", 80).to_json()  # 400 mg/day cap: 5 mg/kg/day really
    assert capped["per_day"] == {"mg": 400.0, "mg_per_kg": 5, "doses": 4}
    assert capped["per_dose"]["mg_per_kg"] == 1.25
    toci = suggested_dose("tocilizumab", 24).to_json()
    assert toci["mg_per_kg_basis"] == "per_dose" and toci["per_day"] is None
    assert toci["per_dose"] == {"mg": 288.0, "mg_per_kg": 12, "every_hours": 336}
    assert toci["units"]["mg_per_kg"] == "mg/kg per dose"
