"""Pocock–Simon minimization with a biased coin (§6, alternative design)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import median

import numpy as np
import pytest

from combat_norse.protocol.sites import SITES
from combat_norse.randomization import (
    ARMS,
    FIRES_LEVELS,
    MINIMIZATION_VERSION,
    REGIONS,
    Factor,
    MarginalCounts,
    MinimizationConfig,
    MinimizationDecision,
    default_minimization_config,
    fires_level,
    minimization_uniforms,
    minimize,
    replay_minimization,
)

A, T = ARMS
AGE_ONSET = MinimizationConfig(
    factors=(Factor("age_group", ("pediatric", "adult")), Factor("onset_window", ("early", "late")))
)
CONFIG = default_minimization_config([s.code for s in SITES])


def _participants(rng: np.random.Generator, n: int = 438) -> list[dict[str, str]]:
    """A trial-sized sequence: ~30 % pediatric, onset and FIRES (yes/no/unknown) uniform,
    sites uniform over the 33 registration sites (region follows the site)."""
    out = []
    for _ in range(n):
        site = SITES[int(rng.integers(len(SITES)))]
        out.append(
            {
                "age_group": "pediatric" if rng.random() < 0.3 else "adult",
                "onset_window": ("early", "late")[int(rng.integers(2))],
                "fires": FIRES_LEVELS[int(rng.integers(3))],
                "region": site.region,
                "site": site.code,
            }
        )
    return out


def _level_differences(
    participants: Sequence[Mapping[str, str]], arms: Sequence[str]
) -> Counter[tuple[str, str]]:
    """``#anakinra − #tocilizumab`` per (factor, level) at the end of the sequence."""
    diff: Counter[tuple[str, str]] = Counter()
    for levels, arm in zip(participants, arms, strict=True):
        for factor, level in levels.items():
            diff[(factor, level)] += 1 if arm == A else -1
    return diff


def _worst_level(diff: Counter[tuple[str, str]], factor: str) -> int:
    return max(abs(v) for (f, _), v in diff.items() if f == factor)


# --- the rule, by hand -----------------------------------------------------------------------


@pytest.mark.req("§6")
def test_with_p_best_one_a_simple_sequence_gives_the_hand_computed_arms() -> None:
    # (levels, tie_u) → (G(anakinra), G(tocilizumab)) → arm, worked out on paper:
    steps = [
        (("adult", "early"), 0.1, (2.0, 2.0), A),  # empty counts: tie, tie_u < 0.5 → arms[0]
        (("adult", "late"), 0.1, (3.0, 1.0), T),  # adult +1 for A already
        (("pediatric", "early"), 0.1, (3.0, 1.0), T),  # early +1 for A already
        (("pediatric", "late"), 0.1, (0.0, 4.0), A),  # pediatric and late both lean to T
        (("adult", "early"), 0.7, (2.0, 2.0), T),  # balanced: tie, tie_u ≥ 0.5 → arms[1]
        (("adult", "early"), 0.1, (0.0, 4.0), A),  # adult and early now lean to T
    ]
    config = MinimizationConfig(AGE_ONSET.factors, p_best=1.0)
    counts = MarginalCounts()
    for (age, onset), tie_u, (g_a, g_t), arm in steps:
        levels = {"age_group": age, "onset_window": onset}
        decision = minimize(config, levels, counts, u=0.999, tie_u=tie_u)
        assert decision.imbalance_by_arm == ((A, g_a), (T, g_t))
        assert decision.arm == arm
        assert decision.preferred_arm == (None if g_a == g_t else arm)
        assert decision.probability == (0.5 if g_a == g_t else 1.0)
        counts = counts.add(levels, decision.arm)
    assert counts.get("age_group", "adult", A) == 2 and counts.get("age_group", "adult", T) == 2


