"""Presenters of the allocation app (see participants/presenters.py)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from combat_norse.allocation.access import access_allocation
from combat_norse.allocation.models import Allocation, RandomizationList
from combat_norse.core.errors import Reason
from combat_norse.participants.access import may_see_arm
from combat_norse.participants.models import Participant, Unmasking
from combat_norse.participants.presenters import present_participant
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


def present_deliberate_unmasking(unmasking: Unmasking, scope: Scope) -> dict[str, Any]:
    """What ``unmask`` prints: the arm, read through the same rule as every reader's (the
    deliberate unmasking just recorded is what lets this reader see it)."""
    allocation = access_allocation(scope, unmasking.participant)
    return {
        "study_id": unmasking.participant.study_id,
        "unmasking_id": unmasking.pk,
        "arm": allocation.arm if allocation is not None else None,
    }


def present_allocation_error(allocation: Allocation, scope: Scope) -> dict[str, Any]:
    """What ``allocation mark-error`` prints (statistician)."""
    if not may_see_arm(scope, allocation.participant):
        raise AccessDenied(Reason.MASKED)
    return {
        "study_id": allocation.participant.study_id,
        "in_error": allocation.in_error,
        "reason": allocation.error_reason,
    }


def present_list_state(rlist: RandomizationList) -> dict[str, Any]:
    """A list's identity and state (``randomization retire``; statistician only)."""
    return {"list_id": rlist.pk, "environment": rlist.environment, "active": rlist.active}


def present_list_check(rlist: RandomizationList, problems: list[str]) -> dict[str, Any]:
    """What ``randomization verify`` prints: the first 100 differences from the seed."""
    return {"list_id": rlist.pk, "ok": not problems, "problems": problems[:100]}


def present_list_extension(rlist: RandomizationList, stratum: str, added: int) -> dict[str, Any]:
    """What ``randomization extend`` prints."""
    return {"list_id": rlist.pk, "stratum": stratum, "slots_added": added}


def present_pharmacy_allocations(found: Iterable[Participant], scope: Scope) -> dict[str, Any]:
    """The pharmacist's allocation list (``access_pharmacy_allocations``): each randomized
    participant as ``participant show`` prints it, with the site's zone; only rows whose arm
    the reader may see."""
    rows = [{**row, "zone": p.zone} for p, row in ((p, present_participant(p, scope))
                                                    for p in found)
            if row["randomized"] and "arm" in row]  # fmt: skip
    return {"allocations": rows}
