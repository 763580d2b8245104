"""Optional JAX backend for the batched proportional-odds fit (GPU/accelerator path).

Same model, analytic derivatives, start values and stopping rule as
:mod:`combat_norse.stats._kernel`; one data set's Newton iteration (with step-halving) is
written for a single set and ``jax.vmap``-ed over the stack, then ``jax.jit``-compiled once per
shape. Arithmetic is float64 (inside ``jax.enable_x64``), so the estimates agree with the NumPy
backend to rounding.

JAX is never imported when this module is imported: only the functions below import it, and
:func:`accelerator_available` swallows every failure, so a machine without JAX (or with a broken
one) simply uses NumPy.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
from collections.abc import Callable
from typing import Any

import numpy as np

from combat_norse.stats._kernel import FloatArray, KernelResult, Problem


@functools.cache
def jax_importable() -> bool:
    """True when ``import jax`` succeeds."""
    try:
        import jax  # noqa: F401
    except Exception:  # any failure of an optional dependency means "not available"
        return False
    return True


@functools.cache
def accelerator_available() -> bool:
    """True when JAX imports and lists at least one non-CPU device."""
    if not jax_importable():
        return False
    try:
        import jax

        return any(d.platform != "cpu" for d in jax.devices())
    except Exception:  # a JAX without a working backend
        return False


def _x64() -> contextlib.AbstractContextManager[Any]:
    import jax

    ctx = getattr(jax, "enable_x64", None)
    if ctx is not None:
        manager: contextlib.AbstractContextManager[Any] = ctx(True)
        return manager
    experimental: Any = importlib.import_module("jax.experimental")  # older JAX
    older: contextlib.AbstractContextManager[Any] = experimental.enable_x64()
    return older


@functools.cache
def _compiled(
    n_categories: int, n_features: int, shared: bool, tol: float, max_iter: int, max_halving: int
) -> Callable[..., Any]:
    import jax
    import jax.numpy as jnp
    from jax.nn import log_sigmoid as log_expit
    from jax.nn import sigmoid as expit

    K = n_categories
    K1 = K - 1
    p = n_features
    m = K1 + p
    tiny = 1e-300

    def bounds(phi: Any, y: Any, X: Any) -> tuple[Any, Any]:
        theta = phi[:K1]
        eta = X @ phi[K1:] if p else jnp.zeros(y.shape[0])
        ext = jnp.concatenate([jnp.array([-jnp.inf]), theta, jnp.array([jnp.inf])])
        return ext[y + 1] - eta, ext[y] - eta

    def ordered(phi: Any) -> Any:
        theta = phi[:K1]
        return jnp.all(jnp.diff(theta) > 0) & jnp.all(jnp.isfinite(phi))

    def loglik(phi: Any, y: Any, X: Any, w: Any) -> Any:
        a, b = bounds(phi, y, X)
        log_p = log_expit(a) + log_expit(-b) + jnp.log(-jnp.expm1(b - a))
        log_p = jnp.maximum(log_p, -1e300)
        ll = jnp.sum(w * log_p)
        return jnp.where(ordered(phi) & ~jnp.isnan(ll), ll, -jnp.inf)

    def evaluate(phi: Any, y: Any, X: Any, w: Any) -> tuple[Any, Any, Any]:
        a, b = bounds(phi, y, X)
        Fa, Sa, Fb, Sb = expit(a), expit(-a), expit(b), expit(-b)
        D = -jnp.expm1(b - a)
        P = jnp.maximum(Fa * Sb * D, tiny)
        log_p = jnp.maximum(log_expit(a) + log_expit(-b) + jnp.log(D), -1e300)
        ll = jnp.where(ordered(phi), jnp.sum(w * log_p), -jnp.inf)
        fa_p = Fa * Sa / P
        fb_p = Fb * Sb / P
        la, lb = fa_p, -fb_p
        waa = w * (fa_p * (Sa - Fa) - la * la)
        wbb = w * (-fb_p * (Sb - Fb) - lb * lb)
        wab = w * (fa_p * fb_p)
        wa, wb = w * la, w * lb
        onehot = (y[:, None] == jnp.arange(K)[None, :]).astype(jnp.float64)
        A, Bs, AA, BB, AB = jnp.stack([wa, wb, waa, wbb, wab]) @ onehot
        grad = jnp.zeros(m).at[:K1].set(A[:K1] + Bs[1:])
        idx = jnp.arange(K1)
        hess = jnp.zeros((m, m)).at[idx, idx].set(AA[:K1] + BB[1:])
        if K1 > 1:
            hess = hess.at[idx[1:], idx[:-1]].set(AB[1:K1])
            hess = hess.at[idx[:-1], idx[1:]].set(AB[1:K1])
        if p:
            grad = grad.at[K1:].set(-((wa + wb) @ X))
            up_x = onehot.T @ ((waa + wab)[:, None] * X)  # (K, p)
            lo_x = onehot.T @ ((wbb + wab)[:, None] * X)
            htb = -(up_x[:K1] + lo_x[1:])
            hess = hess.at[:K1, K1:].set(htb).at[K1:, :K1].set(htb.T)
            hess = hess.at[K1:, K1:].set(X.T @ ((waa + wbb + 2.0 * wab)[:, None] * X))
        return ll, grad, hess

    def fit_one(phi0: Any, y: Any, X: Any, w: Any) -> tuple[Any, ...]:
        def cond(state: tuple[Any, ...]) -> Any:
            _phi, it, done, alive = state
            return (it < max_iter) & ~done & alive

        def body(state: tuple[Any, ...]) -> tuple[Any, ...]:
            phi, it, _done, _alive = state
            ll, grad, hess = evaluate(phi, y, X, w)
            step = jnp.linalg.solve(-hess, grad)
            ok = jnp.all(jnp.isfinite(step))
            step = jnp.where(ok, step, 0.0)
            floor = ll - 1e-12 * (1.0 + jnp.abs(ll))

            def h_cond(hs: tuple[Any, Any]) -> Any:
                t, h = hs
                return (h < max_halving) & ~(loglik(phi + t * step, y, X, w) >= floor)

            def h_body(hs: tuple[Any, Any]) -> tuple[Any, Any]:
                t, h = hs
                return t * 0.5, h + 1

            t, _h = jax.lax.while_loop(h_cond, h_body, (jnp.float64(1.0), 0))
            improved = loglik(phi + t * step, y, X, w) >= floor
            new = jnp.where(improved, phi + t * step, phi)
            small = jnp.max(jnp.abs(step)) <= tol * (1.0 + jnp.max(jnp.abs(phi)))
            done = ok & small
            alive = ok & (improved | small)
            return new, it + 1, done, alive

        phi, it, done, _alive = jax.lax.while_loop(
            cond, body, (phi0, 0, jnp.bool_(False), jnp.bool_(True))
        )
        ll, _grad, hess = evaluate(phi, y, X, w)
        cov = jnp.linalg.inv(-hess)
        return phi, ll, cov, done, it

    axes = (0, None, None, 0) if shared else (0, 0, 0, 0)
    compiled: Callable[..., Any] = jax.jit(jax.vmap(fit_one, in_axes=axes))
    return compiled


def newton(
    problem: Problem,
    phi0: FloatArray,
    *,
    tol: float = 1e-8,
    max_iter: int = 50,
    max_halving: int = 40,
) -> KernelResult:
    """JAX twin of :func:`combat_norse.stats._kernel.newton` (same inputs and result)."""
    import jax.numpy as jnp

    fn = _compiled(
        problem.n_categories, problem.n_features, problem.shared, tol, max_iter, max_halving
    )
    # Pad the stack to a power of two (repeating set 0) so that chunks of varying size reuse
    # a handful of compiled shapes instead of compiling once per size.
    B = problem.n_sets
    size = 1 << max(B - 1, 1).bit_length()
    pad = np.r_[np.arange(B), np.zeros(size - B, dtype=np.intp)]
    y, X = problem.y, problem.X
    if not problem.shared:
        y, X = y[pad], X[pad]
    with _x64():
        out = fn(
            jnp.asarray(phi0[pad], dtype=jnp.float64),
            jnp.asarray(y),
            jnp.asarray(X, dtype=jnp.float64),
            jnp.asarray(problem.w[pad], dtype=jnp.float64),
        )
        phi, ll, cov, done, it = (np.asarray(o)[:B] for o in out)
    phi = np.array(phi, dtype=np.float64)
    cov = np.array(cov, dtype=np.float64)
    diag = np.diagonal(cov, axis1=1, axis2=2)
    bad = ~(np.isfinite(cov).all(axis=(1, 2)) & (diag > 0).all(axis=1))
    cov[bad] = np.nan
    ll = np.array(ll, dtype=np.float64)
    converged = np.asarray(done, dtype=bool) & np.isfinite(ll) & ~bad
    return KernelResult(
        phi=phi,
        loglik=ll,
        cov=cov,
        converged=converged,
        n_iter=np.asarray(it, dtype=np.intp),
    )
