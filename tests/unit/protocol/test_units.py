"""SI conversion of laboratory counts (§3: converted on entry)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from combat_norse.protocol.units import (
    anc_si_to_per_mm3,
    as_decimal,
    per_mm3_to_si,
    platelets_si_to_per_mm3,
)


@pytest.mark.req("§3")
def test_si_counts_are_multiplied_by_1000() -> None:
    assert anc_si_to_per_mm3(2) == 2000
    assert anc_si_to_per_mm3(1.999) == 1999
    assert anc_si_to_per_mm3(1.1) == 1100  # exactly, not 1100.0000000000002
    assert platelets_si_to_per_mm3(100) == 100000
    assert platelets_si_to_per_mm3(Decimal("99.9995")) == 99999.5


@pytest.mark.req("§3")
def test_conversion_keeps_the_e5_boundary_exact() -> None:
    assert anc_si_to_per_mm3(2.0) >= 2000 > anc_si_to_per_mm3(1.9999)


@pytest.mark.req("§3")
@given(st.decimals(min_value=0, max_value=10**6, places=3))
def test_conversion_round_trips(value: Decimal) -> None:
    assert as_decimal(per_mm3_to_si(platelets_si_to_per_mm3(value))) == value


@pytest.mark.req("§3")
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), True])
def test_non_finite_and_boolean_values_are_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        anc_si_to_per_mm3(bad)
