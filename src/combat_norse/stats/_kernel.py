"""Batched Newton kernel for the cumulative-logit (proportional-odds) likelihood (NumPy).

Private module: :mod:`combat_norse.stats.ordinal` and :mod:`combat_norse.stats.batch` are the
public faces. Everything here works on a *stack* of ``B`` weighted data sets of the same shape,
so a single fit is the case ``B = 1``.

Model (MASS::polr convention), for row ``i`` of data set ``b`` with category ``y`` in
``0..K-1`` and covariates ``x``::

    logit P(Y <= k | x) = theta_k - x' beta,      k = 0..K-2,  theta increasing

With ``a = theta_y - x'beta`` and ``b = theta_{y-1} - x'beta`` (``theta_{-1} = -inf``,
``theta_{K-1} = +inf``) the row contributes ``w * log(F(a) - F(b))``; the difference is computed
stably as ``F(a) * (1 - F(b)) * (1 - exp(b - a))``. The gradient and Hessian are analytic
(see :func:`evaluate`); the log-likelihood is concave in ``(theta, beta)`` (Pratt 1981), so
Newton's method with step-halving from the null-model start converges whenever the maximum
exists.

The parameter vector is ``phi = (theta_0 .. theta_{K-2}, beta_1 .. beta_p)`` internally; the
public objects report ``beta`` first, as MASS::polr's ``vcov`` does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]

_TINY = 1e-300


@dataclass(frozen=True)
class Problem:
    """A stack of ``B`` weighted ordinal data sets with ``n`` rows each.

    ``y`` and ``X`` are either shared by all data sets (``y`` of shape ``(n,)``, ``X`` of shape
    ``(n, p)``, the compressed cell-count form where only the weights differ) or given per data
    set (``(B, n)`` and ``(B, n, p)``). ``w`` always has shape ``(B, n)``.
    """

    y: IntArray
    X: FloatArray
    w: FloatArray
    n_categories: int

    @property
    def n_sets(self) -> int:
        return int(self.w.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[-1])

    @property
    def shared(self) -> bool:
        return self.y.ndim == 1

    def take(self, index: IntArray) -> Problem:
        """The data sets ``index`` (shared arrays are kept, not copied)."""
        if self.shared:
            return Problem(self.y, self.X, self.w[index], self.n_categories)
        return Problem(self.y[index], self.X[index], self.w[index], self.n_categories)

    def keep_categories(self, keep: IntArray) -> Problem:
        """The same sets on the scale of the categories ``keep`` (the others carry no weight)."""
        K = self.n_categories
        mapping = np.clip(np.searchsorted(keep, np.arange(K)), 0, keep.size - 1).astype(np.intp)
        return Problem(mapping[self.y], self.X, self.w, int(keep.size))

    def as_rows(self) -> Problem:
        return self

    def evaluate(self, phi: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        return evaluate(self, phi)

    def loglik(self, phi: FloatArray) -> FloatArray:
        return loglik(self, phi)

    def category_weights(self) -> FloatArray:
        """Total weight in each category, shape ``(B, K)``."""
        K = self.n_categories
        if self.shared:
            onehot = (self.y[:, None] == np.arange(K)[None, :]).astype(np.float64)
            out: FloatArray = self.w @ onehot
            return out
        B = self.n_sets
        flat = (np.arange(B)[:, None] * K + self.y).ravel()
        counts = np.bincount(flat, weights=self.w.ravel(), minlength=B * K)
        return counts.reshape(B, K).astype(np.float64)


@dataclass(frozen=True)
class GroupedProblem:
    """A stack of ``B`` data sets given as cell counts over shared covariate patterns.

    ``counts[b, g, k]`` rows of set ``b`` have covariates ``Z[g]`` and category ``k`` (frequency
    weights). This is the sufficient-statistics form of categorical data: exactly the same
    likelihood as the expanded rows, at a cost that does not grow with the number of rows.

    The evaluation exploits the grid: ``F(theta_k - eta_g)`` is computed once per (pattern,
    threshold) with a single ``exp``, and the factor ``1 - exp(theta_{k-1} - theta_k)`` of an
    interior cell probability is shared by all patterns.
    """

    counts: FloatArray  # (B, G, K)
    Z: FloatArray  # (G, p)

    @property
    def n_sets(self) -> int:
        return int(self.counts.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.Z.shape[1])

    @property
    def n_categories(self) -> int:
        return int(self.counts.shape[2])

    def take(self, index: IntArray) -> GroupedProblem:
        return GroupedProblem(self.counts[index], self.Z)

    def keep_categories(self, keep: IntArray) -> GroupedProblem:
        return GroupedProblem(np.ascontiguousarray(self.counts[:, :, keep]), self.Z)

    def category_weights(self) -> FloatArray:
        out: FloatArray = self.counts.sum(axis=1)
        return out

    def as_rows(self) -> Problem:
        """The equivalent weighted-row problem (shared rows: one per pattern and category)."""
        B, G, K = self.counts.shape
        y = np.tile(np.arange(K, dtype=np.intp), G)
        X = np.repeat(self.Z, K, axis=0)
        return Problem(y, X, self.counts.reshape(B, G * K), K)

    def _grid(self, phi: FloatArray) -> tuple[FloatArray, ...]:
        K1 = self.n_categories - 1
        theta, beta = phi[:, :K1], phi[:, K1:]
        eta = beta @ self.Z.T if self.n_features else np.zeros((phi.shape[0], self.Z.shape[0]))
        A = np.clip(theta[:, None, :] - eta[:, :, None], -600.0, 600.0)  # (B, G, K1)
        E = np.exp(-A)
        F = 1.0 / (1.0 + E)
        S = E * F
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            D = -np.expm1(theta[:, :-1] - theta[:, 1:])[:, None, :]  # (B, 1, K-2)
        return A, E, F, S, D

    def _cell_probs(self, F: FloatArray, S: FloatArray, D: FloatArray) -> FloatArray:
        P = np.empty(self.counts.shape)
        P[:, :, 0] = F[:, :, 0]
        P[:, :, -1] = S[:, :, -1]
        P[:, :, 1:-1] = F[:, :, 1:] * S[:, :, :-1] * D
        return P

    def loglik(self, phi: FloatArray) -> FloatArray:
        _A, _E, F, S, D = self._grid(phi)
        P = self._cell_probs(F, S, D)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_p = np.maximum(np.log(np.maximum(P, 0.0)), -1e300)
            ll: FloatArray = (self.counts * log_p).sum(axis=(1, 2))
        ll[~_ordered(phi[:, : self.n_categories - 1])] = -np.inf
        ll[np.isnan(ll)] = -np.inf
        return ll

    def evaluate(self, phi: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Log-likelihood, gradient and Hessian (same formulas as :func:`evaluate`)."""
        B, G, K = self.counts.shape
        K1 = K - 1
        p = self.n_features
        m = K1 + p
        _A, _E, F, S, D = self._grid(phi)
        P = self._cell_probs(F, S, D)
        w = self.counts
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_p = np.maximum(np.log(np.maximum(P, 0.0)), -1e300)
            ll: FloatArray = (w * log_p).sum(axis=(1, 2))
            inv_p = 1.0 / np.maximum(P, _TINY)
            f = F * S  # density at each (pattern, threshold)
            fp = f * (S - F)  # its derivative
            # upper-bound terms exist for cells 0..K-2, lower-bound terms for cells 1..K-1
            la = np.zeros(w.shape)
            lb = np.zeros(w.shape)
            la[:, :, :K1] = f * inv_p[:, :, :K1]
            lb[:, :, 1:] = -f * inv_p[:, :, 1:]
            laa = -la * la
            laa[:, :, :K1] += fp * inv_p[:, :, :K1]
            lbb = -lb * lb
            lbb[:, :, 1:] -= fp * inv_p[:, :, 1:]
            wa, wb = w * la, w * lb
            waa, wbb, wab = w * laa, w * lbb, -(w * la * lb)
            ll[~_ordered(phi[:, :K1])] = -np.inf

            grad = np.empty((B, m))
            hess = np.zeros((B, m, m))
            grad[:, :K1] = wa.sum(axis=1)[:, :K1] + wb.sum(axis=1)[:, 1:]
            idx = np.arange(K1)
            hess[:, idx, idx] = waa.sum(axis=1)[:, :K1] + wbb.sum(axis=1)[:, 1:]
            if K1 > 1:
                off = wab.sum(axis=1)[:, 1:K1]
                hess[:, idx[1:], idx[:-1]] = off
                hess[:, idx[:-1], idx[1:]] = off
            if p > 0:
                Z = self.Z
                grad[:, K1:] = -((wa + wb).sum(axis=2) @ Z)
                M = (waa + wab)[:, :, :K1] + (wbb + wab)[:, :, 1:]  # (B, G, K1)
                htb = -(np.transpose(M, (0, 2, 1)) @ Z)  # (B, K1, p)
                hess[:, :K1, K1:] = htb
                hess[:, K1:, :K1] = np.transpose(htb, (0, 2, 1))
                h = (waa + wbb + 2.0 * wab).sum(axis=2)  # (B, G)
                outer = (Z[:, :, None] * Z[:, None, :]).reshape(G, p * p)
                hess[:, K1:, K1:] = (h @ outer).reshape(B, p, p)
        return ll, grad, hess


