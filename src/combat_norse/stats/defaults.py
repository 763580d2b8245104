"""Default design assumptions for simulation and power (plain constants, no NumPy import).

§9 ("design assumption for simulation and power, not data; configurable") and §6
(strata, 1:1 permuted blocks of 2 and 4). The stratum prevalences and stratum effects are this
module's illustrative working assumptions, not protocol figures: change them here or per call.
"""

from __future__ import annotations

CONTROL_PROBS: tuple[float, ...] = (0.10, 0.15, 0.15, 0.15, 0.15, 0.10, 0.20)
"""Control-arm mRS 0..6 at month 12 (§9)."""
N = 438
ALLOCATION_RATIO: tuple[int, int] = (1, 1)
ALLOCATION = "permuted_blocks"
BLOCK_MULTIPLES: tuple[int, ...] = (1, 2)
P_PEDIATRIC = 0.35
P_LATE = 0.40
AGE_LOG_ODDS = -0.5
WINDOW_LOG_ODDS = 0.5
INTERACTION_LOG_ODDS = 0.0
DROPOUT = 0.05
ALPHA = 0.05
SEED = 20251126
SIMS = 10000
