"""Statistics engine (pure Python: NumPy/SciPy, no Django, no statsmodels).

- :class:`ProportionalOdds`: proportional-odds (cumulative logit) regression, MASS::polr
  convention ``logit P(Y <= k | x) = theta_k - x'beta``.
- :func:`fit_batch`, :func:`fit_grouped`, :func:`fit_tables`: the same model fitted to a stack
  of data sets at once (vectorised Newton; optional JAX backend).
- :class:`TrialDesign`, :func:`simulate_trials`, :func:`simulate_power`: the trial simulator
  and Monte Carlo power / type I error of the primary analysis.
- :func:`whitehead_power`, :func:`whitehead_sample_size`: Whitehead (1993) formula.

The names are loaded lazily (PEP 562), so ``import combat_norse.stats.defaults`` (the command
line does it to build its help) does not import NumPy or SciPy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from combat_norse.stats.batch import BatchFit, fit_batch, fit_grouped, fit_tables
    from combat_norse.stats.ordinal import (
        ConvergenceWarning,
        ProportionalOdds,
        ProportionalOddsSummary,
    )
    from combat_norse.stats.power import whitehead_power, whitehead_sample_size
    from combat_norse.stats.simulate import (
        PowerResult,
        SimulatedTrials,
        TrialDesign,
        analyse_trials,
        simulate_power,
        simulate_trials,
    )

_EXPORTS: dict[str, str] = {
    "BatchFit": "batch",
    "fit_batch": "batch",
    "fit_grouped": "batch",
    "fit_tables": "batch",
    "ConvergenceWarning": "ordinal",
    "ProportionalOdds": "ordinal",
    "ProportionalOddsSummary": "ordinal",
    "whitehead_power": "power",
    "whitehead_sample_size": "power",
    "PowerResult": "simulate",
    "SimulatedTrials": "simulate",
    "TrialDesign": "simulate",
    "analyse_trials": "simulate",
    "simulate_power": "simulate",
    "simulate_trials": "simulate",
}

__all__ = [
    "BatchFit",
    "ConvergenceWarning",
    "PowerResult",
    "ProportionalOdds",
    "ProportionalOddsSummary",
    "SimulatedTrials",
    "TrialDesign",
    "analyse_trials",
    "fit_batch",
    "fit_grouped",
    "fit_tables",
    "simulate_power",
    "simulate_trials",
    "whitehead_power",
    "whitehead_sample_size",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
