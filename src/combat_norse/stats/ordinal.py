"""Proportional-odds (cumulative logit) regression, MASS::polr convention.

Model
-----
For an ordinal outcome ``Y`` with categories ``0 < 1 < ... < K-1`` and covariates ``x`` (no
intercept column)::

    logit P(Y <= k | x) = theta_k - x' beta,        k = 0, ..., K-2,
    theta_0 < theta_1 < ... < theta_{K-2}

This is the convention of R's ``MASS::polr`` and of statsmodels' ``OrderedModel`` (whose
thresholds are stored as the first cut-point plus log increments; :attr:`thresholds_` are the
cut-points themselves).

Sign convention
---------------
``beta_j > 0`` means that a larger ``x_j`` moves mass towards HIGHER categories. What
:meth:`ProportionalOdds.summary` calls the odds ratio is ``exp(beta_j)``: the common odds of a
HIGHER category (``Y > k`` versus ``Y <= k``, the same for every ``k``) per unit increase of
``x_j``. For the modified Rankin Scale (0 no symptoms ... 6 dead) higher is worse, so a
treatment indicator with ``exp(beta) < 1`` is beneficial. §9 states the trial's
common odds ratio the other way round (``OR > 1``: the experimental arm shifts towards LOWER,
better mRS), i.e. ``OR_protocol = exp(-beta_treatment)``; :mod:`combat_norse.stats.simulate`
reports that one.

Fitting
-------
Maximum likelihood by Newton's method with step-halving, analytic gradient and Hessian, start
at the null model (thresholds from the cumulative marginal proportions, ``beta = 0``). Frequency
weights are honoured exactly: a row with weight 3 is the same as three copies of the row.
Standard errors are the square roots of the diagonal of the inverse observed information at the
optimum (what ``MASS::polr(..., Hess = TRUE)`` and statsmodels report).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
from scipy.special import expit, ndtr, ndtri

from combat_norse.stats import _kernel
from combat_norse.stats._kernel import FloatArray, Problem
from combat_norse.stats.batch import _as_categories, _as_float, _check_weights

__all__ = ["ConvergenceWarning", "ProportionalOdds", "ProportionalOddsSummary"]


class ConvergenceWarning(UserWarning):
    """The Newton iteration did not reach a finite maximum (e.g. separation)."""


class NotFittedError(RuntimeError):
    """A fitted attribute or method was used before :meth:`ProportionalOdds.fit`."""


@dataclass(frozen=True)
class CoefficientRow:
    """One covariate of the summary table."""

    name: str
    coef: float
    se: float
    z: float
    p_value: float
    odds_ratio: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class ThresholdRow:
    """One threshold ``theta_k`` (``k|k+1``) of the summary table."""

    name: str
    value: float
    se: float


@dataclass(frozen=True)
class ProportionalOddsSummary:
    """Printable result of :meth:`ProportionalOdds.summary`.

    ``odds_ratio = exp(coef)`` is the common odds ratio of a HIGHER category per unit of the
    covariate (polr convention); ``ci_low``/``ci_high`` are Wald limits ``exp(coef -/+ z se)``
    with ``z`` the ``1 - alpha/2`` normal quantile.
    """

    coefficients: tuple[CoefficientRow, ...]
    thresholds: tuple[ThresholdRow, ...]
    nobs: float
    deviance: float
    converged: bool
    alpha: float

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (JSON-serialisable)."""
        return {
            "model": "proportional odds (cumulative logit), logit P(Y<=k) = theta_k - x'beta",
            "odds_ratio_means": "exp(beta): odds of a HIGHER category per unit x",
            "confidence_level": 1.0 - self.alpha,
            "nobs": self.nobs,
            "deviance": self.deviance,
            "converged": self.converged,
            "coefficients": [vars(r) for r in self.coefficients],
            "thresholds": [vars(r) for r in self.thresholds],
        }

    def __str__(self) -> str:
        level = f"{100 * (1 - self.alpha):g}%"
        lines = [
            "Proportional odds (cumulative logit): logit P(Y <= k | x) = theta_k - x'beta",
            f"observations (sum of weights): {self.nobs:g}   deviance: {self.deviance:.4f}"
            f"   converged: {self.converged}",
            "odds ratio = exp(beta): odds of a HIGHER category per unit of x",
            "",
            f"{'':<16}{'coef':>10}{'se':>10}{'z':>9}{'p':>10}{'OR':>10}{level + ' CI':>22}",
        ]
        for r in self.coefficients:
            lines.append(
                f"{r.name[:16]:<16}{r.coef:>10.4f}{r.se:>10.4f}{r.z:>9.3f}{r.p_value:>10.4g}"
                f"{r.odds_ratio:>10.4f}{f'{r.ci_low:.4f} – {r.ci_high:.4f}':>22}"
            )
        lines.append("")
        lines.append(f"{'thresholds':<16}{'theta':>10}{'se':>10}")
        for t in self.thresholds:
            lines.append(f"{t.name:<16}{t.value:>10.4f}{t.se:>10.4f}")
        return "\n".join(lines)


