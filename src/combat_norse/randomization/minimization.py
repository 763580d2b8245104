"""Pocock–Simon minimization with a biased coin (§6, alternative design).

For a new participant with level ``l_f`` of each factor ``f``, and ``n[f, l, a]`` the number of
participants already allocated to arm ``a`` with level ``l`` of factor ``f``:

1. For each candidate arm ``a``, add the participant to ``a`` hypothetically and compute, for
   each factor, the imbalance of the counts ``n[f, l_f, ·]`` across arms: their *range*
   (max − min; with two arms, the absolute difference) or their population *variance*.
2. ``G(a) = Σ_f w_f · imbalance_f(a)``.
3. If one arm has the smallest ``G`` it is *preferred* and is assigned when ``u < p_best``, the
   other arm otherwise. If both arms have the same ``G`` (a tie) the arm is ``arms[0]`` when
   ``tie_u < 0.5`` and ``arms[1]`` otherwise.

``u`` and ``tie_u`` for the ``k``-th participant (1-based) of a list come from
:func:`minimization_uniforms`, ``PCG64(SeedSequence([seed, 3, k]))``: the whole sequence of
decisions can be replayed from the seed and the participants' levels in allocation order
(:func:`replay_minimization`). Any change to what these functions output for the same inputs
must bump :data:`MINIMIZATION_VERSION`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from combat_norse.randomization._prng import (
    DOMAIN_MINIMIZATION,
    bit_generator,
    check_count,
    check_seed,
    uniform,
)
from combat_norse.randomization.blocks import AGE_GROUPS, ARMS, ONSET_WINDOWS

MINIMIZATION_VERSION = "minimization/1"
DEFAULT_P_BEST = 0.8

FIRES_LEVELS: tuple[str, ...] = ("yes", "no", "unknown")
REGIONS: tuple[str, ...] = ("north_america", "europe", "asia")

Imbalance = Literal["range", "variance"]


@dataclass(frozen=True)
class Factor:
    """A minimization factor and its allowed levels."""

    name: str
    levels: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("factor name is empty")
        if not self.levels:
            raise ValueError(f"factor {self.name!r} has no levels")
        if len(set(self.levels)) != len(self.levels):
            raise ValueError(f"factor {self.name!r} has duplicate levels: {self.levels}")


@dataclass(frozen=True)
class MinimizationConfig:
    """The minimization design: factors, their weights, the biased coin and the measure.

    ``weights`` is parallel to ``factors``; leave it empty for equal weights of 1.
    """

    factors: tuple[Factor, ...]
    weights: tuple[float, ...] = ()
    p_best: float = DEFAULT_P_BEST
    imbalance: Imbalance = "range"
    arms: tuple[str, str] = ARMS

    def __post_init__(self) -> None:
        if not self.factors:
            raise ValueError("minimization needs at least one factor")
        names = [f.name for f in self.factors]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate factor names: {names}")
        if not self.weights:
            object.__setattr__(self, "weights", tuple(1.0 for _ in self.factors))
        if len(self.weights) != len(self.factors):
            raise ValueError(f"{len(self.weights)} weights for {len(self.factors)} factors {names}")
        for name, w in zip(names, self.weights, strict=True):
            if isinstance(w, bool) or not isinstance(w, int | float) or not w > 0:
                raise ValueError(f"weight of factor {name!r} must be a positive number, got {w!r}")
        p = self.p_best
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0.5 < p <= 1:
            raise ValueError(f"p_best must be in (0.5, 1], got {p!r}")
        if self.imbalance not in ("range", "variance"):
            raise ValueError(f"imbalance must be 'range' or 'variance', got {self.imbalance!r}")
        if len(self.arms) != 2 or len(set(self.arms)) != 2 or not all(self.arms):
            raise ValueError(f"minimization needs exactly two distinct arms, got {self.arms!r}")

    def check_levels(self, participant_levels: Mapping[str, str]) -> None:
        """Raise ValueError unless ``participant_levels`` gives a known level of every factor."""
        known = {f.name for f in self.factors}
        extra = sorted(set(participant_levels) - known)
        if extra:
            raise ValueError(f"unknown minimization factor(s) {extra}; expected {sorted(known)}")
        for f in self.factors:
            if f.name not in participant_levels:
                raise ValueError(f"missing level of minimization factor {f.name!r}")
            level = participant_levels[f.name]
            if level not in f.levels:
                raise ValueError(
                    f"unknown level {level!r} of factor {f.name!r}; expected one of {f.levels}"
                )


def default_minimization_config(
    site_codes: Sequence[str],
    weights: Sequence[float] = (),
    p_best: float = DEFAULT_P_BEST,
    imbalance: Imbalance = "range",
) -> MinimizationConfig:
    """The §6 design: age group, onset window, FIRES, region and site, p_best 0.8.

    ``site_codes`` are the trial's site codes (the site factor's levels). FIRES levels are
    ``yes``/``no``/``unknown`` (see :func:`fires_level`).
    """
    return MinimizationConfig(
        factors=(
            Factor("age_group", AGE_GROUPS),
            Factor("onset_window", ONSET_WINDOWS),
            Factor("fires", FIRES_LEVELS),
            Factor("region", REGIONS),
            Factor("site", tuple(site_codes)),
        ),
        weights=tuple(weights),
        p_best=p_best,
        imbalance=imbalance,
    )


def fires_level(fires: bool | None) -> str:
    """The FIRES factor level of a screening result's ``fires`` (``None`` = not yet known)."""
    return "unknown" if fires is None else ("yes" if fires else "no")


CountKey = tuple[str, str, str]


