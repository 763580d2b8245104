"""Trial simulator and Monte Carlo power / type I error of the primary analysis.

Design (§6 and §9; every number is a field of :class:`TrialDesign`)
-------------------------------------------------------------------------------
- ``n`` participants are randomized (default 438), experimental : control =
  ``allocation_ratio`` (default 1:1). The experimental arm is the one coded ``x = 1``.
- Strata ``age_group`` (pediatric / adult) x ``onset_window`` (early / late), independent with
  prevalences ``p_pediatric`` and ``p_late``; stratum membership of the ``n`` participants is
  multinomial.
- Allocation ``"permuted_blocks"`` (default, §6): permuted blocks within each
  stratum, each block's size drawn uniformly from ``block_multiples`` x (sum of the ratio)
  (sizes 2 and 4 for 1:1); the last block of a stratum is left incomplete. ``"simple"``:
  independent coin flips with probability ``ratio_e / (ratio_e + ratio_c)``.
- Outcome: mRS ``0..K-1`` under proportional odds, conditional on arm and stratum::

      logit P(Y <= k | arm, stratum) = theta_k - (beta * experimental + gamma_stratum)
      beta = -log(odds_ratio)
      gamma = age_log_odds * pediatric + window_log_odds * late
              + interaction_log_odds * pediatric * late

  so ``odds_ratio > 1`` means the experimental arm shifts towards LOWER (better) mRS
  (§9) and a positive stratum log-odds makes that stratum's outcomes worse. The
  thresholds ``theta`` are calibrated so that the control arm's distribution MARGINALISED over
  the strata equals ``control_probs`` (default 0.10, 0.15, 0.15, 0.15, 0.15, 0.10, 0.20).
- Drop-out: each randomized participant's month-12 outcome is missing with probability
  ``dropout`` independently of everything else (MCAR); missing outcomes are excluded.

Because outcomes are independent given (arm, stratum), a trial is simulated EXACTLY in
distribution by its cell counts: stratum sizes (multinomial), experimental count per stratum
(permuted-block or binomial law), drop-outs (binomial) and outcome counts per
(arm, stratum) cell (multinomial). :meth:`SimulatedTrials.participant_data` expands one trial
back into participant rows (e.g. to re-analyse it with another package).

Analysis (the primary analysis, §9)
-----------------------------------------------
Proportional-odds model; unadjusted: treatment only, fitted from the 2 x K table; adjusted:
treatment + pediatric + late indicators (+ their interaction when ``interaction=True``),
fitted from the 8 x K cell counts (exact frequency weights). Test: two-sided Wald test of
``beta_treatment`` at level ``alpha``. A simulated trial whose fit does not converge
(separation, too few categories) counts as NOT rejecting and is reported in
``n_not_converged``; a trial with an empty mRS category is fitted on the collapsed scale and
counted in ``n_collapsed``.

The reported estimated odds ratio is ``exp(-beta_hat_treatment)``, on the protocol's scale
(``> 1`` favours the experimental arm).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
from scipy.optimize import brentq
from scipy.special import expit, ndtri

from combat_norse.stats import defaults
from combat_norse.stats._kernel import BoolArray, FloatArray, IntArray
from combat_norse.stats.batch import BatchFit, fit_grouped, fit_tables
from combat_norse.stats.power import check_probabilities, whitehead_power

DEFAULT_CONTROL_PROBS: tuple[float, ...] = defaults.CONTROL_PROBS
"""§9 design assumption: control-arm mRS 0..6 at month 12 (not data)."""

DEFAULT_SEED = defaults.SEED
ALLOCATIONS: tuple[str, ...] = ("permuted_blocks", "simple")
STRATA: tuple[str, ...] = ("adult/early", "adult/late", "pediatric/early", "pediatric/late")
COVARIATES: tuple[str, ...] = ("experimental", "pediatric", "late")

#: Cell order of :attr:`SimulatedTrials.counts`: g = 4 * experimental + 2 * pediatric + late.
CELL_PATTERNS: IntArray = np.array(
    [[t, a, w] for t in (0, 1) for a in (0, 1) for w in (0, 1)], dtype=np.intp
)


@dataclass(frozen=True)
class TrialDesign:
    """Assumptions of a simulated trial (all configurable; defaults from the protocol (docs/)).

    Attributes
    ----------
    control_probs : tuple of float
        Control-arm outcome distribution over categories ``0..K-1`` (marginal over strata).
    odds_ratio : float
        Common odds ratio; ``> 1``: experimental arm towards lower (better) categories.
    n : int
        Participants randomized.
    allocation_ratio : (int, int)
        Experimental : control.
    allocation : "permuted_blocks" or "simple"
        Permuted blocks within strata (block sizes ``block_multiples`` x sum of the ratio,
        chosen at random) or simple randomization.
    block_multiples : tuple of int
    p_pediatric, p_late : float
        Stratum prevalences (independent), strictly between 0 and 1.
    age_log_odds, window_log_odds, interaction_log_odds : float
        Log-odds shifts of the outcome towards HIGHER (worse) categories for pediatric, late
        onset, and both (polr sign). Defaults: children do better (-0.5), late onset worse
        (+0.5), no interaction: illustrative assumptions, not data.
    dropout : float
        Probability that a randomized participant's outcome is missing (MCAR), in ``[0, 1)``.
    alpha : float
        Two-sided significance level.
    """

    control_probs: tuple[float, ...] = DEFAULT_CONTROL_PROBS
    odds_ratio: float = 1.0
    n: int = defaults.N
    allocation_ratio: tuple[int, int] = defaults.ALLOCATION_RATIO
    allocation: Literal["permuted_blocks", "simple"] = "permuted_blocks"
    block_multiples: tuple[int, ...] = defaults.BLOCK_MULTIPLES
    p_pediatric: float = defaults.P_PEDIATRIC
    p_late: float = defaults.P_LATE
    age_log_odds: float = defaults.AGE_LOG_ODDS
    window_log_odds: float = defaults.WINDOW_LOG_ODDS
    interaction_log_odds: float = defaults.INTERACTION_LOG_ODDS
    dropout: float = defaults.DROPOUT
    alpha: float = defaults.ALPHA
    _theta: tuple[float, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        probs = check_probabilities(self.control_probs)
        object.__setattr__(self, "control_probs", tuple(float(p) for p in self.control_probs))
        if not (math.isfinite(self.odds_ratio) and self.odds_ratio > 0):
            raise ValueError("odds_ratio: must be > 0")
        if isinstance(self.n, bool) or not isinstance(self.n, int | np.integer) or self.n < 2:
            raise ValueError("n: must be an integer >= 2")
        ratio = self.allocation_ratio
        if (
            len(ratio) != 2
            or not all(isinstance(r, int | np.integer) and not isinstance(r, bool) for r in ratio)
            or min(ratio) < 1
        ):
            raise ValueError("allocation_ratio: must be two integers >= 1 (experimental, control)")
        if self.allocation not in ALLOCATIONS:
            raise ValueError(f"allocation: must be one of {', '.join(ALLOCATIONS)}")
        if not self.block_multiples or any(
            not isinstance(m, int | np.integer) or m < 1 for m in self.block_multiples
        ):
            raise ValueError("block_multiples: must be integers >= 1")
        for name in ("p_pediatric", "p_late"):
            v = getattr(self, name)
            if not (0.0 < v < 1.0):
                raise ValueError(f"{name}: must be strictly between 0 and 1")
        for name in ("age_log_odds", "window_log_odds", "interaction_log_odds"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"{name}: must be finite")
        if not (0.0 <= self.dropout < 1.0):
            raise ValueError("dropout: must be in [0, 1)")
        if not (0.0 < self.alpha < 1.0):
            raise ValueError("alpha: must be in (0, 1)")
        object.__setattr__(self, "_theta", tuple(self._calibrate(probs)))

    # ---------------------------------------------------------------- derived quantities

    @property
    def n_categories(self) -> int:
        return len(self.control_probs)

    @property
    def log_odds_ratio(self) -> float:
        """``log(odds_ratio)``; the polr coefficient of the experimental arm is its negative."""
        return math.log(self.odds_ratio)

    @property
    def stratum_prevalences(self) -> FloatArray:
        """Prevalences in :data:`STRATA` order."""
        a, w = self.p_pediatric, self.p_late
        return np.array([(1 - a) * (1 - w), (1 - a) * w, a * (1 - w), a * w])

    @property
    def stratum_log_odds(self) -> FloatArray:
        """``gamma`` per stratum in :data:`STRATA` order."""
        a, w, i = self.age_log_odds, self.window_log_odds, self.interaction_log_odds
        return np.array([0.0, w, a, a + w + i])

    @property
    def thresholds(self) -> FloatArray:
        """Calibrated ``theta`` (control marginal = ``control_probs``)."""
        return np.array(self._theta)

    def _calibrate(self, probs: FloatArray) -> list[float]:
        pi = self.stratum_prevalences
        gamma = self.stratum_log_odds
        cum = np.cumsum(probs)[:-1]
        spread = float(np.abs(gamma).max()) + 1.0
        theta: list[float] = []
        for c in cum:
            if c <= 0.0:
                theta.append(-math.inf)
                continue
            if c >= 1.0:
                theta.append(math.inf)
                continue
            start = math.log(c) - math.log1p(-c)

            def gap(t: float, c: float = float(c)) -> float:
                return float(np.dot(pi, expit(t - gamma))) - c

            theta.append(float(brentq(gap, start - spread, start + spread, xtol=1e-14)))
        return theta

    def cell_probabilities(self) -> FloatArray:
        """Outcome distribution per (arm, stratum): shape ``(2, 4, K)``, arm 1 experimental."""
        theta = self.thresholds
        beta = -self.log_odds_ratio
        eta = beta * np.array([0.0, 1.0])[:, None] + self.stratum_log_odds[None, :]
        cum = expit(theta[None, None, :] - eta[:, :, None])
        ones = np.ones((*eta.shape, 1))
        out: FloatArray = np.diff(np.concatenate([0 * ones, cum, ones], axis=2), axis=2)
        return np.clip(out, 0.0, 1.0)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("_theta", None)
        d["control_probs"] = list(self.control_probs)
        d["allocation_ratio"] = list(self.allocation_ratio)
        d["block_multiples"] = list(self.block_multiples)
        return d


@dataclass(frozen=True)
class SimulatedTrials:
    """Cell counts of ``B`` simulated trials.

    Attributes
    ----------
    design : TrialDesign
    counts : ndarray of int, shape (B, 8, K)
        Analysed participants per cell (:data:`CELL_PATTERNS` order: experimental, pediatric,
        late) and outcome category.
    randomized : ndarray of int, shape (B, 2, 4)
        Participants randomized per arm (0 control, 1 experimental) and stratum
        (:data:`STRATA` order), drop-outs included.
    """

    design: TrialDesign
    counts: IntArray
    randomized: IntArray

    @property
    def n_trials(self) -> int:
        return int(self.counts.shape[0])

    @property
    def n_analysed(self) -> IntArray:
        out: IntArray = self.counts.sum(axis=(1, 2))
        return out

    def tables(self) -> IntArray:
        """Arm x category tables ``(B, 2, K)``: row 0 control, row 1 experimental."""
        K = self.counts.shape[2]
        out: IntArray = self.counts.reshape(-1, 2, 4, K).sum(axis=2)
        return out

    @staticmethod
    def patterns(interaction: bool = False) -> FloatArray:
        """Covariates of the 8 cells: experimental, pediatric, late (, pediatric x late)."""
        z = CELL_PATTERNS.astype(np.float64)
        if interaction:
            z = np.column_stack([z, z[:, 1] * z[:, 2]])
        return z

    def participant_data(self, i: int, interaction: bool = False) -> tuple[IntArray, FloatArray]:
        """Trial ``i`` as participant rows: outcome ``y`` (n,) and covariates ``X`` (n, 3|4)."""
        c = self.counts[i]
        G, K = c.shape
        cell = np.repeat(np.arange(G * K), c.ravel())
        y = (cell % K).astype(np.intp)
        X = self.patterns(interaction)[cell // K]
        return y, X


def _permuted_block_experimental(
    m: IntArray, ratio: tuple[int, int], multiples: Sequence[int], rng: np.random.Generator
) -> IntArray:
    """Experimental count among ``m`` participants allocated by permuted blocks in a stratum.

    Block sizes are drawn uniformly from ``multiples * sum(ratio)``; complete blocks hold
    exactly ``ratio_e / sum(ratio)`` experimental participants, and the first ``j`` of a
    randomly permuted incomplete block a hypergeometric number.
    """
    unit = ratio[0] + ratio[1]
    sizes = unit * np.asarray(multiples, dtype=np.int64)
    flat = m.ravel().astype(np.int64)
    out = np.zeros(flat.shape, dtype=np.int64)
    if flat.size == 0 or flat.max() == 0:
        return out.reshape(m.shape)
    n_blocks = int(flat.max() // sizes.min()) + 1
    bs = sizes[rng.integers(0, sizes.size, size=(flat.size, n_blocks))]
    cum = np.cumsum(bs, axis=1)
    complete = (cum <= flat[:, None]).sum(axis=1)
    rows = np.arange(flat.size)
    filled = np.where(complete > 0, cum[rows, np.maximum(complete - 1, 0)], 0)
    partial = flat - filled
    size = bs[rows, complete]
    good = size * ratio[0] // unit
    out = filled * ratio[0] // unit + rng.hypergeometric(good, size - good, partial)
    return out.reshape(m.shape)


def simulate_trials(
    design: TrialDesign, n_trials: int, rng: np.random.Generator | int | None = None
) -> SimulatedTrials:
    """Simulate ``n_trials`` trials of ``design`` (see the module docstring for the law).

    Parameters
    ----------
    design : TrialDesign
    n_trials : int
    rng : numpy.random.Generator or int seed, optional
    """
    if n_trials < 1:
        raise ValueError("n_trials: must be >= 1")
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    B = int(n_trials)
    strata = gen.multinomial(design.n, design.stratum_prevalences, size=B)  # (B, 4)
    ratio = design.allocation_ratio
    if design.allocation == "simple":
        n_exp = gen.binomial(strata, ratio[0] / (ratio[0] + ratio[1]))
    else:
        n_exp = _permuted_block_experimental(strata, ratio, design.block_multiples, gen)
    randomized = np.stack([strata - n_exp, n_exp], axis=1)  # (B, 2, 4)
    lost = gen.binomial(randomized, design.dropout) if design.dropout > 0 else 0
    analysed = randomized - lost
    counts = gen.multinomial(
        np.asarray(analysed, dtype=np.int64), design.cell_probabilities()
    )  # (B, 2, 4, K)
    K = design.n_categories
    return SimulatedTrials(
        design=design,
        counts=counts.reshape(B, 8, K).astype(np.intp),
        randomized=randomized.astype(np.intp),
    )


def analyse_trials(
    trials: SimulatedTrials,
    *,
    adjusted: bool = False,
    interaction: bool = False,
    backend: str = "auto",
) -> BatchFit:
    """Fit the primary analysis to every simulated trial; ``coef[:, 0]`` is beta_treatment.

    Unadjusted: treatment only from the 2 x K tables. Adjusted: treatment, pediatric, late
    (and pediatric x late with ``interaction``) from the 8 x K cell counts.
    """
    if interaction and not adjusted:
        raise ValueError("interaction: only with adjusted=True")
    if adjusted:
        return fit_grouped(trials.counts, trials.patterns(interaction), backend=backend)
    return fit_tables(trials.tables(), backend=backend)


@dataclass(frozen=True)
class PowerResult:
    """Monte Carlo operating characteristic of the primary analysis for one design.

    ``rejection_rate`` is the power (``odds_ratio != 1``) or the type I error
    (``odds_ratio == 1``) of the two-sided Wald test, with Monte Carlo standard error
    ``mcse = sqrt(rate (1 - rate) / n_sims)``. Trials whose fit did not converge count as not
    rejecting. ``estimated_odds_ratio_median`` is the median of ``exp(-beta_hat)`` (protocol
    scale, ``> 1`` favours experimental). ``whitehead_power`` is Whitehead's formula for the
    same control distribution, odds ratio, allocation and the expected number analysed
    ``n (1 - dropout)``, ignoring strata.
    """

    design: TrialDesign
    n_sims: int
    adjusted: bool
    interaction: bool
    seed: int | None
    backend: str
    rejections: int
    rejection_rate: float
    mcse: float
    n_not_converged: int
    n_collapsed: int
    mean_n_analysed: float
    estimated_odds_ratio_median: float
    whitehead_power: float
    elapsed_s: float

    @property
    def quantity(self) -> str:
        return "type_i_error" if self.design.odds_ratio == 1.0 else "power"

    @property
    def covariates(self) -> tuple[str, ...]:
        if not self.adjusted:
            return COVARIATES[:1]
        return COVARIATES + (("pediatric:late",) if self.interaction else ())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (what ``combat-norse power --json`` prints)."""
        return {
            "quantity": self.quantity,
            "rejection_rate": self.rejection_rate,
            "mcse": self.mcse,
            "rejections": self.rejections,
            "n_sims": self.n_sims,
            "n_not_converged": self.n_not_converged,
            "n_collapsed": self.n_collapsed,
            "whitehead_power": self.whitehead_power,
            "estimated_odds_ratio_median": self.estimated_odds_ratio_median,
            "mean_n_analysed": self.mean_n_analysed,
            "analysis": {
                "model": "proportional odds (cumulative logit)",
                "covariates": list(self.covariates),
                "test": "two-sided Wald test of the treatment coefficient",
                "alpha": self.design.alpha,
                "odds_ratio_means": "exp(-beta_treatment): > 1 favours the experimental arm",
            },
            "design": self.design.to_dict(),
            "seed": self.seed,
            "backend": self.backend,
            "elapsed_s": self.elapsed_s,
        }


