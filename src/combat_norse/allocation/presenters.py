"""Presenters of the allocation app (see participants/presenters.py)."""

from __future__ import annotations

from typing import Any

from combat_norse.allocation.models import Allocation, RandomizationList
from combat_norse.core.errors import Reason
from combat_norse.participants.access import may_see_arm
from combat_norse.sites.access import AccessDenied, Scope


def present_allocation(allocation: Allocation, scope: Scope) -> dict[str, Any]:
    """What ``randomize`` prints (§13), for a reader who may see the arm; a masked reader is
    refused ``masked`` (never a partial object that could differ by arm)."""
    if not may_see_arm(scope, allocation.participant):
        raise AccessDenied(Reason.MASKED)
    return {
        "study_id": allocation.participant.study_id,
        "randomized_at": allocation.randomized_at.isoformat(),
        "code": allocation.code,
        "arm": allocation.arm,
    }


def present_list_setup(rlist: RandomizationList) -> dict[str, Any]:
    """What ``randomization setup`` prints, once, to the statistician: the seed as a string
    (128-bit production seeds do not fit a JSON number that every reader parses exactly)."""
    return {
        "list_id": rlist.pk,
        "design": rlist.design,
        "seed": str(rlist.seed),
        "algorithm_version": rlist.algorithm_version,
    }