def _tally(
    start: Mapping[CountKey, int], allocations: Iterable[tuple[Mapping[str, str], str]]
) -> tuple[tuple[CountKey, int], ...]:
    counts = dict(start)
    for levels, arm in allocations:
        for factor, level in levels.items():
            key = (factor, level, arm)
            counts[key] = counts.get(key, 0) + 1
    return tuple(sorted(counts.items()))


@dataclass(frozen=True)
class MarginalCounts:
    """Immutable marginal totals ``(factor, level, arm) -> n`` of participants allocated so far.

    ``totals`` is the sorted tuple of non-zero ``((factor, level, arm), n)`` pairs; build it
    with :meth:`add` or :meth:`from_allocations` rather than by hand.
    """

    totals: tuple[tuple[CountKey, int], ...] = ()
    _index: Mapping[CountKey, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", MappingProxyType(dict(self.totals)))

    def get(self, factor: str, level: str, arm: str) -> int:
        """How many participants with ``level`` of ``factor`` were allocated to ``arm``."""
        return self._index.get((factor, level, arm), 0)

    def add(self, levels: Mapping[str, str], arm: str) -> MarginalCounts:
        """New counts with one more participant with ``levels`` allocated to ``arm``."""
        return MarginalCounts(_tally(self._index, [(levels, arm)]))

    @classmethod
    def from_allocations(
        cls, allocations: Iterable[tuple[Mapping[str, str], str]]
    ) -> MarginalCounts:
        """Counts of ``(levels, arm)`` pairs, e.g. rebuilt from the allocation table."""
        return cls(_tally({}, allocations))


@dataclass(frozen=True)
class MinimizationDecision:
    """The outcome of one minimization step.

    ``imbalance_by_arm`` holds ``(arm, G)`` for each candidate arm; ``preferred_arm`` is the
    arm with the smallest ``G`` (``None`` on a tie); ``probability`` is the probability with
    which the rule gave ``arm`` (``p_best``, ``1 − p_best`` or ``0.5``).
    """

    arm: str
    imbalance_by_arm: tuple[tuple[str, float], ...]
    preferred_arm: str | None
    probability: float

    def imbalance_of(self, arm: str) -> float:
        """``G`` for ``arm``."""
        for name, value in self.imbalance_by_arm:
            if name == arm:
                return value
        raise ValueError(f"unknown arm {arm!r}")


def _spread(values: Sequence[int], measure: Imbalance) -> float:
    if measure == "range":
        return float(max(values) - min(values))
    mean = sum(values) / len(values)
    return sum((v - mean) ** 2 for v in values) / len(values)


def _check_uniform(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
    return float(value)


def minimize(
    config: MinimizationConfig,
    participant_levels: Mapping[str, str],
    counts: MarginalCounts,
    u: float,
    tie_u: float,
) -> MinimizationDecision:
    """The arm for the next participant (see the module docstring for the rule).

    >>> cfg = MinimizationConfig((Factor("age_group", ("pediatric", "adult")),), p_best=1.0)
    >>> counts = MarginalCounts().add({"age_group": "adult"}, "anakinra")
    >>> minimize(cfg, {"age_group": "adult"}, counts, u=0.9, tie_u=0.1).arm
    'tocilizumab'
    """
    config.check_levels(participant_levels)
    u = _check_uniform("u", u)
    tie_u = _check_uniform("tie_u", tie_u)
    arms = config.arms

    totals: list[tuple[str, float]] = []
    for candidate in arms:
        g = 0.0
        for factor, weight in zip(config.factors, config.weights, strict=True):
            level = participant_levels[factor.name]
            after = [counts.get(factor.name, level, a) + (1 if a == candidate else 0) for a in arms]
            g += weight * _spread(after, config.imbalance)
        totals.append((candidate, g))

    (arm0, g0), (arm1, g1) = totals
    if g0 == g1:
        return MinimizationDecision(
            arm=arm0 if tie_u < 0.5 else arm1,
            imbalance_by_arm=tuple(totals),
            preferred_arm=None,
            probability=0.5,
        )
    preferred, other = (arm0, arm1) if g0 < g1 else (arm1, arm0)
    p = float(config.p_best)
    if u < p:
        return MinimizationDecision(preferred, tuple(totals), preferred, p)
    return MinimizationDecision(other, tuple(totals), preferred, 1.0 - p)


def minimization_uniforms(seed: int, sequence_number: int) -> tuple[float, float]:
    """``(u, tie_u)`` for the ``sequence_number``-th (1-based) participant of a list.

    The first two raw outputs of ``PCG64(SeedSequence([seed, 3, sequence_number]))``, each
    turned into a 53-bit uniform in [0, 1).
    """
    check_seed(seed)
    check_count("sequence_number", sequence_number, 1)
    bits = bit_generator(seed, DOMAIN_MINIMIZATION, sequence_number)
    u = uniform(bits)
    return u, uniform(bits)


def replay_minimization(
    config: MinimizationConfig,
    seed: int,
    participants_in_order: Sequence[Mapping[str, str]],
) -> list[MinimizationDecision]:
    """Every decision of a minimization list, recomputed from its seed and the participants'
    levels in allocation order (participant ``k`` uses :func:`minimization_uniforms(seed, k)`).
    """
    check_seed(seed)
    counts = MarginalCounts()
    decisions: list[MinimizationDecision] = []
    for k, levels in enumerate(participants_in_order, start=1):
        u, tie_u = minimization_uniforms(seed, k)
        decision = minimize(config, levels, counts, u, tie_u)
        decisions.append(decision)
        counts = counts.add(levels, decision.arm)
    return decisions