@pytest.mark.req("§6")
def test_biased_coin_gives_the_other_arm_when_u_is_at_or_above_p_best() -> None:
    counts = MarginalCounts().add({"age_group": "adult", "onset_window": "early"}, A)
    levels = {"age_group": "adult", "onset_window": "early"}
    preferred = minimize(AGE_ONSET, levels, counts, u=0.7999, tie_u=0.0)
    assert (preferred.arm, preferred.preferred_arm, preferred.probability) == (T, T, 0.8)
    other = minimize(AGE_ONSET, levels, counts, u=0.8, tie_u=0.0)
    assert (other.arm, other.preferred_arm) == (A, T)
    assert other.probability == pytest.approx(0.2)
    assert other.imbalance_of(A) == 4.0 and other.imbalance_of(T) == 0.0


@pytest.mark.req("§6")
def test_weights_change_which_factor_wins() -> None:
    # adult leans to A, early leans to T; an adult/early participant:
    counts = MarginalCounts.from_allocations(
        [({"age_group": "adult"}, A), ({"onset_window": "early"}, T)]
    )
    levels = {"age_group": "adult", "onset_window": "early"}

    def preferred(weights: tuple[float, float]) -> str | None:
        config = MinimizationConfig(AGE_ONSET.factors, weights=weights)
        return minimize(config, levels, counts, u=0.0, tie_u=0.0).preferred_arm

    assert preferred((1.0, 1.0)) is None  # G = 2 vs 2
    assert preferred((1.0, 3.0)) == A  # balancing onset matters more: G = 2 vs 6
    assert preferred((3.0, 1.0)) == T  # G = 6 vs 2


@pytest.mark.req("§6")
def test_variance_measure_breaks_a_tie_that_range_leaves() -> None:
    # f1 leans 3 to A, f2 leans 1 to T: range G = 4 vs 4, variance G = 4 vs 2.
    factors = (Factor("f1", ("x",)), Factor("f2", ("y",)))
    counts = MarginalCounts.from_allocations([({"f1": "x"}, A)] * 3 + [({"f2": "y"}, T)])
    levels = {"f1": "x", "f2": "y"}
    by_range = minimize(MinimizationConfig(factors), levels, counts, 0.0, 0.0)
    by_variance = minimize(
        MinimizationConfig(factors, imbalance="variance"), levels, counts, 0.0, 0.0
    )
    assert by_range.imbalance_by_arm == ((A, 4.0), (T, 4.0)) and by_range.preferred_arm is None
    assert by_variance.imbalance_by_arm == ((A, 4.0), (T, 2.0))
    assert by_variance.preferred_arm == T


@pytest.mark.req("§6")
def test_marginal_counts_are_immutable_values() -> None:
    empty = MarginalCounts()
    one = empty.add({"age_group": "adult", "site": "YNH"}, A)
    assert empty.get("age_group", "adult", A) == 0
    assert one.get("age_group", "adult", A) == 1 and one.get("site", "YNH", T) == 0
    rebuilt = MarginalCounts.from_allocations([({"site": "YNH", "age_group": "adult"}, A)])
    assert rebuilt == one and hash(rebuilt) == hash(one)


# --- replay -----------------------------------------------------------------------------------


@pytest.mark.req("§6")
def test_replay_is_deterministic_and_matches_step_by_step_allocation() -> None:
    participants = _participants(np.random.default_rng(11), n=120)
    first = replay_minimization(CONFIG, 4242, participants)
    assert first == replay_minimization(CONFIG, 4242, participants)

    counts = MarginalCounts()
    for k, (levels, decision) in enumerate(zip(participants, first, strict=True), start=1):
        u, tie_u = minimization_uniforms(4242, k)
        assert minimize(CONFIG, levels, counts, u, tie_u) == decision
        counts = counts.add(levels, decision.arm)

    other = replay_minimization(CONFIG, 4243, participants)
    assert [d.arm for d in other] != [d.arm for d in first]


@pytest.mark.req("§6")
def test_uniforms_have_a_known_answer_for_the_recorded_algorithm_version() -> None:
    """Golden values of ``minimization/1``; if they change, bump MINIMIZATION_VERSION."""
    assert MINIMIZATION_VERSION == "minimization/1"
    assert minimization_uniforms(20240601, 1) == (0.7577066955654072, 0.6694491076206293)
    assert minimization_uniforms(20240601, 438) == (0.3461982206571793, 0.8826644104342252)


