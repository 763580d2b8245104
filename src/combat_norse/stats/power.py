"""Whitehead (1993) sample size and power for an ordinal outcome under proportional odds.

Whitehead J. Sample size calculations for ordered categorical data. *Statistics in Medicine*
1993;12:2257-2271. With allocation ratio ``A = n_experimental / n_control``, total sample size
``N`` and ``pbar_k`` the anticipated proportion in category ``k`` averaged over the two arms
(weighted by allocation), the variance of the estimated log common odds ratio is
approximately::

    V = 3 (A + 1)^2 / (A N (1 - sum_k pbar_k^3))

so that ``N = 3 (A+1)^2 (z_{1-alpha/2} + z_{1-beta})^2 / (A (log OR)^2 (1 - sum pbar^3))``
(``12 (...)^2 / ((log OR)^2 (1 - sum pbar^3))`` for 1:1). For two categories
``1 - sum pbar^3 = 3 pbar (1 - pbar)`` and ``V`` reduces to the usual logistic-regression
variance. The approximation is good for modest odds ratios, several categories and no
category dominating; it ignores covariates (it describes the unadjusted analysis).

Direction: as in §9, ``OR > 1`` means the experimental arm shifts towards LOWER
categories: ``P_E(Y <= k) = OR c_k / (1 - c_k + OR c_k)`` where ``c_k = P_C(Y <= k)``. The power
depends on the direction only through ``pbar``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.special import ndtr, ndtri

from combat_norse.stats._kernel import FloatArray


def check_probabilities(
    probs: Sequence[float] | FloatArray, name: str = "control_probs"
) -> FloatArray:
    """Validate category probabilities (>= 2 categories, non-negative, summing to 1)."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 1 or p.size < 2:
        raise ValueError(f"{name}: needs at least two categories")
    if not np.isfinite(p).all() or (p < 0).any():
        raise ValueError(f"{name}: probabilities must be finite and >= 0")
    if abs(p.sum() - 1.0) > 1e-6:
        raise ValueError(f"{name}: probabilities must sum to 1 (they sum to {p.sum():.6g})")
    out: FloatArray = p / p.sum()
    return out


def _check_or(odds_ratio: float) -> None:
    if not (math.isfinite(odds_ratio) and odds_ratio > 0):
        raise ValueError("odds_ratio: must be > 0")


def _check_alpha(alpha: float) -> None:
    if not (0.0 < alpha < 1.0):
        raise ValueError("alpha: must be in (0, 1)")


def experimental_probs(
    control_probs: Sequence[float] | FloatArray, odds_ratio: float
) -> FloatArray:
    """Category probabilities of the experimental arm under proportional odds.

    ``OR > 1`` shifts towards LOWER categories (§9):
    ``odds(Y <= k | experimental) = OR * odds(Y <= k | control)``.
    """
    p = check_probabilities(control_probs)
    _check_or(odds_ratio)
    c = np.clip(np.cumsum(p)[:-1], 0.0, 1.0)
    ce = odds_ratio * c / (1.0 - c + odds_ratio * c)
    cum = np.concatenate([[0.0], ce, [1.0]])
    out: FloatArray = np.diff(cum)
    return out


def _information_factor(
    control_probs: Sequence[float], odds_ratio: float, allocation_ratio: float
) -> float:
    if not (math.isfinite(allocation_ratio) and allocation_ratio > 0):
        raise ValueError("allocation_ratio: must be > 0")
    pc = check_probabilities(control_probs)
    pe = experimental_probs(pc, odds_ratio)
    a = allocation_ratio
    pbar = (pc + a * pe) / (1.0 + a)
    return a * (1.0 - float(np.sum(pbar**3))) / (3.0 * (a + 1.0) ** 2)


def whitehead_power(
    control_probs: Sequence[float],
    odds_ratio: float,
    n: float,
    *,
    alpha: float = 0.05,
    allocation_ratio: float = 1.0,
) -> float:
    """Power of the two-sided level-``alpha`` test for a total of ``n`` analysed participants.

    Parameters
    ----------
    control_probs : sequence of float
        Control-arm category probabilities.
    odds_ratio : float
        Common odds ratio (``> 1``: experimental arm towards lower categories).
    n : float
        Total number analysed (both arms).
    allocation_ratio : float
        ``n_experimental / n_control``.

    Returns
    -------
    float
        ``Phi(|log OR| / sqrt(V) - z) + Phi(-|log OR| / sqrt(V) - z)``,
        ``z = z_{1-alpha/2}`` (both tails, so it equals ``alpha`` at ``OR = 1``).

    Examples
    --------
    >>> probs = (0.10, 0.15, 0.15, 0.15, 0.15, 0.10, 0.20)
    >>> round(whitehead_power(probs, 1.6, 438 * 0.95), 3)
    0.781
    """
    _check_alpha(alpha)
    if not (math.isfinite(n) and n > 0):
        raise ValueError("n: must be > 0")
    info = n * _information_factor(control_probs, odds_ratio, allocation_ratio)
    delta = abs(math.log(odds_ratio)) * math.sqrt(info)
    z = float(ndtri(1.0 - alpha / 2.0))
    return float(ndtr(delta - z) + ndtr(-delta - z))


def whitehead_sample_size(
    control_probs: Sequence[float],
    odds_ratio: float,
    *,
    power: float = 0.8,
    alpha: float = 0.05,
    allocation_ratio: float = 1.0,
) -> float:
    """Total number to analyse for ``power`` (Whitehead's formula; round up, add drop-out).

    Uses the one-tail form ``(z_{1-alpha/2} + z_{power})^2`` of the paper.

    Examples
    --------
    >>> probs = (0.10, 0.15, 0.15, 0.15, 0.15, 0.10, 0.20)
    >>> round(whitehead_sample_size(probs, 1.6, power=0.8))
    436
    """
    _check_alpha(alpha)
    if not (0.0 < power < 1.0):
        raise ValueError("power: must be in (0, 1)")
    _check_or(odds_ratio)
    if odds_ratio == 1.0:
        raise ValueError("odds_ratio: must differ from 1 for a sample size")
    factor = _information_factor(control_probs, odds_ratio, allocation_ratio)
    zsum = float(ndtri(1.0 - alpha / 2.0) + ndtri(power))
    return zsum**2 / (math.log(odds_ratio) ** 2 * factor)
