"""ProportionalOdds against outside references (statsmodels OrderedModel, R MASS::polr).

Reference numbers live in ``reference/polr_statsmodels.json`` with their source: the script
``reference/make_polr_reference.py`` that wrote them, its statsmodels/NumPy versions, and the
MASS::polr estimates for the UCLA data set. statsmodels' thresholds (first cut + log
increments) are stored already converted to cut-points theta.
"""

from __future__ import annotations

import doctest
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from combat_norse.stats import ordinal
from combat_norse.stats.ordinal import ConvergenceWarning, ProportionalOdds

pytestmark = pytest.mark.req("#7")

REFERENCE = Path(__file__).parent / "reference" / "polr_statsmodels.json"
DOC: dict[str, Any] = json.loads(REFERENCE.read_text(encoding="utf-8"))
DATASETS = {d["name"]: d for d in DOC["datasets"]}


def _fit(ds: dict[str, Any]) -> ProportionalOdds:
    return ProportionalOdds().fit(np.array(ds["y"]), np.array(ds["X"]), weights=ds["weights"])


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_estimates_match_statsmodels_ordered_model_to_1e_6(name: str) -> None:
    ds = DATASETS[name]
    ref = ds["statsmodels"]
    model = _fit(ds)
    assert model.converged_
    np.testing.assert_allclose(model.coef_, ref["coef"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(model.thresholds_, ref["thresholds"], rtol=0, atol=1e-6)
    assert model.loglik_ == pytest.approx(ref["loglik"], abs=1e-6)


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_standard_errors_match_statsmodels_observed_information(name: str) -> None:
    # statsmodels' Hessian is numerical (finite differences): agreement to 1e-5 relative.
    ds = DATASETS[name]
    ref = ds["statsmodels"]
    model = _fit(ds)
    expected = np.r_[ref["se_coef"], ref["se_thresholds"]]
    np.testing.assert_allclose(model.se_, expected, rtol=1e-5)


def test_ucla_example_matches_r_mass_polr_to_its_printed_precision() -> None:
    ds = DATASETS["ucla_apply"]
    polr = ds["mass_polr"]
    model = _fit(ds)
    # polr's optim() stops at reltol 1e-8 of the deviance, so its own estimates are only
    # accurate to a few 1e-4; the tight statsmodels fit above pins ours to 1e-6.
    np.testing.assert_allclose(model.coef_, polr["coef"], atol=1e-3)
    np.testing.assert_allclose(model.thresholds_, polr["thresholds"], atol=1e-3)
    np.testing.assert_allclose(model.se_[:3], polr["se_coef"], atol=1e-4)


def test_frequency_weights_equal_the_row_replicated_fit() -> None:
    ds = DATASETS["frequency_weighted_4cat"]
    y, X, w = np.array(ds["y"]), np.array(ds["X"]), np.array(ds["weights"])
    weighted = ProportionalOdds().fit(y, X, weights=w)
    reps = w.astype(int)
    replicated = ProportionalOdds().fit(np.repeat(y, reps), np.repeat(X, reps, axis=0))
    np.testing.assert_allclose(weighted.coef_, replicated.coef_, atol=1e-10)
    np.testing.assert_allclose(weighted.thresholds_, replicated.thresholds_, atol=1e-10)
    np.testing.assert_allclose(weighted.se_, replicated.se_, rtol=1e-8)
    assert weighted.deviance_ == pytest.approx(replicated.deviance_, rel=1e-12)
    assert weighted.nobs_ == replicated.nobs_ == w.sum()


def test_zero_weight_rows_are_ignored() -> None:
    ds = DATASETS["three_covariates_5cat"]
    y, X = np.array(ds["y"]), np.array(ds["X"])
    w = np.ones(y.size)
    w[:50] = 0.0
    a = ProportionalOdds().fit(y, X, weights=w)
    b = ProportionalOdds().fit(y[50:], X[50:])
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-10)


def test_positive_coefficient_means_shift_towards_higher_categories() -> None:
    # polr convention: logit P(Y <= k) = theta_k - x'beta. x = 1 has more high categories.
    x = np.repeat([0.0, 1.0], 6)
    y = np.array([0, 0, 0, 1, 1, 2, 0, 1, 1, 2, 2, 2])
    model = ProportionalOdds().fit(y, x[:, None])
    assert model.coef_[0] == pytest.approx(np.log(5.0), abs=1e-9)
    assert model.thresholds_ == pytest.approx([0.0, np.log(5.0)], abs=1e-9)
    # the summary's odds ratio is exp(beta): odds of a HIGHER category per unit x
    assert model.summary().coefficients[0].odds_ratio == pytest.approx(5.0)
    # reversing the outcome reverses the sign
    flipped = ProportionalOdds().fit(2 - y, x[:, None])
    assert flipped.coef_[0] == pytest.approx(-np.log(5.0), abs=1e-9)


def test_convention_matches_the_cumulative_probabilities_it_predicts() -> None:
    ds = DATASETS["mrs_like_strata_7cat"]
    model = _fit(ds)
    X = np.eye(3)
    probs = model.predict_proba(X)
    assert probs.shape == (3, 7)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    cum = np.cumsum(probs, axis=1)[:, :-1]
    logit = np.log(cum / (1 - cum))
    np.testing.assert_allclose(logit, model.thresholds_[None, :] - model.coef_[:, None])


def test_thresholds_are_increasing_and_se_orders_beta_before_theta() -> None:
    model = _fit(DATASETS["three_covariates_5cat"])
    assert np.all(np.diff(model.thresholds_) > 0)
    assert model.se_.shape == (3 + 4,)
    np.testing.assert_allclose(model.se_, np.sqrt(np.diag(model.cov_)))
    assert model.deviance_ == pytest.approx(-2 * model.loglik_)


def test_dataframe_columns_name_the_coefficients() -> None:
    pd = pytest.importorskip("pandas")
    ds = DATASETS["ucla_apply"]
    frame = pd.DataFrame(ds["X"], columns=ds["columns"])
    model = ProportionalOdds().fit(pd.Series(ds["y"]), frame)
    assert model.feature_names_in_ == ("pared", "public", "gpa")
    summary = model.summary()
    assert [r.name for r in summary.coefficients] == ["pared", "public", "gpa"]
    row = summary.coefficients[0]
    assert row.odds_ratio == pytest.approx(np.exp(row.coef))
    assert row.ci_low == pytest.approx(np.exp(row.coef - 1.959963985 * row.se))
    assert row.ci_high == pytest.approx(np.exp(row.coef + 1.959963985 * row.se))
    text = str(summary)
    assert "pared" in text and "95% CI" in text and "HIGHER" in text
    assert summary.to_dict()["coefficients"][2]["name"] == "gpa"


def test_docstring_examples_run() -> None:
    result = doctest.testmod(ordinal, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 5
    assert result.failed == 0


def test_empty_category_is_refused_with_a_clear_message() -> None:
    y = np.array([0, 0, 2, 2, 0, 2])
    with pytest.raises(ValueError, match="category 1 has no observations"):
        ProportionalOdds().fit(y, np.arange(6.0)[:, None])


@pytest.mark.parametrize(
    ("y", "X", "weights", "message"),
    [
        ([0, 1, 1.5], [[0.0], [1.0], [2.0]], None, "integer categories"),
        ([0, 1, -1], [[0.0], [1.0], [2.0]], None, ">= 0"),
        ([0, 1, 2], [0.0, 1.0, 2.0], None, "2-D"),
        ([0, 1, 2], [[0.0], [1.0]], None, "rows"),
        ([0, 1, 2], [[0.0], [np.nan], [2.0]], None, "finite"),
        ([0, 1, 2], [[0.0], [1.0], [2.0]], [1.0, -1.0, 1.0], "weights"),
        ([0, 0, 0], [[0.0], [1.0], [2.0]], None, "two categories"),
    ],
)
def test_bad_inputs_raise_value_error_naming_the_argument(
    y: Any, X: Any, weights: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ProportionalOdds().fit(y, X, weights=weights)


def test_separation_warns_and_reports_not_converged() -> None:
    x = np.array([0.0, 0.0, 0.0, 1.0, 1.0, 1.0])
    y = np.array([0, 0, 1, 2, 2, 2])  # x = 1 only in the top category: beta -> infinity
    with pytest.warns(ConvergenceWarning):
        model = ProportionalOdds(max_iter=30).fit(y, x[:, None])
    assert not model.converged_


def test_thresholds_only_model_reproduces_marginal_proportions() -> None:
    y = np.array([0] * 2 + [1] * 5 + [2] * 3)
    model = ProportionalOdds().fit(y, np.zeros((10, 0)))
    np.testing.assert_allclose(model.thresholds_, np.log([0.2 / 0.8, 0.7 / 0.3]), atol=1e-10)


def test_live_refit_with_statsmodels_agrees() -> None:
    sm = pytest.importorskip("statsmodels.miscmodels.ordinal_model")
    rng = np.random.default_rng(7)
    X = np.column_stack([rng.integers(0, 2, 150), rng.normal(size=150)]).astype(float)
    y = np.digitize(X @ [0.9, -0.5] + rng.logistic(size=150), [-1.0, 0.3, 1.5])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = sm.OrderedModel(y, X, distr="logit").fit(method="bfgs", disp=False, gtol=1e-10)
    theta = ref.model.transform_threshold_params(ref.params)[1:-1]
    model = ProportionalOdds().fit(y, X)
    np.testing.assert_allclose(model.coef_, ref.params[:2], atol=1e-6)
    np.testing.assert_allclose(model.thresholds_, theta, atol=1e-6)