@dataclass(frozen=True)
class KernelResult:
    """Raw output of :func:`newton` in the internal ``(theta, beta)`` order."""

    phi: FloatArray  # (B, m)
    loglik: FloatArray  # (B,)
    cov: FloatArray  # (B, m, m), inverse observed information; NaN where singular
    converged: BoolArray  # (B,)
    n_iter: IntArray  # (B,)


def start_values(problem: Problem | GroupedProblem) -> FloatArray:
    """Null-model start: thresholds from cumulative marginal proportions, ``beta = 0``.

    Every category must carry weight (the caller collapses empty ones first).
    """
    cw = problem.category_weights()
    cum = np.cumsum(cw, axis=1)[:, :-1] / cw.sum(axis=1, keepdims=True)
    cum = np.clip(cum, 1e-12, 1.0 - 1e-12)
    theta = np.log(cum) - np.log1p(-cum)
    beta = np.zeros((problem.n_sets, problem.n_features))
    phi: FloatArray = np.concatenate([theta, beta], axis=1)
    return phi


def _linear_predictor(problem: Problem, beta: FloatArray) -> FloatArray:
    if problem.n_features == 0:
        return np.zeros(problem.w.shape)
    if problem.shared:
        eta: FloatArray = beta @ problem.X.T
        return eta
    out: FloatArray = np.einsum("bnp,bp->bn", problem.X, beta)
    return out