@pytest.mark.req("§6")
def test_uniforms_are_uniform_on_the_unit_interval() -> None:
    draws = np.array([minimization_uniforms(99, k) for k in range(1, 2001)])
    for column in draws.T:
        assert ((0 <= column) & (column < 1)).all()
        ecdf = np.sort(column)
        n = len(ecdf)
        d = max(np.max(np.arange(1, n + 1) / n - ecdf), np.max(ecdf - np.arange(n) / n))
        assert d <= 1.63 / n**0.5  # Kolmogorov–Smirnov critical value at the 1 % level
    assert abs(np.corrcoef(draws.T)[0, 1]) <= 4 / 2000**0.5


# --- behaviour over a trial-sized sequence ---------------------------------------------------


@dataclass(frozen=True)
class Trial:
    participants: list[dict[str, str]]
    decisions: list[MinimizationDecision]
    simple_arms: list[str]  # simple (coin-flip) randomization of the same participants


@pytest.fixture(scope="module")
def trials() -> list[Trial]:
    """20 simulated 438-participant trials with seeded factor levels, seeds and coin flips."""
    out = []
    for i in range(20):
        participants = _participants(np.random.default_rng(1_000 + i))
        decisions = replay_minimization(CONFIG, 50_000 + i, participants)
        coins = np.random.default_rng(90_000 + i).random(len(participants))
        out.append(Trial(participants, decisions, [A if c < 0.5 else T for c in coins]))
    return out


# Honest bounds from 1 000 simulated trials like these (seeds 0–999, same generator): the 99th
# percentile of the worst level's final |#anakinra − #tocilizumab| per factor. Five factors,
# 33 sites and a 0.8 coin cannot hold every level within ±4: the factors compete, and a site
# with ~13 participants is balanced only modestly better than by coin flips (median worst site
# 6 vs 8). Few-level factors are far tighter: median worst level 2 vs 14–16 by coin flips.
#   factor        minimization p50 / p99 / max     simple randomization p50 / p99
#   age_group     2 / 7 / 9                         15 / 45
#   onset_window  2 / 6 / 11                        16 / 41
#   fires         2 / 8 / 14                        16 / 36
#   region        2 / 7 / 9                         14 / 50
#   site          6 / 11 / 13                        8 / 14
#   overall |#A − #T|: p50 2, p99 4, max 6
P99_WORST_LEVEL = {"age_group": 7, "onset_window": 6, "fires": 8, "region": 7, "site": 11}


@pytest.mark.req("§6")
def test_marginal_imbalance_of_every_factor_level_stays_within_the_simulated_bound(
    trials: list[Trial],
) -> None:
    trial = trials[0]
    diff = _level_differences(trial.participants, [d.arm for d in trial.decisions])
    for factor, bound in P99_WORST_LEVEL.items():
        assert _worst_level(diff, factor) <= bound, factor
    # Typical trials are much tighter than the 99th percentile.
    for factor in ("age_group", "onset_window", "fires", "region"):
        worst = [
            _worst_level(_level_differences(t.participants, [d.arm for d in t.decisions]), factor)
            for t in trials
        ]
        assert median(worst) <= 3, (factor, worst)


@pytest.mark.req("§6")
def test_minimization_balances_factors_far_better_than_simple_randomization(
    trials: list[Trial],
) -> None:
    """Σ over the 10 non-site levels of |#A − #T|, minimization vs coin flips on the same
    participants. In the 1 000 simulated trials: median 14 (coin flips ~50), 99th percentile
    28, worst 36; minimization did worse than the coin flips in 1 trial of 1 000; over blocks
    of 20 trials the ratio of the sums was 0.15 (median) and at most 0.18."""
    min_sums, coin_sums, min_site, coin_site = [], [], 0, 0
    for trial in trials:
        by_min = _level_differences(trial.participants, [d.arm for d in trial.decisions])
        by_coin = _level_differences(trial.participants, trial.simple_arms)
        min_sums.append(sum(abs(v) for (f, _), v in by_min.items() if f != "site"))
        coin_sums.append(sum(abs(v) for (f, _), v in by_coin.items() if f != "site"))
        min_site += sum(abs(v) for (f, _), v in by_min.items() if f == "site")
        coin_site += sum(abs(v) for (f, _), v in by_coin.items() if f == "site")
    assert median(min_sums) <= 18 and max(min_sums) <= 36, min_sums
    assert sum(min_sums) * 4 <= sum(coin_sums), (sum(min_sums), sum(coin_sums))
    assert min_site < coin_site


