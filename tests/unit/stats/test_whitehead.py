"""Whitehead (1993) sample-size formula for ordinal outcomes under proportional odds."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from combat_norse.stats import power
from combat_norse.stats.power import experimental_probs, whitehead_power, whitehead_sample_size

pytestmark = [pytest.mark.req("#7", "§9")]

MRS = (0.10, 0.15, 0.15, 0.15, 0.15, 0.10, 0.20)


def test_two_categories_reduce_to_the_logistic_variance() -> None:
    # 1 - sum pbar^3 = 3 pbar (1 - pbar), so V = 4 / (N pbar (1 - pbar)) for 1:1.
    p_c = (0.4, 0.6)
    odds_ratio, n = 1.8, 500
    pe = experimental_probs(p_c, odds_ratio)
    pbar = (p_c[0] + pe[0]) / 2
    se = math.sqrt(4 / (n * pbar * (1 - pbar)))
    z = norm.ppf(0.975)
    expected = norm.cdf(math.log(odds_ratio) / se - z) + norm.cdf(-math.log(odds_ratio) / se - z)
    assert whitehead_power(p_c, odds_ratio, n) == pytest.approx(expected, rel=1e-12)


def test_sample_size_and_power_are_inverse() -> None:
    n = whitehead_sample_size(MRS, 1.6, power=0.8)
    # the one-tail form of the paper: the far tail adds a negligible amount
    assert whitehead_power(MRS, 1.6, n) == pytest.approx(0.8, abs=1e-6)


def test_default_design_numbers() -> None:
    assert whitehead_sample_size(MRS, 1.6, power=0.8) == pytest.approx(436.18, abs=0.01)
    assert whitehead_power(MRS, 1.6, 438 * 0.95) == pytest.approx(0.7812, abs=1e-4)


def test_no_effect_gives_alpha() -> None:
    assert whitehead_power(MRS, 1.0, 438) == pytest.approx(0.05)


def test_direction_matters_only_through_the_average_distribution() -> None:
    symmetric = (0.25, 0.25, 0.25, 0.25)
    assert whitehead_power(symmetric, 1.5, 300) == pytest.approx(
        whitehead_power(symmetric, 1 / 1.5, 300)
    )


def test_experimental_arm_has_the_protocol_direction() -> None:
    pe = experimental_probs(MRS, 1.6)
    assert pe.sum() == pytest.approx(1.0)
    assert pe @ np.arange(7) < np.asarray(MRS) @ np.arange(7)


def test_unequal_allocation_needs_more_participants() -> None:
    assert whitehead_sample_size(MRS, 1.6, allocation_ratio=2.0) == pytest.approx(
        whitehead_sample_size(MRS, 1.6) * 9 / 8, rel=0.01
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"odds_ratio": -1.0}, "odds_ratio"),
        ({"alpha": 0.0}, "alpha"),
        ({"n": 0}, "n:"),
        ({"allocation_ratio": 0.0}, "allocation_ratio"),
    ],
)
def test_bad_arguments_raise(kwargs: dict[str, float], message: str) -> None:
    args = {"control_probs": MRS, "odds_ratio": 1.5, "n": 100} | kwargs
    with pytest.raises(ValueError, match=message):
        whitehead_power(**args)


def test_docstring_examples_run() -> None:
    import doctest

    assert doctest.testmod(power).failed == 0
