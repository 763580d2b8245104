"""Batched proportional-odds fits vs a loop of statsmodels OrderedModel, on identical trials.

Run (one run prints everything; a few seconds plus ~0.1 s per statsmodels fit)::

    .venv/bin/python benchmarks/simulation.py [--sm-trials 50] [--batch 20000] [--seed 1]

What is compared
----------------
``--batch`` trials of the default design (§9: N 438, control mRS 0..6
0.10/0.15/0.15/0.15/0.15/0.10/0.20, common OR 1.6, 1:1 permuted blocks within age group x
onset window, 5 % drop-out) are simulated once. The first ``--sm-trials`` of them are fitted
one by one by statsmodels ``OrderedModel(y, X, distr="logit").fit(method="bfgs")`` on the
participant rows (``gtol=1e-8``: statsmodels' default ``gtol=1e-5`` stops about 5e-5 away from
the maximum, which would make ``max |dbeta| < 1e-6`` unattainable for the reference, not for
us). Our paths fit ALL ``--batch`` trials (the statsmodels trials among them) and ``max |dbeta|``
is taken over the common trials:

- adjusted model, 3 covariates (experimental, pediatric, late; all CATEGORICAL):
  * ``cells``: from the 8 x 7 cell counts the simulator produces (exact frequency weights);
  * ``rows -> cells``: from the participant rows (zero-weight padded to a common length),
    compressed exactly into cells by ``fit_batch`` (compression time included);
  * ``rows``: the general row-level batched Newton (``compress=False``), as used for
    continuous covariates, on the first ``--rows-batch`` trials;
- treatment only: ``2 x K`` tables (sufficient statistics) and the general row path.

Trials/s = trials fitted / wall-clock seconds of the fit call (simulation and row expansion are
set-up, not timed, except the compression inside ``fit_batch``). Ratio = ours / statsmodels.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from statsmodels.miscmodels.ordinal_model import OrderedModel

from combat_norse.stats import TrialDesign, simulate_power, simulate_trials
from combat_norse.stats.batch import BatchFit, fit_batch, fit_grouped, fit_tables

SM_LABEL = "statsmodels OrderedModel bfgs loop"


def padded_rows(trials: Any, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Participant rows of the first ``count`` trials, padded with zero-weight rows."""
    rows = [trials.participant_data(i) for i in range(count)]
    n_max = max(y.size for y, _ in rows)
    y = np.zeros((count, n_max), dtype=int)
    X = np.zeros((count, n_max, 3))
    w = np.zeros((count, n_max))
    for i, (yi, Xi) in enumerate(rows):
        y[i, : yi.size], X[i, : yi.size], w[i, : yi.size] = yi, Xi, 1.0
    return y, X, w


def statsmodels_loop(trials: Any, count: int, columns: list[int]) -> tuple[np.ndarray, float]:
    coefs = []
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(count):
            y, X = trials.participant_data(i)
            res = OrderedModel(y, X[:, columns], distr="logit").fit(
                method="bfgs", disp=False, gtol=1e-8, maxiter=2000
            )
            coefs.append(np.asarray(res.params[: len(columns)]))
    return np.array(coefs), time.perf_counter() - started


def timed(fn: Callable[[], BatchFit]) -> tuple[BatchFit, float]:
    started = time.perf_counter()
    fit = fn()
    return fit, time.perf_counter() - started


