"""Trial simulator: the design law, the protocol's OR convention, and Monte Carlo checks.

Monte Carlo assertions are seeded (deterministic) and use honest bounds of 3.5 Monte Carlo
standard errors around the value the theory gives.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from combat_norse.stats.ordinal import ProportionalOdds
from combat_norse.stats.simulate import (
    DEFAULT_CONTROL_PROBS,
    PowerResult,
    TrialDesign,
    _permuted_block_experimental,
    analyse_trials,
    simulate_power,
    simulate_trials,
)

pytestmark = [pytest.mark.req("#7", "§9")]

NO_STRATUM_EFFECT = {"age_log_odds": 0.0, "window_log_odds": 0.0}


def test_default_design_is_the_protocol_assumption() -> None:
    d = TrialDesign()
    assert d.control_probs == (0.10, 0.15, 0.15, 0.15, 0.15, 0.10, 0.20)
    assert DEFAULT_CONTROL_PROBS == d.control_probs
    assert (d.n, d.allocation_ratio, d.allocation, d.alpha) == (
        438,
        (1, 1),
        "permuted_blocks",
        0.05,
    )
    assert d.block_multiples == (1, 2)  # blocks of 2 and 4 (§6)


def test_control_arm_marginal_over_strata_equals_the_assumed_distribution() -> None:
    d = TrialDesign(odds_ratio=1.6)  # stratum effects on by default
    control = d.cell_probabilities()[0]  # (4 strata, K)
    marginal = d.stratum_prevalences @ control
    np.testing.assert_allclose(marginal, d.control_probs, atol=1e-12)
    # and the strata really differ: adult/late is worse than pediatric/early
    assert control[1] @ np.arange(7) > control[2] @ np.arange(7)


def test_odds_ratio_above_one_shifts_the_experimental_arm_towards_lower_mrs() -> None:
    d = TrialDesign(odds_ratio=2.0, **NO_STRATUM_EFFECT)
    control, experimental = d.cell_probabilities()[:, 0]
    c_cum, e_cum = np.cumsum(control)[:-1], np.cumsum(experimental)[:-1]
    # odds(Y <= k | experimental) = OR * odds(Y <= k | control) for every k
    np.testing.assert_allclose((e_cum / (1 - e_cum)) / (c_cum / (1 - c_cum)), 2.0)
    trials = simulate_trials(d, 400, rng=1)
    tables = trials.tables().sum(axis=0)
    mean = tables @ np.arange(7) / tables.sum(axis=1)
    assert mean[1] < mean[0]  # experimental (row 1) has the lower mean mRS


def test_fitted_treatment_coefficient_is_minus_log_odds_ratio_under_polr() -> None:
    d = TrialDesign(odds_ratio=2.0, n=4000)
    fit = analyse_trials(simulate_trials(d, 200, rng=2), adjusted=True, backend="numpy")
    assert fit.converged.all()
    assert np.mean(fit.coef[:, 0]) == pytest.approx(-math.log(2.0), abs=0.02)
    # pediatric (better) and late (worse) come out with the polr signs of the design
    assert np.mean(fit.coef[:, 1]) == pytest.approx(-0.5, abs=0.03)
    assert np.mean(fit.coef[:, 2]) == pytest.approx(0.5, abs=0.03)


def test_type_one_error_of_the_adjusted_analysis_is_nominal() -> None:
    res = simulate_power(TrialDesign(odds_ratio=1.0), 4000, adjusted=True, seed=11)
    mcse = math.sqrt(0.05 * 0.95 / 4000)  # 0.0034
    assert res.quantity == "type_i_error"
    assert res.n_not_converged == 0
    assert abs(res.rejection_rate - 0.05) < 3.5 * mcse


def test_type_one_error_of_the_unadjusted_analysis_is_nominal_without_stratum_effects() -> None:
    # With prognostic strata, the unadjusted test of a stratified-randomized trial is
    # conservative (about 0.046 in 40,000 trials of the default design); without them it is
    # nominal.
    d = TrialDesign(odds_ratio=1.0, **NO_STRATUM_EFFECT)
    res = simulate_power(d, 4000, adjusted=False, seed=12)
    assert abs(res.rejection_rate - 0.05) < 3.5 * math.sqrt(0.05 * 0.95 / 4000)


def test_simulated_power_agrees_with_whitehead_where_the_formula_holds() -> None:
    # Whitehead (1993) describes the unadjusted analysis for modest ORs, many categories,
    # no covariate effects; large N makes the normal approximation good.
    d = TrialDesign(odds_ratio=1.35, n=800, dropout=0.0, **NO_STRATUM_EFFECT)
    res = simulate_power(d, 4000, adjusted=False, seed=13)
    assert res.whitehead_power == pytest.approx(0.678, abs=0.001)
    assert abs(res.rejection_rate - res.whitehead_power) < 3.5 * res.mcse


def test_adjusting_for_prognostic_strata_gains_power() -> None:
    d = TrialDesign(odds_ratio=1.6, age_log_odds=-1.5, window_log_odds=1.5)
    common = {"seed": 14, "backend": "numpy"}
    unadjusted = simulate_power(d, 3000, adjusted=False, **common)
    adjusted = simulate_power(d, 3000, adjusted=True, **common)
    assert adjusted.rejection_rate > unadjusted.rejection_rate + 0.03


def test_permuted_blocks_keep_every_stratum_within_two_of_balance() -> None:
    trials = simulate_trials(TrialDesign(dropout=0.0), 2000, rng=3)
    control, experimental = trials.randomized[:, 0], trials.randomized[:, 1]
    assert np.abs(experimental - control).max() <= 2
    assert (trials.randomized.sum(axis=(1, 2)) == 438).all()
    simple = simulate_trials(replace(TrialDesign(dropout=0.0), allocation="simple"), 2000, rng=3)
    assert np.abs(simple.randomized[:, 1] - simple.randomized[:, 0]).max() > 10


def test_permuted_block_counts_follow_the_sequential_algorithm() -> None:
    # Compare the vectorised law with a participant-by-participant permuted-block list.
    rng = np.random.default_rng(4)
    m = np.full(20000, 7)
    fast = _permuted_block_experimental(m, (1, 1), (1, 2), rng)
    slow = np.empty(20000, dtype=int)
    for i in range(20000):
        seq: list[int] = []
        while len(seq) < 7:
            size = int(rng.choice([2, 4]))
            seq.extend(rng.permutation([1] * (size // 2) + [0] * (size // 2)).tolist())
        slow[i] = sum(seq[:7])
    for k in range(2, 6):
        p_fast, p_slow = np.mean(fast == k), np.mean(slow == k)
        se = math.sqrt(2 * p_slow * (1 - p_slow) / 20000)
        assert abs(p_fast - p_slow) < 4 * se + 1e-3
    assert set(np.unique(fast)) <= {2, 3, 4, 5}


def test_unequal_allocation_ratio_uses_blocks_of_its_multiples() -> None:
    d = TrialDesign(allocation_ratio=(2, 1), dropout=0.0)
    trials = simulate_trials(d, 500, rng=5)
    exp, ctl = trials.randomized[:, 1], trials.randomized[:, 0]
    # blocks of 3 and 6 hold 2 experimental per 1 control
    assert np.abs(exp - 2 * ctl).max() <= 6
    assert exp.sum() / trials.randomized.sum() == pytest.approx(2 / 3, abs=0.01)


def test_dropout_removes_about_its_share_of_outcomes() -> None:
    trials = simulate_trials(TrialDesign(dropout=0.2), 2000, rng=6)
    assert trials.n_analysed.mean() == pytest.approx(438 * 0.8, rel=0.01)
    assert (trials.counts.sum(axis=2).reshape(-1, 2, 4) <= trials.randomized).all()


def test_participant_rows_reanalysed_one_by_one_give_the_batched_result() -> None:
    trials = simulate_trials(TrialDesign(odds_ratio=1.6), 5, rng=7)
    fit = analyse_trials(trials, adjusted=True, backend="numpy")
    for i in range(5):
        y, X = trials.participant_data(i)
        assert y.size == trials.n_analysed[i]
        one = ProportionalOdds().fit(y, X)
        np.testing.assert_allclose(fit.coef[i], one.coef_, atol=1e-9)
        np.testing.assert_allclose(fit.coef_se[i], one.se_[:3], rtol=1e-8)


def test_interaction_adds_a_fourth_covariate() -> None:
    trials = simulate_trials(TrialDesign(), 50, rng=8)
    fit = analyse_trials(trials, adjusted=True, interaction=True, backend="numpy")
    assert fit.coef.shape == (50, 4)
    with pytest.raises(ValueError, match="interaction"):
        analyse_trials(trials, adjusted=False, interaction=True)


def test_same_seed_same_result_and_the_result_reports_its_inputs() -> None:
    d = TrialDesign(odds_ratio=1.6)
    a = simulate_power(d, 300, seed=99, chunk_size=128, backend="numpy")
    b = simulate_power(d, 300, seed=99, chunk_size=128, backend="numpy")
    c = simulate_power(d, 300, seed=100, chunk_size=128, backend="numpy")
    assert a.rejections == b.rejections
    assert a.estimated_odds_ratio_median == b.estimated_odds_ratio_median
    assert a.estimated_odds_ratio_median != c.estimated_odds_ratio_median
    assert isinstance(a, PowerResult)
    out = a.to_dict()
    assert out["quantity"] == "power" and out["n_sims"] == 300 and out["seed"] == 99
    assert out["design"]["control_probs"] == list(d.control_probs)
    assert out["analysis"]["covariates"] == ["experimental"]
    assert out["mcse"] == pytest.approx(math.sqrt(a.rejection_rate * (1 - a.rejection_rate) / 300))


def test_progress_callback_counts_every_trial() -> None:
    seen: list[int] = []
    simulate_power(TrialDesign(), 1000, chunk_size=300, progress=seen.append, backend="numpy")
    assert seen == [300, 300, 300, 100]


def test_small_trials_with_empty_categories_are_counted_not_fatal() -> None:
    d = TrialDesign(n=16, odds_ratio=3.0)
    res = simulate_power(d, 400, adjusted=True, seed=15, backend="numpy")
    assert res.n_collapsed > 0
    assert res.n_not_converged > 0  # separation or a stratum missing in a tiny trial
    assert 0.0 <= res.rejection_rate <= 1.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"odds_ratio": 0.0}, "odds_ratio: must be > 0"),
        ({"odds_ratio": float("nan")}, "odds_ratio"),
        ({"n": 1}, "n: "),
        ({"control_probs": (0.5, 0.6)}, "sum to 1"),
        ({"control_probs": (1.0,)}, "two categories"),
        ({"dropout": 1.0}, "dropout"),
        ({"p_pediatric": 0.0}, "p_pediatric"),
        ({"allocation": "minimization"}, "allocation"),
        ({"allocation_ratio": (0, 1)}, "allocation_ratio"),
        ({"alpha": 1.5}, "alpha"),
    ],
)
def test_invalid_designs_are_refused_naming_the_field(
    change: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        TrialDesign(**change)


def test_jax_backend_reproduces_the_numpy_power() -> None:
    pytest.importorskip("jax")
    d = TrialDesign(odds_ratio=1.6)
    a = simulate_power(d, 300, adjusted=True, seed=16, backend="numpy")
    b = simulate_power(d, 300, adjusted=True, seed=16, backend="jax")
    assert b.backend == "jax"
    assert a.rejections == b.rejections
    assert a.estimated_odds_ratio_median == pytest.approx(b.estimated_odds_ratio_median, rel=1e-9)


def test_docstring_examples_run() -> None:
    import doctest

    from combat_norse.stats import simulate

    result = doctest.testmod(simulate)
    assert result.attempted > 0 and result.failed == 0
