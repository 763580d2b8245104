"""Batched proportional-odds fits: many data sets of the same shape fitted at once.

Same model and sign convention as :class:`combat_norse.stats.ordinal.ProportionalOdds`
(MASS::polr): ``logit P(Y <= k | x) = theta_k - x' beta``, so ``beta > 0`` moves mass towards
HIGHER categories.

Three entry points, from the most general to the fastest:

:func:`fit_batch`
    a stack of row-level data sets ``y (B, n)``, ``X (B, n, p)`` (either may be shared by all
    sets), optional frequency weights. With ``compress="auto"`` (default) rows whose covariates
    take few distinct values are first compressed EXACTLY into weighted cells (covariate
    pattern x category), which gives the same estimates and standard errors as the row-level
    fit; continuous covariates are fitted row by row.
:func:`fit_grouped`
    cell counts ``(B, G, K)`` for ``G`` covariate patterns shared by all sets (what the trial
    simulator produces).
:func:`fit_tables`
    the treatment-only model from its sufficient statistics, a ``2 x K`` table per set
    (row 0: ``x = 0``, row 1: ``x = 1``).

All of them run one vectorised Newton iteration (analytic gradient and Hessian, step-halving)
over the whole stack. Degenerate sets do not raise: a category that is empty in a set is
merged with its neighbour for that set (the maximum-likelihood estimate on the closure of the
parameter space: the two adjacent thresholds coincide, or an edge threshold is infinite, and
``beta`` is the fit of the collapsed scale), flagged in ``collapsed``; sets that cannot be
fitted (fewer than two occupied categories, separation, a covariate constant within the set)
are returned with ``converged = False`` and should be counted, not silently dropped.

Backends: ``"numpy"`` always works; ``"jax"`` uses :mod:`combat_norse.stats._jax` (JAX must be
installed; runs on whatever device JAX picks); ``"auto"`` picks JAX only when ``import jax``
works and JAX sees a non-CPU device, else NumPy. JAX is never imported at module import time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy.special import ndtr

from combat_norse.stats import _kernel
from combat_norse.stats._kernel import BoolArray, FloatArray, GroupedProblem, IntArray, Problem

Backend = Literal["auto", "numpy", "jax"]
BACKENDS: tuple[str, ...] = ("auto", "numpy", "jax")
Compress = Literal["auto"] | bool

#: Largest number of distinct values a column may take for row compression to be tried.
MAX_LEVELS = 64
#: Largest number of covariate patterns (product of the columns' levels) compression builds.
MAX_PATTERNS = 4096
#: The NumPy backend fits the stack in chunks of about this many cells (sets x rows x K).
CHUNK_ELEMENTS = 2**17


@dataclass(frozen=True)
class BatchFit:
    """Estimates for a stack of ``B`` data sets.

    Attributes
    ----------
    coef : ndarray, shape (B, p)
        ``beta`` per set, in the column order of ``X`` (polr sign convention); for a set that
        did not converge, the last iterate (NaN if it could not be fitted at all).
    thresholds : ndarray, shape (B, K-1)
        ``theta`` per set, non-decreasing; for a set with an empty category the merged
        thresholds repeat, and an empty lowest (highest) category gives ``-inf`` (``+inf``).
    se : ndarray, shape (B, p + K - 1)
        Standard errors from the observed information, ``beta`` first then ``theta``
        (MASS::polr's order); ``NaN`` for an infinite threshold or an unconverged set.
    deviance : ndarray, shape (B,)
        ``-2`` log-likelihood.
    converged : ndarray of bool, shape (B,)
    n_iter : ndarray of int, shape (B,)
        Newton iterations used.
    collapsed : ndarray of bool, shape (B,)
        Some category was empty in the set and was merged with its neighbour.
    backend : str
        ``"numpy"`` or ``"jax"``.
    """

    coef: FloatArray
    thresholds: FloatArray
    se: FloatArray
    deviance: FloatArray
    converged: BoolArray
    n_iter: IntArray
    collapsed: BoolArray
    backend: str

    @property
    def n_sets(self) -> int:
        return int(self.coef.shape[0])

    @property
    def coef_se(self) -> FloatArray:
        """Standard errors of ``beta``, shape ``(B, p)``."""
        return self.se[:, : self.coef.shape[1]]

    def wald(self, j: int = 0) -> tuple[FloatArray, FloatArray]:
        """Wald statistic ``z = beta_j / se_j`` and its two-sided p-value, per set.

        Unconverged sets get ``z = NaN`` and ``p = NaN``.
        """
        with np.errstate(invalid="ignore", divide="ignore"):
            z = self.coef[:, j] / self.coef_se[:, j]
        z = np.where(self.converged, z, np.nan)
        pval = 2.0 * ndtr(-np.abs(z))
        return z, pval


# --------------------------------------------------------------------------- backends


def jax_accelerator_available() -> bool:
    """True when JAX imports and sees a non-CPU device (never raises)."""
    from combat_norse.stats import _jax

    return _jax.accelerator_available()


def resolve_backend(backend: str) -> Literal["numpy", "jax"]:
    """Map ``"auto" | "numpy" | "jax"`` to the backend that will run.

    Raises
    ------
    ValueError
        For an unknown name.
    RuntimeError
        For ``"jax"`` when JAX cannot be imported.
    """
    if backend == "numpy":
        return "numpy"
    if backend == "jax":
        from combat_norse.stats import _jax

        if not _jax.jax_importable():
            raise RuntimeError("backend 'jax' needs JAX installed (pip install 'jax')")
        return "jax"
    if backend == "auto":
        return "jax" if jax_accelerator_available() else "numpy"
    raise ValueError(f"backend: must be one of {', '.join(BACKENDS)}, not {backend!r}")


def _run_newton(
    problem: Problem | GroupedProblem, backend: Literal["numpy", "jax"], tol: float, max_iter: int
) -> _kernel.KernelResult:
    phi0 = _kernel.start_values(problem)
    if backend == "jax":
        from combat_norse.stats import _jax

        return _jax.newton(problem.as_rows(), phi0, tol=tol, max_iter=max_iter)
    # NumPy is memory-bound: chunks whose arrays stay in cache are faster than one huge stack.
    per_set = problem.n_categories * (
        problem.counts.shape[1] if isinstance(problem, GroupedProblem) else problem.w.shape[1]
    )
    chunk = max(64, CHUNK_ELEMENTS // max(per_set, 1))
    B = problem.n_sets
    if B <= chunk:
        return _kernel.newton(problem, phi0, tol=tol, max_iter=max_iter)
    parts = []
    for start in range(0, B, chunk):
        idx = np.arange(start, min(start + chunk, B))
        parts.append(_kernel.newton(problem.take(idx), phi0[idx], tol=tol, max_iter=max_iter))
    return _kernel.KernelResult(
        phi=np.concatenate([r.phi for r in parts]),
        loglik=np.concatenate([r.loglik for r in parts]),
        cov=np.concatenate([r.cov for r in parts]),
        converged=np.concatenate([r.converged for r in parts]),
        n_iter=np.concatenate([r.n_iter for r in parts]),
    )


# --------------------------------------------------------------------------- core


def fit_problem(
    problem: Problem | GroupedProblem,
    *,
    backend: str = "auto",
    tol: float = 1e-8,
    max_iter: int = 50,
) -> BatchFit:
    """Fit every set of ``problem`` (the internal form all entry points reach)."""
    chosen = resolve_backend(backend)
    B = problem.n_sets
    K = problem.n_categories
    p = problem.n_features
    K1 = K - 1
    coef = np.full((B, p), np.nan)
    thresholds = np.full((B, K1), np.nan)
    se = np.full((B, p + K1), np.nan)
    deviance = np.full(B, np.nan)
    converged = np.zeros(B, dtype=bool)
    n_iter = np.zeros(B, dtype=np.intp)

    occupied = problem.category_weights() > 0
    n_occ = occupied.sum(axis=1)
    collapsed = (n_occ < K) & (n_occ >= 2)
    fittable = n_occ >= 2
    fit_idx = np.flatnonzero(fittable)
    if fit_idx.size:
        layouts, which = np.unique(occupied[fit_idx], axis=0, return_inverse=True)
        which = which.ravel()
    else:
        layouts, which = np.zeros((0, K), dtype=bool), np.zeros(0, dtype=np.intp)
    # one fit per layout of occupied categories (almost always a single one: all occupied)
    for u, occ in enumerate(layouts):
        idx = fit_idx[which == u]
        sub = problem if idx.size == B else problem.take(idx)
        keep = np.flatnonzero(occ).astype(np.intp)
        full = keep.size == K
        if not full:
            sub = sub.keep_categories(keep)
        res = _run_newton(sub, chosen, tol, max_iter)
        k1 = keep.size - 1
        sd = np.sqrt(np.diagonal(res.cov, axis1=1, axis2=2))
        coef[idx] = res.phi[:, k1:]
        se[idx, :p] = sd[:, k1:]
        if full:
            thresholds[idx] = res.phi[:, :k1]
            se[idx, p:] = sd[:, :k1]
        else:
            # theta_k of the full scale = collapsed threshold j with keep[j] <= k < keep[j+1]
            j = np.searchsorted(keep, np.arange(K1), side="right") - 1
            ext_theta = np.concatenate(
                [np.full((idx.size, 1), -np.inf), res.phi[:, :k1], np.full((idx.size, 1), np.inf)],
                axis=1,
            )
            ext_se = np.concatenate(
                [np.full((idx.size, 1), np.nan), sd[:, :k1], np.full((idx.size, 1), np.nan)],
                axis=1,
            )
            col = np.clip(j, -1, k1) + 1
            thresholds[idx] = ext_theta[:, col]
            se[idx, p:] = ext_se[:, col]
        deviance[idx] = -2.0 * res.loglik
        converged[idx] = res.converged
        n_iter[idx] = res.n_iter
    se[~converged] = np.nan
    return BatchFit(
        coef=coef,
        thresholds=thresholds,
        se=se,
        deviance=deviance,
        converged=converged,
        n_iter=n_iter,
        collapsed=collapsed,
        backend=chosen,
    )


# --------------------------------------------------------------------------- input checks


def _as_float(name: str, value: Any) -> FloatArray:
    if hasattr(value, "to_numpy"):
        value = value.to_numpy()
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: must be numeric") from None
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: must be finite (no NaN or infinity)")
    return arr


def _as_categories(name: str, value: Any) -> IntArray:
    if hasattr(value, "to_numpy"):
        value = value.to_numpy()
    arr = np.asarray(value)
    if arr.dtype.kind == "b" or arr.dtype.kind not in "iuf":
        raise ValueError(f"{name}: must hold integer categories 0..K-1")
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all() or not (arr == np.round(arr)).all():
            raise ValueError(f"{name}: must hold integer categories 0..K-1")
    out = arr.astype(np.intp)
    if out.size and out.min() < 0:
        raise ValueError(f"{name}: categories must be >= 0")
    return out


def _check_weights(weights: FloatArray) -> None:
    if (weights < 0).any():
        raise ValueError("weights: must be >= 0")


# --------------------------------------------------------------------------- compression


def _encode_column(values: FloatArray) -> tuple[FloatArray, IntArray] | None:
    """Distinct values of a column and each entry's index, or None for too many levels."""
    flat = values.ravel()
    head = np.unique(flat[: min(flat.size, 8192)])
    if head.size <= MAX_LEVELS:
        codes = np.clip(np.searchsorted(head, values), 0, head.size - 1)
        if (head[codes] == values).all():
            return head, codes.astype(np.intp)
    else:
        return None
    levels, inverse = np.unique(flat, return_inverse=True)
    if levels.size > MAX_LEVELS:
        return None
    return levels, inverse.reshape(values.shape).astype(np.intp)


def compress_rows(
    y: IntArray, X: FloatArray, w: FloatArray, n_categories: int, *, force: bool = False
) -> GroupedProblem | None:
    """Collapse row-level sets EXACTLY into cell counts (covariate pattern x category).

    ``y`` is ``(n,)`` or ``(B, n)``, ``X`` is ``(n, p)`` or ``(B, n, p)``, ``w`` is ``(B, n)``.
    The patterns are shared by all sets and only the counts differ. Returns None when a column
    has more than :data:`MAX_LEVELS` values, the patterns exceed :data:`MAX_PATTERNS`, or
    (unless ``force``) the cells would not be fewer than half the rows.
    """
    B, n = w.shape
    K = n_categories
    p = X.shape[-1]
    code = np.zeros(X.shape[:-1], dtype=np.intp)
    radix = 1
    level_sets: list[FloatArray] = []
    for c in range(p):
        enc = _encode_column(X[..., c])
        if enc is None:
            return None
        levels, codes = enc
        level_sets.append(levels)
        code = code + codes * radix
        radix *= levels.size
        if radix > MAX_PATTERNS:
            return None
    cell = code * K + y  # broadcasts (n,) or (B, n)
    cell = np.broadcast_to(cell, (B, n))
    n_cells = radix * K
    flat = (np.arange(B)[:, None] * n_cells + cell).ravel()
    counts = np.bincount(flat, weights=w.ravel(), minlength=B * n_cells).reshape(B, n_cells)
    cells = counts.reshape(B, radix, K)
    used = np.flatnonzero(cells.any(axis=(0, 2)))  # patterns present in some set
    if not force and used.size * K * 2 > n:
        return None
    Z = np.empty((used.size, p))
    rest = used.copy()
    for c, levels in enumerate(level_sets):
        Z[:, c] = levels[rest % levels.size]
        rest //= levels.size
    return GroupedProblem(np.ascontiguousarray(cells[:, used, :]), Z)


# --------------------------------------------------------------------------- public API


def fit_batch(
    y: Any,
    X: Any = None,
    weights: Any = None,
    *,
    n_categories: int | None = None,
    compress: Compress = "auto",
    backend: str = "auto",
    tol: float = 1e-8,
    max_iter: int = 50,
) -> BatchFit:
    """Fit the proportional-odds model to each data set of a stack at once.

    Parameters
    ----------
    y : array_like of int, shape (B, n) or (n,)
        Categories ``0..K-1``; ``(n,)`` when every set has the same outcomes.
    X : array_like, shape (B, n, p) or (n, p), optional
        Covariates without an intercept column; ``(n, p)`` when shared. None: no covariates.
    weights : array_like, shape (B, n) or (n,), optional
        Frequency weights (a weight of 3 is exactly three identical rows).
    n_categories : int, optional
        ``K``; default ``max(y) + 1``.
    compress : "auto", True or False
        Compress rows into weighted cells before fitting (exact; fast when covariates are
        categorical). "auto" does it when the cells are fewer than half the rows.
    backend : "auto", "numpy" or "jax"
    tol, max_iter
        Newton stopping rule: full step below ``tol * (1 + max|phi|)``; at most ``max_iter``
        iterations.

    Returns
    -------
    BatchFit

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.integers(0, 2, size=(100, 50)).astype(float)
    >>> y = (x + rng.logistic(size=x.shape) > 0.5).astype(int) + (rng.random(x.shape) > 0.5)
    >>> fit = fit_batch(y, x[:, :, None], backend="numpy")
    >>> fit.coef.shape, bool(fit.converged.all())
    ((100, 1), True)
    """
    yy = _as_categories("y", y)
    if yy.ndim not in (1, 2):
        raise ValueError("y: must have shape (B, n) or (n,)")
    n = yy.shape[-1]
    if X is None:
        XX = np.zeros((n, 0))
    else:
        XX = _as_float("X", X)
        if XX.ndim not in (2, 3) or XX.shape[-2] != n:
            raise ValueError("X: must have shape (B, n, p) or (n, p) with n rows like y")
    sets = [a.shape[0] for a in (yy,) if a.ndim == 2] + [XX.shape[0]] * (XX.ndim == 3)
    if weights is not None:
        ww = _as_float("weights", weights)
        if ww.ndim not in (1, 2) or ww.shape[-1] != n:
            raise ValueError("weights: must have shape (B, n) or (n,) with n rows like y")
        _check_weights(ww)
        if ww.ndim == 2:
            sets.append(ww.shape[0])
    B = sets[0] if sets else 1
    if any(s != B for s in sets):
        raise ValueError("y, X, weights: the number of data sets differs")
    w = np.ones((B, n)) if weights is None else np.broadcast_to(ww, (B, n)).astype(np.float64)
    K = int(yy.max()) + 1 if n_categories is None else int(n_categories)
    if yy.size and yy.max() >= K:
        raise ValueError(f"y: categories must be < n_categories ({K})")
    if K < 2:
        raise ValueError("y: needs at least two categories")

    problem: Problem | GroupedProblem | None = None
    if compress is not False:
        problem = compress_rows(yy, XX, w, K, force=compress is True)
    if problem is None:
        if yy.ndim == 1 and XX.ndim == 2:
            problem = Problem(yy, XX, w, K)
        else:
            y3 = np.broadcast_to(yy, (B, n))
            X3 = np.broadcast_to(XX, (B, n, XX.shape[-1]))
            problem = Problem(y3, X3, w, K)
    return fit_problem(problem, backend=backend, tol=tol, max_iter=max_iter)


def fit_grouped(
    counts: Any,
    patterns: Any = None,
    *,
    backend: str = "auto",
    tol: float = 1e-8,
    max_iter: int = 50,
) -> BatchFit:
    """Fit from cell counts: ``counts[b, g, k]`` rows with covariates ``patterns[g]``, category k.

    Exactly the row-level fit of the expanded data (frequency weights).

    Parameters
    ----------
    counts : array_like, shape (B, G, K) or (G, K)
    patterns : array_like, shape (G, p), optional
        Covariate values of each pattern, shared by all sets; None means ``p = 0``.
    """
    c = _as_float("counts", counts)
    if c.ndim == 2:
        c = c[None]
    if c.ndim != 3:
        raise ValueError("counts: must have shape (B, G, K)")
    _check_weights(c)
    _, G, K = c.shape
    if K < 2:
        raise ValueError("counts: needs at least two categories")
    Z = np.zeros((G, 0)) if patterns is None else _as_float("patterns", patterns)
    if Z.ndim != 2 or Z.shape[0] != G:
        raise ValueError("patterns: must have shape (G, p) with G = counts.shape[1]")
    problem = GroupedProblem(np.ascontiguousarray(c), Z)
    return fit_problem(problem, backend=backend, tol=tol, max_iter=max_iter)


def fit_tables(
    tables: Any, *, backend: str = "auto", tol: float = 1e-8, max_iter: int = 50
) -> BatchFit:
    """Treatment-only model from its sufficient statistics, one ``2 x K`` table per set.

    ``tables[b, 0, k]`` counts category ``k`` with ``x = 0`` (control) and ``tables[b, 1, k]``
    with ``x = 1`` (treatment). ``coef[:, 0]`` is ``beta`` for ``x`` (polr: ``beta < 0`` when
    ``x = 1`` shifts towards LOWER categories).
    """
    t = _as_float("tables", tables)
    if t.ndim == 2:
        t = t[None]
    if t.ndim != 3 or t.shape[1] != 2:
        raise ValueError("tables: must have shape (B, 2, K)")
    return fit_grouped(t, np.array([[0.0], [1.0]]), backend=backend, tol=tol, max_iter=max_iter)