def report(
    label: str, fit: BatchFit, seconds: float, ref: np.ndarray, sm_rate: float
) -> dict[str, float]:
    n = fit.n_sets
    rate = n / seconds
    common = min(ref.shape[0], n)
    dbeta = float(np.abs(fit.coef[:common] - ref[:common]).max())
    print(
        f"  {label:<34}{n:>7}{seconds:>9.3f}{rate:>12.0f}{rate / sm_rate:>10.0f}x"
        f"{dbeta:>12.1e}   not converged: {int((~fit.converged).sum())}"
    )
    return {"trials_per_s": rate, "ratio": rate / sm_rate, "max_abs_dbeta": dbeta}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sm-trials", type=int, default=50, help="trials fitted by statsmodels")
    parser.add_argument("--batch", type=int, default=20000, help="trials fitted by us")
    parser.add_argument("--rows-batch", type=int, default=2000, help="trials for the row path")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--odds-ratio", type=float, default=1.6)
    parser.add_argument("--backends", default="numpy",
                        help="end-to-end backends to time, e.g. numpy,jax (jax: the GPU path)")
    parser.add_argument("--power-trials", type=int, default=20000,
                        help="trials of the end-to-end simulate_power runs")
    args = parser.parse_args()

    design = TrialDesign(odds_ratio=args.odds_ratio)
    trials = simulate_trials(design, args.batch, rng=args.seed)
    rows_count = min(args.rows_batch, args.batch)
    y, X, w = padded_rows(trials, rows_count)
    fit_batch(y[:2], X[:2], weights=w[:2], backend="numpy")  # warm-up (imports, caches)
    header = (
        f"  {'path':<34}{'trials':>7}{'seconds':>9}{'trials/s':>12}{'ratio':>11}{'max|dbeta|':>12}"
    )
    print(
        f"design: N {design.n}, OR {design.odds_ratio}, {args.batch} simulated trials "
        f"(seed {args.seed}); mean analysed {trials.n_analysed.mean():.1f}"
    )

    print("\nadjusted: experimental + pediatric + late (3 categorical covariates)")
    ref, sm_s = statsmodels_loop(trials, args.sm_trials, [0, 1, 2])
    sm_rate = args.sm_trials / sm_s
    print(header)
    print(f"  {SM_LABEL:<34}{args.sm_trials:>7}{sm_s:>9.3f}{sm_rate:>12.1f}")
    patterns = trials.patterns()
    adj = {}
    fit, s = timed(lambda: fit_grouped(trials.counts, patterns, backend="numpy"))
    adj["cells"] = report("batched, from cell counts", fit, s, ref, sm_rate)
    fit, s = timed(lambda: fit_batch(y, X, weights=w, backend="numpy"))
    adj["rows_to_cells"] = report("batched, rows -> exact cells", fit, s, ref, sm_rate)
    fit, s = timed(lambda: fit_batch(y, X, weights=w, compress=False, backend="numpy"))
    adj["rows"] = report("batched, general row path", fit, s, ref, sm_rate)

    print("\ntreatment only")
    ref1, sm1_s = statsmodels_loop(trials, args.sm_trials, [0])
    sm1_rate = args.sm_trials / sm1_s
    print(header)
    print(f"  {SM_LABEL:<34}{args.sm_trials:>7}{sm1_s:>9.3f}{sm1_rate:>12.1f}")
    fit, s = timed(lambda: fit_tables(trials.tables(), backend="numpy"))
    trt = report("batched, 2 x K tables", fit, s, ref1, sm1_rate)
    fit, s = timed(lambda: fit_batch(y, X[:, :, :1], weights=w, compress=False, backend="numpy"))
    report("batched, general row path", fit, s, ref1, sm1_rate)

    n = args.power_trials
    print(f"\nend to end (simulate + analyse, simulate_power, {n} trials; the same seed on each "
          "backend gives the same trials)")
    for backend in args.backends.split(","):
        simulate_power(design, 200, adjusted=True, seed=args.seed, backend=backend)  # warm-up
        for adjusted in (True, False):
            started = time.perf_counter()
            res = simulate_power(design, n, adjusted=adjusted, seed=args.seed, backend=backend)
            sec = time.perf_counter() - started
            print(
                f"  {backend:<6}{'adjusted' if adjusted else 'unadjusted':<12}{n / sec:>10.0f} "
                f"trials/s   power {res.rejection_rate:.4f} (MCSE {res.mcse:.4f}), "
                f"ran on {res.backend}"
            )

    ok_adj = adj["cells"]["ratio"] >= 150 and adj["cells"]["max_abs_dbeta"] < 1e-6
    ok_trt = trt["ratio"] >= 1000 and trt["max_abs_dbeta"] < 1e-6
    print(
        f"\ntargets: adjusted >= 150x and |dbeta| < 1e-6: {'met' if ok_adj else 'NOT met'}; "
        f"treatment-only >= 1000x and |dbeta| < 1e-6: {'met' if ok_trt else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
