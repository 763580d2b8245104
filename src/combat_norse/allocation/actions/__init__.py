"""Randomization (IRT) actions, one module per noun:

- :mod:`.lists` — list set-up, extension, retirement, verification and export (statistician);
- :mod:`.randomization` — allocation by the treating team, list alerts, corrections;
- :mod:`.reports` — the balance report (statistician).

The arm is read through :func:`combat_norse.allocation.access.access_allocation`.
"""

from combat_norse.allocation.access import (
    access_active_list,
    access_allocation,
    check_statistician,
    require_statistician,
)
from combat_norse.allocation.actions.common import (
    PRODUCTION_SEED_BITS,
    active_list,
    current_environment,
    random_seed,
)
from combat_norse.allocation.actions.lists import (
    do_extend_list,
    do_retire_list,
    do_setup_list,
    export_list,
    gaps,
    verify_stored_list,
)
from combat_norse.allocation.actions.randomization import (
    ListExhausted,
    do_mark_allocation_error,
    do_randomize,
    mail_statisticians,
)
from combat_norse.allocation.actions.reports import balance_report
from combat_norse.core.errors import BadInput, Refused
from combat_norse.core.errors import BadInput as BadRequest

__all__ = [
    "PRODUCTION_SEED_BITS",
    "BadInput",
    "BadRequest",
    "ListExhausted",
    "Refused",
    "access_active_list",
    "access_allocation",
    "active_list",
    "balance_report",
    "check_statistician",
    "current_environment",
    "do_extend_list",
    "do_mark_allocation_error",
    "do_randomize",
    "do_retire_list",
    "do_setup_list",
    "export_list",
    "gaps",
    "mail_statisticians",
    "random_seed",
    "require_statistician",
    "verify_stored_list",
]