def simulate_power(
    design: TrialDesign,
    n_sims: int,
    *,
    adjusted: bool = False,
    interaction: bool = False,
    seed: int | None = DEFAULT_SEED,
    backend: str = "auto",
    chunk_size: int = 4096,
    progress: Callable[[int], None] | None = None,
) -> PowerResult:
    """Simulate ``n_sims`` trials, analyse each as the primary analysis, count rejections.

    Trials are generated in chunks of ``chunk_size`` from one ``numpy.random.Generator``
    seeded with ``seed``; the result is reproducible for a given ``(seed, n_sims,
    chunk_size)``. ``progress`` is called with the number of trials finished in each chunk.

    Examples
    --------
    >>> res = simulate_power(TrialDesign(odds_ratio=1.6), 500, seed=1, backend="numpy")
    >>> res.quantity, res.n_sims, 0.6 < res.rejection_rate < 0.95
    ('power', 500, True)
    """
    if n_sims < 1:
        raise ValueError("sims: must be >= 1")
    if chunk_size < 1:
        raise ValueError("chunk_size: must be >= 1")
    if interaction and not adjusted:
        raise ValueError("interaction: only with adjusted=True")
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    zcrit = float(ndtri(1.0 - design.alpha / 2.0))
    rejections = 0
    not_converged = 0
    collapsed = 0
    analysed_total = 0
    log_or: list[FloatArray] = []
    used_backend = "numpy"
    done = 0
    while done < n_sims:
        b = min(chunk_size, n_sims - done)
        trials = simulate_trials(design, b, rng)
        fit = analyse_trials(trials, adjusted=adjusted, interaction=interaction, backend=backend)
        used_backend = fit.backend
        z, _p = fit.wald(0)
        reject: BoolArray = fit.converged & (np.abs(np.nan_to_num(z)) >= zcrit)
        rejections += int(reject.sum())
        not_converged += int((~fit.converged).sum())
        collapsed += int(fit.collapsed.sum())
        analysed_total += int(trials.n_analysed.sum())
        log_or.append(-fit.coef[fit.converged, 0])
        done += b
        if progress is not None:
            progress(b)
    rate = rejections / n_sims
    est = np.concatenate(log_or)
    ratio = design.allocation_ratio
    white = whitehead_power(
        design.control_probs,
        design.odds_ratio,
        design.n * (1.0 - design.dropout),
        alpha=design.alpha,
        allocation_ratio=ratio[0] / ratio[1],
    )
    return PowerResult(
        design=design,
        n_sims=int(n_sims),
        adjusted=adjusted,
        interaction=interaction,
        seed=seed,
        backend=used_backend,
        rejections=rejections,
        rejection_rate=rate,
        mcse=math.sqrt(rate * (1.0 - rate) / n_sims),
        n_not_converged=not_converged,
        n_collapsed=collapsed,
        mean_n_analysed=analysed_total / n_sims,
        estimated_odds_ratio_median=float(np.exp(np.median(est))) if est.size else math.nan,
        whitehead_power=white,
        elapsed_s=round(time.perf_counter() - started, 3),
    )
