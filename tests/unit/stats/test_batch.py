"""Batched fits equal one-at-a-time fits; compression and 2 x K tables are exact shortcuts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from combat_norse.stats import _jax, batch
from combat_norse.stats.batch import (
    compress_rows,
    fit_batch,
    fit_grouped,
    fit_tables,
    resolve_backend,
)
from combat_norse.stats.ordinal import ProportionalOdds

pytestmark = pytest.mark.req("#7")


def _stack(
    B: int, n: int, seed: int, *, continuous: bool = False, K: int = 5
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    cols: list[np.ndarray] = [rng.integers(0, 2, (B, n)), rng.integers(0, 2, (B, n))]
    cols.append(rng.normal(size=(B, n)) if continuous else rng.integers(0, 3, (B, n)))
    X = np.stack(cols, axis=-1).astype(float)
    eta = X @ np.array([0.6, -0.4, 0.3])
    cuts = np.linspace(-1.5, 1.5, K - 1)
    y = np.digitize(eta + rng.logistic(size=(B, n)), cuts)
    return y, X


def _expand(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    G, K = table.shape
    cell = np.repeat(np.arange(G * K), table.astype(int).ravel())
    return cell % K, (cell // K).astype(float)


def test_batch_estimates_equal_individual_fits() -> None:
    y, X = _stack(12, 150, seed=1, continuous=True)
    fit = fit_batch(y, X, backend="numpy")
    assert fit.converged.all()
    for b in range(12):
        one = ProportionalOdds().fit(y[b], X[b])
        np.testing.assert_allclose(fit.coef[b], one.coef_, atol=1e-9)
        np.testing.assert_allclose(fit.thresholds[b], one.thresholds_, atol=1e-9)
        np.testing.assert_allclose(fit.se[b], one.se_, rtol=1e-8)
        assert fit.deviance[b] == pytest.approx(one.deviance_, rel=1e-12)


def test_compressing_categorical_rows_into_cells_is_exact() -> None:
    y, X = _stack(30, 200, seed=2)
    rows = fit_batch(y, X, compress=False, backend="numpy")
    cells = fit_batch(y, X, compress="auto", backend="numpy")
    np.testing.assert_allclose(cells.coef, rows.coef, atol=1e-10)
    np.testing.assert_allclose(cells.thresholds, rows.thresholds, atol=1e-10)
    np.testing.assert_allclose(cells.se, rows.se, rtol=1e-9)
    np.testing.assert_allclose(cells.deviance, rows.deviance, rtol=1e-12)


def test_compression_builds_one_cell_per_pattern_and_category() -> None:
    y, X = _stack(4, 200, seed=3)
    problem = compress_rows(y, X, np.ones(y.shape), 5)
    assert problem is not None
    assert problem.counts.shape == (4, 2 * 2 * 3, 5)  # sets x patterns x categories
    assert problem.Z.shape == (12, 3)
    np.testing.assert_allclose(problem.counts.sum(axis=(1, 2)), 200)


def test_continuous_covariates_are_fitted_row_by_row() -> None:
    y, X = _stack(3, 200, seed=4, continuous=True)
    assert compress_rows(y, X, np.ones(y.shape), 5) is None
    a = fit_batch(y, X, backend="numpy")
    b = fit_batch(y, X, compress=False, backend="numpy")
    np.testing.assert_array_equal(a.coef, b.coef)


def test_two_by_k_tables_give_the_row_level_treatment_fit() -> None:
    rng = np.random.default_rng(5)
    tables = rng.integers(1, 30, size=(20, 2, 6)).astype(float)
    fit = fit_tables(tables, backend="numpy")
    for b in range(20):
        y, x = _expand(tables[b])
        one = ProportionalOdds().fit(y, x[:, None])
        np.testing.assert_allclose(fit.coef[b], one.coef_, atol=1e-9)
        np.testing.assert_allclose(fit.thresholds[b], one.thresholds_, atol=1e-9)
        np.testing.assert_allclose(fit.se[b], one.se_, rtol=1e-8)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.lists(st.integers(min_value=1, max_value=40), min_size=4, max_size=4),
        min_size=2,
        max_size=2,
    )
)
def test_table_fit_equals_weighted_row_fit_for_any_occupied_table(
    table: list[list[int]],
) -> None:
    t = np.array(table, dtype=float)
    fit = fit_tables(t[None], backend="numpy")
    x = np.repeat([0.0, 1.0], 4)
    y = np.tile(np.arange(4), 2)
    one = ProportionalOdds().fit(y, x[:, None], weights=t.ravel())
    assert fit.converged[0] == one.converged_
    if one.converged_:
        np.testing.assert_allclose(fit.coef[0], one.coef_, atol=1e-8)


def test_grouped_counts_equal_the_expanded_rows() -> None:
    rng = np.random.default_rng(6)
    patterns = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    counts = rng.integers(0, 12, size=(10, 4, 5)).astype(float)
    counts[:, :, :] += 1  # every category occupied in every pattern
    fit = fit_grouped(counts, patterns, backend="numpy")
    for b in range(10):
        y, g = _expand(counts[b])
        one = ProportionalOdds().fit(y, patterns[g.astype(int)])
        np.testing.assert_allclose(fit.coef[b], one.coef_, atol=1e-9)
        np.testing.assert_allclose(fit.se[b], one.se_, rtol=1e-8)


def test_shared_outcomes_with_per_set_weights_equal_weighted_fits() -> None:
    # bootstrap-style stack: the same rows, different frequency weights per set
    y, X = _stack(1, 120, seed=7, continuous=True)
    rng = np.random.default_rng(8)
    w = rng.integers(0, 4, size=(6, 120)).astype(float)
    fit = fit_batch(y[0], X[0], weights=w, backend="numpy")
    for b in range(6):
        one = ProportionalOdds().fit(y[0], X[0], weights=w[b])
        np.testing.assert_allclose(fit.coef[b], one.coef_, atol=1e-9)


def test_an_empty_middle_category_is_collapsed_not_fatal() -> None:
    tables = np.array(
        [
            [[5, 4, 6, 3], [2, 5, 4, 7]],
            [[5, 0, 6, 3], [2, 0, 4, 7]],  # category 1 empty in this trial
            [[0, 4, 6, 3], [0, 5, 4, 7]],  # lowest category empty
        ],
        dtype=float,
    )
    fit = fit_tables(tables, backend="numpy")
    assert fit.converged.all()
    assert fit.collapsed.tolist() == [False, True, True]
    recoded = fit_tables(np.array([[[5, 6, 3], [2, 4, 7]]], dtype=float), backend="numpy")
    assert fit.coef[1, 0] == pytest.approx(recoded.coef[0, 0], abs=1e-10)
    # merged categories: theta_0 == theta_1 (P(Y <= 0) = P(Y <= 1))
    assert fit.thresholds[1, 0] == fit.thresholds[1, 1] == pytest.approx(recoded.thresholds[0, 0])
    assert fit.thresholds[2, 0] == -np.inf
    assert np.isnan(fit.se[2, 1])  # SE of the infinite threshold
    assert np.isfinite(fit.coef_se).all()


def test_degenerate_sets_are_marked_not_converged_and_others_unaffected() -> None:
    tables = np.array(
        [
            [[5, 4, 6], [2, 5, 4]],
            [[9, 0, 0], [7, 0, 0]],  # one category only: nothing to fit
            [[6, 3, 0], [0, 0, 5]],  # complete separation: beta -> infinity
        ],
        dtype=float,
    )
    fit = fit_tables(tables, backend="numpy", max_iter=40)
    assert fit.converged.tolist() == [True, False, False]
    z, p = fit.wald(0)
    assert np.isfinite(z[0]) and np.isnan(z[1]) and np.isnan(z[2])
    single = ProportionalOdds().fit(*_expand_xy(tables[0]))
    assert fit.coef[0, 0] == pytest.approx(single.coef_[0], abs=1e-9)
    assert p[0] == pytest.approx(single.summary().coefficients[0].p_value)


def _expand_xy(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y, x = _expand(table)
    return y, x[:, None]


def test_a_covariate_constant_within_a_set_is_not_converged() -> None:
    patterns = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    counts = np.full((2, 4, 3), 4.0)
    counts[1, 2:, :] = 0.0  # second covariate never 1 in set 1
    fit = fit_grouped(counts, patterns, backend="numpy")
    assert fit.converged.tolist() == [True, False]


def test_input_shapes_are_checked() -> None:
    with pytest.raises(ValueError, match="X"):
        fit_batch(np.zeros((3, 10), dtype=int), np.zeros((3, 9, 1)))
    with pytest.raises(ValueError, match="number of data sets"):
        fit_batch(np.zeros((3, 10), dtype=int), np.zeros((4, 10, 1)))
    with pytest.raises(ValueError, match="tables"):
        fit_tables(np.ones((5, 3, 4)))
    with pytest.raises(ValueError, match=">= 0"):
        fit_grouped(-np.ones((1, 2, 3)), np.zeros((2, 1)))


def test_auto_backend_uses_numpy_without_an_accelerator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_jax, "accelerator_available", lambda: False)
    assert resolve_backend("auto") == "numpy"
    assert fit_tables(np.ones((2, 2, 3)), backend="auto").backend == "numpy"


def test_auto_backend_prefers_jax_when_an_accelerator_is_seen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_jax, "accelerator_available", lambda: True)
    assert resolve_backend("auto") == "jax"


def test_forcing_jax_without_jax_installed_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_jax, "jax_importable", lambda: False)
    with pytest.raises(RuntimeError, match="needs JAX"):
        resolve_backend("jax")
    with pytest.raises(ValueError, match="backend"):
        resolve_backend("cuda")


def test_jax_backend_gives_the_numpy_numbers() -> None:
    pytest.importorskip("jax")
    y, X = _stack(40, 120, seed=9, continuous=True)
    a = fit_batch(y, X, backend="numpy")
    b = fit_batch(y, X, backend="jax")
    assert b.backend == "jax"
    np.testing.assert_allclose(b.coef, a.coef, atol=1e-10)
    np.testing.assert_allclose(b.thresholds, a.thresholds, atol=1e-10)
    np.testing.assert_allclose(b.se, a.se, rtol=1e-9)
    np.testing.assert_array_equal(b.converged, a.converged)
    tables = np.array([[[5, 0, 6, 3], [2, 0, 4, 7]], [[6, 3, 0], [0, 0, 5]]][0:1], dtype=float)
    np.testing.assert_allclose(
        fit_tables(tables, backend="jax").coef, fit_tables(tables, backend="numpy").coef
    )


def test_module_never_imports_jax_at_import_time() -> None:
    assert "jax" not in vars(batch)
    assert "jax" not in vars(_jax)


def test_docstring_examples_run() -> None:
    import doctest

    result = doctest.testmod(batch)
    assert result.attempted > 0 and result.failed == 0
