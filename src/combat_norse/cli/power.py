"""``combat-norse power``: simulated power / type I error of the primary analysis.

Pure command (no Django). Simulates trials of a :class:`combat_norse.stats.TrialDesign`,
analyses each with the proportional-odds model (treatment only, or ``--adjusted`` for the
strata) and prints the rejection rate of the two-sided Wald test with its Monte Carlo standard
error, next to Whitehead's (1993) formula. A progress bar is drawn on stderr only when stderr
is a terminal.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from typing import Any

from combat_norse.cli.common import BadInput, emit_json
from combat_norse.stats import defaults

HELP = "simulated power (or type I error at --odds-ratio 1) of the primary ordinal analysis"


def _floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a comma-separated list of numbers: {text!r}"
        ) from None


def _ratio(text: str) -> tuple[int, int]:
    parts = text.split(":")
    try:
        a, b = (int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a ratio like 1:1 or 2:1: {text!r}") from None
    return a, b


def register(subparsers: Any) -> None:
    """Add the ``power`` subcommand."""
    p = subparsers.add_parser(
        "power",
        help=HELP,
        description=HELP + ". OR > 1 means the experimental arm shifts towards lower "
        "(better) mRS (§9).",
    )
    p.add_argument("--odds-ratio", type=float, required=True, help="common odds ratio (> 0)")
    p.add_argument(
        "--n", type=int, default=defaults.N, help=f"participants randomized ({defaults.N})"
    )
    p.add_argument(
        "--sims", type=int, default=defaults.SIMS, help=f"simulated trials ({defaults.SIMS})"
    )
    p.add_argument(
        "--adjusted",
        action="store_true",
        help="adjust for age group and onset window (the protocol's primary analysis); "
        "default: treatment only",
    )
    p.add_argument("--interaction", action="store_true", help="with --adjusted: add age x window")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--seed", type=int, default=defaults.SEED, help=f"seed ({defaults.SEED})")
    p.add_argument("--alpha", type=float, default=defaults.ALPHA, help="two-sided level (0.05)")
    p.add_argument(
        "--control-probs",
        type=_floats,
        default=defaults.CONTROL_PROBS,
        help="control-arm category probabilities, comma-separated "
        f"({','.join(f'{v:g}' for v in defaults.CONTROL_PROBS)})",
    )
    p.add_argument(
        "--allocation",
        choices=("permuted_blocks", "simple"),
        default=defaults.ALLOCATION,
        help="permuted blocks of 2 and 4 within strata (default) or simple randomization",
    )
    p.add_argument(
        "--ratio", type=_ratio, default=defaults.ALLOCATION_RATIO, help="experimental:control (1:1)"
    )
    p.add_argument("--dropout", type=float, default=defaults.DROPOUT, help=f"({defaults.DROPOUT})")
    p.add_argument(
        "--p-pediatric", type=float, default=defaults.P_PEDIATRIC, help=f"({defaults.P_PEDIATRIC})"
    )
    p.add_argument("--p-late", type=float, default=defaults.P_LATE, help=f"({defaults.P_LATE})")
    p.add_argument(
        "--age-log-odds",
        type=float,
        default=defaults.AGE_LOG_ODDS,
        help=f"pediatric shift towards worse mRS, log-odds ({defaults.AGE_LOG_ODDS})",
    )
    p.add_argument(
        "--window-log-odds",
        type=float,
        default=defaults.WINDOW_LOG_ODDS,
        help=f"late-onset shift towards worse mRS, log-odds ({defaults.WINDOW_LOG_ODDS})",
    )
    p.add_argument(
        "--backend", choices=("auto", "numpy", "jax"), default="auto", help="fit backend (auto)"
    )
    p.set_defaults(func=run)


def _check_args(args: argparse.Namespace) -> None:
    if not math.isfinite(args.odds_ratio):
        raise BadInput("odds_ratio: must be a finite number")
    if not 1e-6 <= args.odds_ratio <= 1e6:
        raise BadInput("odds_ratio: must be > 0" if args.odds_ratio <= 0
                       else "odds_ratio: must be between 1e-6 and 1e6")  # fmt: skip
    if args.seed < 0:
        raise BadInput("seed: must be >= 0")
    for name in ("age_log_odds", "window_log_odds"):
        value = getattr(args, name)
        if not (math.isfinite(value) and abs(value) <= 20):
            raise BadInput(f"{name}: must be a log-odds shift between -20 and 20")
    if args.n < 2:
        raise BadInput("n: must be >= 2")
    if args.sims < 1:
        raise BadInput("sims: must be >= 1")
    if args.interaction and not args.adjusted:
        raise BadInput("interaction: only with --adjusted")


def _progress(total: int) -> tuple[Callable[[int], None] | None, Callable[[], None]]:
    if not sys.stderr.isatty():
        return None, lambda: None
    from tqdm import tqdm

    bar = tqdm(total=total, unit="trial", file=sys.stderr, desc="simulating", leave=False)
    return bar.update, bar.close


def _text(res: Any) -> str:
    d = res.design
    what = "type I error" if res.quantity == "type_i_error" else "power"
    covs = " + ".join(res.covariates)
    alloc = "permuted blocks within strata" if d.allocation == "permuted_blocks" else "simple"
    return "\n".join(
        [
            f"simulated {what}: {res.rejection_rate:.4f} (Monte Carlo SE {res.mcse:.4f}) "
            f"from {res.n_sims} trials, {res.n_not_converged} not converged",
            f"Whitehead (1993) formula: {res.whitehead_power:.4f} "
            f"(N analysed {d.n * (1 - d.dropout):g}, unadjusted)",
            f"design: N {d.n}, {d.allocation_ratio[0]}:{d.allocation_ratio[1]} {alloc}, "
            f"drop-out {d.dropout:g}, common OR {d.odds_ratio:g} (> 1 favours experimental)",
            f"analysis: proportional odds on {covs}; two-sided Wald test, alpha {d.alpha:g}; "
            f"median estimated OR {res.estimated_odds_ratio_median:.3f}",
            f"seed {res.seed}, backend {res.backend}, {res.elapsed_s:.1f} s",
        ]
    )


def run(args: argparse.Namespace) -> int:
    """Handler of ``combat-norse power``; returns the exit status."""
    _check_args(args)
    from combat_norse.stats.simulate import TrialDesign, simulate_power

    try:
        design = TrialDesign(
            control_probs=args.control_probs,
            odds_ratio=args.odds_ratio,
            n=args.n,
            allocation_ratio=args.ratio,
            allocation=args.allocation,
            p_pediatric=args.p_pediatric,
            p_late=args.p_late,
            age_log_odds=args.age_log_odds,
            window_log_odds=args.window_log_odds,
            dropout=args.dropout,
            alpha=args.alpha,
        )
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    update, close = _progress(args.sims)
    try:
        result = simulate_power(
            design,
            args.sims,
            adjusted=args.adjusted,
            interaction=args.interaction,
            seed=args.seed,
            backend=args.backend,
            progress=update,
        )
    except RuntimeError as exc:  # backend "jax" without JAX
        raise BadInput(f"backend: {exc}") from None
    finally:
        close()
    if args.json:
        emit_json(result.to_dict())
    else:
        sys.stdout.write(_text(result) + "\n")
    return 0