def _bounds(problem: Problem, theta: FloatArray, eta: FloatArray) -> tuple[FloatArray, FloatArray]:
    B = theta.shape[0]
    ext = np.empty((B, theta.shape[1] + 2))
    ext[:, 0] = -np.inf
    ext[:, -1] = np.inf
    ext[:, 1:-1] = theta
    if problem.shared:
        upper = ext[:, problem.y + 1]
        lower = ext[:, problem.y]
    else:
        upper = np.take_along_axis(ext, problem.y + 1, axis=1)
        lower = np.take_along_axis(ext, problem.y, axis=1)
    return upper - eta, lower - eta


def _ordered(theta: FloatArray) -> BoolArray:
    ok: BoolArray = np.asarray(np.isfinite(theta).all(axis=1))
    if theta.shape[1] >= 2:
        ok &= np.asarray((np.diff(theta, axis=1) > 0).all(axis=1))
    return ok


def _logistic(x: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``F(x)`` and ``1 - F(x)`` from one ``exp`` (``x`` clipped to +-600: F is 0 or 1 there)."""
    E = np.exp(-np.clip(x, -600.0, 600.0))
    F = 1.0 / (1.0 + E)
    return F, E * F


def _row_probs(problem: Problem, phi: FloatArray) -> tuple[FloatArray, ...]:
    """Per-row ``F(a), 1-F(a), F(b), 1-F(b)`` and ``P = F(a) - F(b)`` (stable product form)."""
    K1 = problem.n_categories - 1
    theta, beta = phi[:, :K1], phi[:, K1:]
    a, b = _bounds(problem, theta, _linear_predictor(problem, beta))
    Fa, Sa = _logistic(a)
    Fb, Sb = _logistic(b)
    with np.errstate(invalid="ignore", over="ignore"):
        D = -np.expm1(np.clip(b, -600.0, 600.0) - np.clip(a, -600.0, 600.0))
    return Fa, Sa, Fb, Sb, Fa * Sb * D


def _by_category(problem: Problem, values: FloatArray) -> FloatArray:
    """Sums of row quantities ``values`` (..., B, n) by category: (..., B, K)."""
    K = problem.n_categories
    if problem.shared:
        onehot = (problem.y[:, None] == np.arange(K)[None, :]).astype(np.float64)
        out: FloatArray = values @ onehot
        return out
    B, n = problem.w.shape
    lead = values.shape[:-2]
    idx = (np.arange(B)[:, None] * K + problem.y).ravel()
    flat = values.reshape(-1, B * n)
    sums = [np.bincount(idx, weights=v, minlength=B * K) for v in flat]
    return np.asarray(sums).reshape((*lead, B, K))


def loglik(problem: Problem, phi: FloatArray) -> FloatArray:
    """Log-likelihood of each data set at ``phi``; ``-inf`` where thresholds are not increasing."""
    *_, P = _row_probs(problem, phi)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_p = np.log(np.maximum(P, _TINY))  # a zero weight times it stays 0
        ll: FloatArray = (problem.w * log_p).sum(axis=1)
    ll[~_ordered(phi[:, : problem.n_categories - 1]) | ~np.isfinite(phi).all(axis=1)] = -np.inf
    ll[np.isnan(ll)] = -np.inf
    return ll


def evaluate(problem: Problem, phi: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Log-likelihood, analytic gradient and Hessian at ``phi``.

    Returns arrays of shapes ``(B,)``, ``(B, m)`` and ``(B, m, m)``, ``m = K - 1 + p``.

    For a row with upper bound ``a`` and lower bound ``b`` and ``P = F(a) - F(b)``::

        dl/da = f(a)/P              dl/db = -f(b)/P
        d2l/da2 = f'(a)/P - (dl/da)^2
        d2l/db2 = -f'(b)/P - (dl/db)^2
        d2l/dadb = -(dl/da)(dl/db)

    with ``f = F(1-F)`` and ``f' = f(1-2F)``; ``a`` depends on ``theta_y`` and ``-x``, ``b`` on
    ``theta_{y-1}`` and ``-x``, which places each term in the gradient and Hessian.
    """
    K = problem.n_categories
    K1 = K - 1
    p = problem.n_features
    B = problem.n_sets
    m = K1 + p
    Fa, Sa, Fb, Sb, P = _row_probs(problem, phi)
    w = problem.w
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        inv_p = 1.0 / np.maximum(P, _TINY)
        ll: FloatArray = (w * np.log(np.maximum(P, _TINY))).sum(axis=1)
        fa = Fa * Sa
        fb = Fb * Sb
        la = fa * inv_p
        lb = -fb * inv_p
        waa = w * (fa * (Sa - Fa) * inv_p - la * la)
        wbb = w * (-fb * (Sb - Fb) * inv_p - lb * lb)
        wab = -(w * la * lb)
        wa = w * la
        wb = w * lb
        ll[~_ordered(phi[:, :K1])] = -np.inf

        A, Bsum, AA, BB, AB = _by_category(problem, np.stack([wa, wb, waa, wbb, wab]))
        grad = np.empty((B, m))
        grad[:, :K1] = A[:, :K1] + Bsum[:, 1:]
        hess = np.zeros((B, m, m))
        idx = np.arange(K1)
        hess[:, idx, idx] = AA[:, :K1] + BB[:, 1:]
        if K1 > 1:
            sub = idx[1:]
            hess[:, sub, sub - 1] = AB[:, 1:K1]
            hess[:, sub - 1, sub] = AB[:, 1:K1]

        if p > 0:
            X = problem.X
            up_w = waa + wab  # rows where theta_y is the upper bound
            lo_w = wbb + wab  # rows where theta_{y-1} is the lower bound
            h = waa + wbb + 2.0 * wab
            if problem.shared:
                grad[:, K1:] = -((wa + wb) @ X)
                outer = (X[:, :, None] * X[:, None, :]).reshape(X.shape[0], p * p)
                hbb = (h @ outer).reshape(B, p, p)
            else:
                grad[:, K1:] = -np.matmul((wa + wb)[:, None, :], X)[:, 0, :]
                hbb = np.matmul(np.transpose(X, (0, 2, 1)), h[:, :, None] * X)
            # per-category sums of up_w * x and lo_w * x: (B, K, p)
            Xt = X.T[:, None, :] if problem.shared else np.moveaxis(X, -1, 0)  # (p, B|1, n)
            xw = np.concatenate([up_w[None] * Xt, lo_w[None] * Xt])  # (2p, B, n)
            cat = _by_category(problem, xw)  # (2p, B, K)
            up_x = np.moveaxis(cat[:p], 0, -1)
            lo_x = np.moveaxis(cat[p:], 0, -1)
            htb = -(up_x[:, :K1, :] + lo_x[:, 1:, :])  # (B, K1, p)
            hess[:, :K1, K1:] = htb
            hess[:, K1:, :K1] = np.transpose(htb, (0, 2, 1))
            hess[:, K1:, K1:] = hbb
    return ll, grad, hess


def solve_batch(matrices: FloatArray, rhs: FloatArray) -> tuple[FloatArray, BoolArray]:
    """Solve ``matrices @ x = rhs`` for each set; singular or non-finite ones get NaN, False."""
    out: FloatArray = np.full(rhs.shape, np.nan)
    ok: BoolArray = np.asarray(
        np.isfinite(matrices).all(axis=(1, 2)) & np.isfinite(rhs).all(axis=1)
    )
    if not ok.any():
        return out, ok
    idx = np.flatnonzero(ok)
    try:
        out[idx] = np.linalg.solve(matrices[idx], rhs[idx][:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:
        for i in idx:
            try:
                out[i] = np.linalg.solve(matrices[i], rhs[i])
            except np.linalg.LinAlgError:
                ok[i] = False
    ok &= np.isfinite(out).all(axis=1)
    return out, ok


def invert_batch(matrices: FloatArray) -> FloatArray:
    """Inverse of each matrix; NaN where singular or not positive definite."""
    m = matrices.shape[1]
    out = np.full(matrices.shape, np.nan)
    finite = np.isfinite(matrices).all(axis=(1, 2))
    if m == 0:
        return out
    idx = np.flatnonzero(finite)
    if idx.size:
        try:
            out[idx] = np.linalg.inv(matrices[idx])
        except np.linalg.LinAlgError:
            for i in idx:
                try:
                    out[i] = np.linalg.inv(matrices[i])
                except np.linalg.LinAlgError:
                    pass
    diag = np.diagonal(out, axis1=1, axis2=2)
    bad = ~(diag > 0).all(axis=1)
    out[bad] = np.nan
    return out


def newton(
    problem: Problem | GroupedProblem,
    phi0: FloatArray,
    *,
    tol: float = 1e-8,
    max_iter: int = 50,
    max_halving: int = 40,
) -> KernelResult:
    """Maximise each data set's log-likelihood by Newton's method with step-halving.

    A set has converged when its full Newton step is below ``tol * (1 + max|phi|)``; since the
    convergence is quadratic, the parameters are then accurate to far better than ``tol``.
    Sets whose step cannot be computed (singular information, as under collinearity) or that
    do not settle in ``max_iter`` iterations (separation: some estimate runs to infinity) are
    reported with ``converged = False``.

    Each iteration evaluates the derivatives once, at the candidate point: when the full step
    improves the log-likelihood (the usual case) they serve the next iteration, and the
    observed information at the last accepted point gives the covariance.
    """
    phi = np.array(phi0, dtype=np.float64, copy=True)
    B = phi.shape[0]
    converged = np.zeros(B, dtype=bool)
    n_iter = np.zeros(B, dtype=np.intp)
    ll, grad, hess = problem.evaluate(phi)
    active = np.flatnonzero(np.isfinite(ll))
    for _ in range(max_iter):
        if active.size == 0:
            break
        sub = problem if active.size == B else problem.take(active)
        cur = phi[active]
        cur_ll = ll[active]
        step, ok = solve_batch(-hess[active], grad[active])
        step[~ok] = 0.0
        floor = cur_ll - 1e-12 * (1.0 + np.abs(cur_ll))
        cand = cur + step
        c_ll, c_grad, c_hess = sub.evaluate(cand)
        bad = ok & ~(c_ll >= floor)
        if bad.any():
            bidx = np.flatnonzero(bad)
            bsub = sub.take(bidx)
            t = np.ones(bidx.size)
            pending = np.ones(bidx.size, dtype=bool)
            for _h in range(max_halving):
                t[pending] *= 0.5
                trial = cur[bidx] + t[:, None] * step[bidx]
                pending &= ~(bsub.loglik(trial) >= floor[bidx])
                if not pending.any():
                    break
            found = ~pending
            fixed = bidx[found]
            if fixed.size:
                cand[fixed] = cur[fixed] + t[found, None] * step[fixed]
                f_ll, f_grad, f_hess = sub.take(fixed).evaluate(cand[fixed])
                c_ll[fixed], c_grad[fixed], c_hess[fixed] = f_ll, f_grad, f_hess
            bad[fixed] = False
        stuck = bad  # no improving step even after halving: keep the current point
        moved = ~stuck
        upd = active[moved]
        phi[upd] = cand[moved]
        ll[upd] = c_ll[moved]
        grad[upd] = c_grad[moved]
        hess[upd] = c_hess[moved]
        n_iter[active] += 1
        scale = 1.0 + np.abs(cur).max(axis=1)
        done = ok & (np.abs(step).max(axis=1) <= tol * scale)
        converged[active[done]] = True
        active = active[ok & ~done & ~stuck]
    cov = invert_batch(-hess)
    converged &= np.isfinite(ll) & np.isfinite(cov).all(axis=(1, 2))
    return KernelResult(phi=phi, loglik=ll, cov=cov, converged=converged, n_iter=n_iter)