@pytest.mark.req("§6")
def test_overall_allocation_is_close_to_one_to_one(trials: list[Trial]) -> None:
    for trial in trials:
        arms = Counter(d.arm for d in trial.decisions)
        assert abs(arms[A] - arms[T]) <= 4  # 99th percentile of 1 000 simulated trials


@pytest.mark.req("§6")
def test_biased_coin_gives_the_non_preferred_arm_about_one_time_in_five(
    trials: list[Trial],
) -> None:
    with_preference = [d for t in trials for d in t.decisions if d.preferred_arm is not None]
    n = len(with_preference)
    assert n > 5_000
    share = sum(d.arm != d.preferred_arm for d in with_preference) / n
    se = (0.2 * 0.8 / n) ** 0.5  # binomial SE ≈ 0.0055
    assert abs(share - 0.2) <= 4 * se, share

    ties = [d for t in trials for d in t.decisions if d.preferred_arm is None]
    tie_share = sum(d.arm == A for d in ties) / len(ties)
    assert abs(tie_share - 0.5) <= 4 * (0.25 / len(ties)) ** 0.5, tie_share


# --- design and validation -------------------------------------------------------------------


@pytest.mark.req("§6")
def test_default_design_minimizes_over_the_five_protocol_factors() -> None:
    assert [f.name for f in CONFIG.factors] == [
        "age_group", "onset_window", "fires", "region", "site"
    ]  # fmt: skip
    assert CONFIG.p_best == 0.8 and CONFIG.imbalance == "range"
    assert CONFIG.weights == (1.0,) * 5
    assert set(REGIONS) == {s.region for s in SITES}
    assert fires_level(True) == "yes" and fires_level(False) == "no"
    assert fires_level(None) == "unknown"


@pytest.mark.req("§6")
@pytest.mark.parametrize("p_best", [0.5, 0.3, 1.01, -1.0, float("nan")])
def test_p_best_outside_half_to_one_is_rejected(p_best: float) -> None:
    with pytest.raises(ValueError, match="p_best"):
        MinimizationConfig(AGE_ONSET.factors, p_best=p_best)


@pytest.mark.req("§6")
@pytest.mark.parametrize(
    ("levels", "message"),
    [
        ({"age_group": "infant", "onset_window": "early"}, "unknown level 'infant'"),
        ({"age_group": "adult"}, "missing level of minimization factor 'onset_window'"),
        ({"age_group": "adult", "onset_window": "early", "sex": "f"}, r"unknown .*'sex'"),
    ],
)
def test_unknown_or_missing_factor_levels_are_rejected(
    levels: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        minimize(AGE_ONSET, levels, MarginalCounts(), 0.5, 0.5)


@pytest.mark.req("§6")
def test_bad_designs_and_uniforms_are_rejected_naming_the_problem() -> None:
    levels = {"age_group": "adult", "onset_window": "early"}
    with pytest.raises(ValueError, match="2 weights for 1 factors"):
        MinimizationConfig((Factor("site", ("A",)),), weights=(1.0, 2.0))
    with pytest.raises(ValueError, match="weight of factor 'site'"):
        MinimizationConfig((Factor("site", ("A",)),), weights=(0.0,))
    with pytest.raises(ValueError, match="duplicate levels"):
        Factor("site", ("A", "A"))
    with pytest.raises(ValueError, match="exactly two distinct arms"):
        MinimizationConfig(AGE_ONSET.factors, arms=(A, A))
    with pytest.raises(ValueError, match="u must be"):
        minimize(AGE_ONSET, levels, MarginalCounts(), 1.0, 0.5)
    with pytest.raises(ValueError, match="tie_u must be"):
        minimize(AGE_ONSET, levels, MarginalCounts(), 0.5, -0.1)
    with pytest.raises(ValueError, match="sequence_number"):
        minimization_uniforms(1, 0)
    with pytest.raises(ValueError, match="seed"):
        replay_minimization(AGE_ONSET, -1, [levels])
