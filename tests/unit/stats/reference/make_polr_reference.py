"""Regenerate ``polr_statsmodels.json``: statsmodels' OrderedModel fits kept as references.

Run from the repository root with the dev dependencies installed::

    .venv/bin/python tests/unit/stats/reference/make_polr_reference.py

Every data set is synthetic with a fixed seed, except ``ucla_apply`` (400 rows from the UCLA
IDRE ordinal-logistic-regression example, ``ologit_ucla.csv`` beside this file, copied from
statsmodels' test data, BSD-3-Clause), whose MASS::polr estimates (R 3.4.4, as quoted in
statsmodels/miscmodels/tests/results/results_ordinal_model.py) are stored too.

statsmodels parametrizes the thresholds as the first cut-point followed by log increments; the
script converts them to the cut-points theta (``transform_threshold_params``) and their
covariance by the delta method. Fits are tight: BFGS (gtol 1e-10) then Newton (tol 1e-12)
from the BFGS solution. A frequency-weighted data set is fitted by statsmodels on its
row-replicated form (OrderedModel has no weights), which is what the weights must reproduce.
"""

from __future__ import annotations

import json
import platform
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy
import statsmodels
from statsmodels.miscmodels.ordinal_model import OrderedModel

HERE = Path(__file__).resolve().parent
OUT = HERE / "polr_statsmodels.json"


def latent_categories(eta: np.ndarray, cuts: list[float], rng: np.random.Generator) -> np.ndarray:
    """y = number of cut-points below eta + logistic noise (polr: P(Y<=k) = F(cut_k - eta))."""
    return np.digitize(eta + rng.logistic(size=eta.shape), cuts).astype(int)


