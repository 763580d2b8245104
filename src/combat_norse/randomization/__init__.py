"""PURE randomization algorithms of COMBAT-NORSE (§6): no Django import.

- :mod:`.blocks`: stratified permuted blocks with random block sizes (the default design),
  list verification and the low-list alert.
- :mod:`.minimization`: Pocock–Simon minimization with a biased coin (the alternative design)
  and its replay from the seed.
- :mod:`.codes`: allocation codes, unique within a list and unrelated to the arm.

Every output is a deterministic function of a recorded seed and the algorithm version
(:data:`PERMUTED_BLOCKS_VERSION`, :data:`MINIMIZATION_VERSION`), so anyone can regenerate and
check a list. The Django side (``combat_norse.allocation``) stores and allocates from it.
"""

from __future__ import annotations

from combat_norse.randomization._prng import NEW_SEED_BITS, new_seed
from combat_norse.randomization.blocks import (
    AGE_GROUPS,
    ARMS,
    DEFAULT_BLOCK_SIZES,
    LIST_ALERT_THRESHOLD,
    MAX_VERIFIED_SEQUENCE,
    ONSET_WINDOWS,
    PERMUTED_BLOCKS_VERSION,
    STRATA,
    ListSlot,
    generate_blocks,
    generate_list,
    list_capacity_alert,
    next_block_number,
    stratum_key,
    verify_list,
)
from combat_norse.randomization.codes import (
    CODE_ALPHABET,
    CODE_LENGTH,
    CodeBook,
    block_code,
    is_valid_code,
    minimization_code,
)
from combat_norse.randomization.minimization import (
    DEFAULT_P_BEST,
    FIRES_LEVELS,
    MINIMIZATION_VERSION,
    REGIONS,
    Factor,
    MarginalCounts,
    MinimizationConfig,
    MinimizationDecision,
    default_minimization_config,
    fires_level,
    minimization_uniforms,
    minimize,
    replay_minimization,
)

__all__ = [
    "AGE_GROUPS",
    "ARMS",
    "CODE_ALPHABET",
    "CODE_LENGTH",
    "DEFAULT_BLOCK_SIZES",
    "DEFAULT_P_BEST",
    "FIRES_LEVELS",
    "LIST_ALERT_THRESHOLD",
    "MAX_VERIFIED_SEQUENCE",
    "MINIMIZATION_VERSION",
    "NEW_SEED_BITS",
    "ONSET_WINDOWS",
    "PERMUTED_BLOCKS_VERSION",
    "REGIONS",
    "STRATA",
    "CodeBook",
    "Factor",
    "ListSlot",
    "MarginalCounts",
    "MinimizationConfig",
    "MinimizationDecision",
    "block_code",
    "default_minimization_config",
    "fires_level",
    "generate_blocks",
    "generate_list",
    "is_valid_code",
    "list_capacity_alert",
    "minimization_code",
    "minimization_uniforms",
    "minimize",
    "new_seed",
    "next_block_number",
    "replay_minimization",
    "stratum_key",
    "verify_list",
]