def _design(X: Any, n: int | None = None) -> tuple[FloatArray, tuple[str, ...] | None]:
    """``X`` as a float matrix, and its column names when it is DataFrame-like."""
    names: tuple[str, ...] | None = None
    if hasattr(X, "columns") and hasattr(X, "to_numpy"):
        names = tuple(str(c) for c in X.columns)
    arr = _as_float("X", X)
    if arr.ndim == 1:
        raise ValueError("X: must be 2-D (n rows, p columns); use x[:, None] for one covariate")
    if arr.ndim != 2:
        raise ValueError("X: must be 2-D (n rows, p columns)")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"X: has {arr.shape[0]} rows, y has {n}")
    return arr, names


class ProportionalOdds:
    """Proportional-odds (cumulative logit) regression with the MASS::polr sign convention.

    ``logit P(Y <= k | x) = theta_k - x' beta``; ``beta > 0`` shifts towards higher categories.

    Parameters
    ----------
    n_categories : int, optional
        Number of outcome categories ``K``; default ``max(y) + 1``. Every category
        ``0..K-1`` must be observed (with positive weight), otherwise a threshold is not
        identifiable and :meth:`fit` raises ``ValueError`` (recode the outcome first).
    tol : float
        Newton stops when the full step is below ``tol * (1 + max|params|)``; convergence is
        quadratic, so the estimates are then accurate to about ``tol**2``.
    max_iter : int
        Iteration limit; reaching it (e.g. under separation) leaves ``converged_ = False``
        and issues a :class:`ConvergenceWarning`.

    Attributes
    ----------
    coef_ : ndarray, shape (p,)
        ``beta`` in the column order of ``X``.
    thresholds_ : ndarray, shape (K-1,)
        ``theta``, increasing.
    se_ : ndarray, shape (p + K - 1,)
        Standard errors from the observed information: ``beta`` first, then ``theta``.
    cov_ : ndarray, shape (p + K - 1, p + K - 1)
        Inverse observed information, same order as ``se_``.
    deviance_ : float
        ``-2 * log-likelihood`` at the estimates.
    loglik_ : float
    converged_ : bool
    n_iter_ : int
    n_categories_ : int
    nobs_ : float
        Sum of the weights.
    feature_names_in_ : tuple of str
        Column names of a DataFrame ``X``, else ``x0, x1, ...``.

    Examples
    --------
    >>> import numpy as np
    >>> from combat_norse.stats import ProportionalOdds
    >>> x = np.repeat([0.0, 1.0], 6)
    >>> y = np.array([0, 0, 0, 1, 1, 2, 0, 1, 1, 2, 2, 2])
    >>> model = ProportionalOdds().fit(y, x[:, None])
    >>> model.coef_.round(4)  # x = 1 shifts towards higher categories: beta = log 5
    array([1.6094])
    >>> model.thresholds_.round(4)
    array([0.    , 1.6094])
    >>> model.converged_
    True
    >>> print(model.summary())  # doctest: +NORMALIZE_WHITESPACE
    Proportional odds (cumulative logit): logit P(Y <= k | x) = theta_k - x'beta
    observations (sum of weights): 12   deviance: 24.2737   converged: True
    odds ratio = exp(beta): odds of a HIGHER category per unit of x
    <BLANKLINE>
                          coef        se        z         p        OR                95% CI
    x0                  1.6094    1.1547    1.394    0.1634    5.0000      0.5201 – 48.0676
    <BLANKLINE>
    thresholds           theta        se
    0|1                 0.0000    0.7958
    1|2                 1.6094    0.9487

    Frequency weights are exact: the same data as 6 weighted rows.

    >>> xs = np.array([0.0, 0.0, 0.0, 1.0, 1.0, 1.0])
    >>> ys = np.array([0, 1, 2, 0, 1, 2])
    >>> w = np.array([3, 2, 1, 1, 2, 3])
    >>> bool(np.allclose(ProportionalOdds().fit(ys, xs[:, None], weights=w).coef_, model.coef_))
    True
    """

    coef_: FloatArray
    thresholds_: FloatArray
    se_: FloatArray
    cov_: FloatArray
    deviance_: float
    loglik_: float
    converged_: bool
    n_iter_: int
    n_categories_: int
    n_features_in_: int
    nobs_: float
    feature_names_in_: tuple[str, ...]

    def __init__(
        self, *, n_categories: int | None = None, tol: float = 1e-8, max_iter: int = 100
    ) -> None:
        self.n_categories = n_categories
        self.tol = tol
        self.max_iter = max_iter

    def __repr__(self) -> str:
        return (
            f"ProportionalOdds(n_categories={self.n_categories!r}, tol={self.tol!r}, "
            f"max_iter={self.max_iter!r})"
        )

    # ------------------------------------------------------------------ fitting

    def fit(self, y: Any, X: Any, weights: Any = None) -> Self:
        """Fit by maximum likelihood.

        Parameters
        ----------
        y : array_like of int, shape (n,)
            Categories ``0..K-1`` (a pandas Series works).
        X : array_like or DataFrame, shape (n, p)
            Covariates, no intercept column; ``p = 0`` fits thresholds only.
        weights : array_like, shape (n,), optional
            Non-negative frequency weights.

        Returns
        -------
        self
        """
        yy = _as_categories("y", y)
        if yy.ndim != 1:
            raise ValueError("y: must be 1-D")
        n = yy.shape[0]
        XX, names = _design(X, n)
        if weights is None:
            w = np.ones(n)
        else:
            w = _as_float("weights", weights)
            if w.shape != (n,):
                raise ValueError(f"weights: must have shape ({n},) like y")
            _check_weights(w)
        K = int(yy.max()) + 1 if self.n_categories is None else int(self.n_categories)
        if K < 2:
            raise ValueError("y: needs at least two categories")
        if yy.max() >= K:
            raise ValueError(f"y: categories must be < n_categories ({K})")
        problem = Problem(yy, XX, w[None, :], K)
        cw = problem.category_weights()[0]
        empty = [k for k in range(K) if cw[k] <= 0]
        if empty:
            raise ValueError(
                f"y: category {empty[0]} has no observations (with positive weight); its "
                "threshold is not identifiable: recode y to the observed categories"
            )
        res = _kernel.newton(
            problem, _kernel.start_values(problem), tol=self.tol, max_iter=self.max_iter
        )
        K1 = K - 1
        p = XX.shape[1]
        order = np.r_[np.arange(K1, K1 + p), np.arange(K1)]  # beta first, then theta
        self.coef_ = res.phi[0, K1:].copy()
        self.thresholds_ = res.phi[0, :K1].copy()
        self.cov_ = res.cov[0][np.ix_(order, order)]
        self.se_ = np.sqrt(np.diagonal(self.cov_)).copy()
        self.loglik_ = float(res.loglik[0])
        self.deviance_ = -2.0 * self.loglik_
        self.converged_ = bool(res.converged[0])
        self.n_iter_ = int(res.n_iter[0])
        self.n_categories_ = K
        self.n_features_in_ = p
        self.nobs_ = float(w.sum())
        self.feature_names_in_ = names if names is not None else tuple(f"x{j}" for j in range(p))
        if not self.converged_:
            warnings.warn(
                "proportional-odds fit did not converge (separation or collinearity?); "
                "estimates and standard errors are not reliable",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self

    # ------------------------------------------------------------------ results

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise NotFittedError("call fit() first")

    def predict_proba(self, X: Any) -> FloatArray:
        """Category probabilities ``P(Y = k | x)``, shape ``(n, K)``."""
        self._check_fitted()
        XX, _ = _design(X)
        if XX.shape[1] != self.n_features_in_:
            raise ValueError(f"X: must have {self.n_features_in_} columns")
        eta = XX @ self.coef_
        cum = expit(self.thresholds_[None, :] - eta[:, None])
        cum = np.concatenate([np.zeros((XX.shape[0], 1)), cum, np.ones((XX.shape[0], 1))], 1)
        out: FloatArray = np.diff(cum, axis=1)
        return out

    def summary(self, alpha: float = 0.05) -> ProportionalOddsSummary:
        """Coefficients with Wald z, p-values, odds ratios ``exp(beta)`` and their CIs.

        The odds ratio is that of a HIGHER category per unit of the covariate (polr
        convention); the confidence interval is ``exp(beta -/+ z_{1-alpha/2} se)``.
        """
        self._check_fitted()
        if not 0.0 < alpha < 1.0:
            raise ValueError("alpha: must be in (0, 1)")
        zq = float(ndtri(1.0 - alpha / 2.0))
        p = self.n_features_in_
        rows: list[CoefficientRow] = []
        for j, name in enumerate(self.feature_names_in_):
            b, s = float(self.coef_[j]), float(self.se_[j])
            z = b / s if s > 0 else math.nan
            rows.append(
                CoefficientRow(
                    name=name,
                    coef=b,
                    se=s,
                    z=z,
                    p_value=float(2.0 * ndtr(-abs(z))),
                    odds_ratio=math.exp(b),
                    ci_low=math.exp(b - zq * s),
                    ci_high=math.exp(b + zq * s),
                )
            )
        ths = tuple(
            ThresholdRow(name=f"{k}|{k + 1}", value=float(t), se=float(self.se_[p + k]))
            for k, t in enumerate(self.thresholds_)
        )
        return ProportionalOddsSummary(
            coefficients=tuple(rows),
            thresholds=ths,
            nobs=self.nobs_,
            deviance=self.deviance_,
            converged=self.converged_,
            alpha=alpha,
        )