def datasets() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    rng = np.random.default_rng(20251101)
    n = 120
    x = np.repeat([0.0, 1.0], n // 2)
    y = latent_categories(0.8 * x, [-1.0, 0.0, 1.2], rng)
    out.append(
        {
            "name": "treatment_only_4cat",
            "description": "n=120, binary treatment, beta=0.8, 4 categories",
            "columns": ["treatment"],
            "X": x[:, None],
            "y": y,
            "weights": None,
        }
    )

    rng = np.random.default_rng(20251102)
    n = 250
    X = np.column_stack(
        [rng.integers(0, 2, n), rng.integers(0, 2, n), rng.normal(0.0, 1.0, n)]
    ).astype(float)
    y = latent_categories(X @ np.array([0.6, -0.4, 0.3]), [-1.5, -0.5, 0.5, 1.5], rng)
    out.append(
        {
            "name": "three_covariates_5cat",
            "description": "n=250, treatment + binary + standard normal, 5 categories",
            "columns": ["treatment", "binary", "continuous"],
            "X": X,
            "y": y,
            "weights": None,
        }
    )

    rng = np.random.default_rng(20251103)
    n = 438
    X = np.column_stack([rng.integers(0, 2, n), rng.random(n) < 0.35, rng.random(n) < 0.4]).astype(
        float
    )
    cuts = [-2.2, -1.1, -0.4, 0.2, 0.9, 1.4]
    y = latent_categories(X @ np.array([-0.47, -0.5, 0.5]), cuts, rng)
    out.append(
        {
            "name": "mrs_like_strata_7cat",
            "description": "n=438 mRS-like 0..6, treatment (OR 1.6 towards lower) + 2 strata",
            "columns": ["experimental", "pediatric", "late"],
            "X": X,
            "y": y,
            "weights": None,
        }
    )

    rng = np.random.default_rng(20251104)
    n = 300
    X = np.column_stack([rng.normal(0.0, 2.0, n), rng.integers(0, 3, n)]).astype(float)
    y = latent_categories(X @ np.array([1.5, -0.8]), [-2.0, 1.0], rng)
    out.append(
        {
            "name": "strong_effects_3cat",
            "description": "n=300, large effects (beta 1.5 on a SD-2 covariate, -0.8), 3 cats",
            "columns": ["wide", "ordinal_score"],
            "X": X,
            "y": y,
            "weights": None,
        }
    )

    rng = np.random.default_rng(20251105)
    n = 40
    X = np.column_stack([rng.integers(0, 2, n), rng.normal(0.0, 1.0, n)]).astype(float)
    y = latent_categories(X @ np.array([0.7, 0.5]), [-1.0, 0.0, 1.0], rng)
    w = rng.integers(1, 6, n).astype(float)
    out.append(
        {
            "name": "frequency_weighted_4cat",
            "description": "40 distinct rows with integer frequency weights 1..5; statsmodels "
            "fitted on the row-replicated data",
            "columns": ["treatment", "continuous"],
            "X": X,
            "y": y,
            "weights": w,
        }
    )

    df = pd.read_csv(HERE / "ologit_ucla.csv")
    levels = ["unlikely", "somewhat likely", "very likely"]
    y = df["apply"].map({v: i for i, v in enumerate(levels)}).to_numpy()
    out.append(
        {
            "name": "ucla_apply",
            "description": "UCLA IDRE example, apply ~ pared + public + gpa (ologit_ucla.csv)",
            "columns": ["pared", "public", "gpa"],
            "X": df[["pared", "public", "gpa"]].to_numpy(dtype=float),
            "y": y,
            "weights": None,
            "mass_polr": {
                "source": "R 3.4.4 MASS::polr(apply ~ pared + public + gpa, method='logit', "
                "Hess=TRUE), as quoted in statsmodels/miscmodels/tests/results/"
                "results_ordinal_model.py",
                "coef": [1.04769011, -0.05878572, 0.61594057],
                "se_coef": [0.2658, 0.2979, 0.2606],
                "thresholds": [2.203915, 4.299363],
            },
        }
    )
    return out


def fit_statsmodels(y: np.ndarray, X: np.ndarray, w: np.ndarray | None) -> dict[str, Any]:
    if w is not None:
        reps = w.astype(int)
        y, X = np.repeat(y, reps), np.repeat(X, reps, axis=0)
    model = OrderedModel(y, X, distr="logit")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bfgs = model.fit(method="bfgs", disp=False, gtol=1e-10, maxiter=20000)
        res = model.fit(
            start_params=bfgs.params, method="newton", disp=False, tol=1e-12, maxiter=200
        )
    p = X.shape[1]
    params = np.asarray(res.params)
    theta = model.transform_threshold_params(params)[1:-1]
    # delta method: theta_0 = t0, theta_k = t0 + sum_{j<=k} exp(t_j)
    k1 = theta.size
    J = np.zeros((p + k1, p + k1))
    J[:p, :p] = np.eye(p)
    tp = params[p:]
    for k in range(k1):
        J[p + k, p] = 1.0
        for j in range(1, k + 1):
            J[p + k, p + j] = np.exp(tp[j])
    cov = J @ np.asarray(res.cov_params()) @ J.T
    se = np.sqrt(np.diag(cov))
    score = model.score(params)
    return {
        "coef": params[:p].tolist(),
        "thresholds": theta.tolist(),
        "se_coef": se[:p].tolist(),
        "se_thresholds": se[p:].tolist(),
        "loglik": float(res.llf),
        "max_abs_score": float(np.abs(score).max()),
        "bfgs_vs_newton_max_abs_diff": float(np.abs(bfgs.params - params).max()),
    }


def main() -> None:
    records = []
    for ds in datasets():
        w = ds["weights"]
        fit = fit_statsmodels(ds["y"], ds["X"], w)
        rec = {
            "name": ds["name"],
            "description": ds["description"],
            "columns": ds["columns"],
            "y": [int(v) for v in ds["y"]],
            "X": [[float(v) for v in row] for row in ds["X"]],
            "weights": None if w is None else [float(v) for v in w],
            "statsmodels": fit,
        }
        if "mass_polr" in ds:
            rec["mass_polr"] = ds["mass_polr"]
        records.append(rec)
        print(f"{ds['name']}: coef {np.round(fit['coef'], 6)} score {fit['max_abs_score']:.1e}")
    doc = {
        "about": "Proportional-odds (logit) reference fits for tests/unit/stats/test_ordinal.py",
        "generated_by": "tests/unit/stats/reference/make_polr_reference.py",
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%d"),
        "versions": {
            "python": platform.python_version(),
            "statsmodels": statsmodels.__version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "pandas": pd.__version__,
        },
        "statsmodels_call": "OrderedModel(y, X, distr='logit').fit(method='bfgs', gtol=1e-10, "
        "maxiter=20000), then .fit(start_params=<bfgs>, method='newton', tol=1e-12); thresholds "
        "= transform_threshold_params(params)[1:-1]; threshold SEs by the delta method",
        "convention": "logit P(Y <= k | x) = theta_k - x'beta (MASS::polr, statsmodels)",
        "datasets": records,
    }
    OUT.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
