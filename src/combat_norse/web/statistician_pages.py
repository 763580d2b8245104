"""The statistician's page: the balance report, the check of the stored list against its seed,
and the unmasking report, through the same functions as ``combat-norse randomization
balance|verify`` and ``unmasking report`` (each gated to the unblinded statistician there)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from combat_norse.allocation.actions import access_active_list, balance_report, verify_stored_list
from combat_norse.allocation.presenters import present_list_check
from combat_norse.audit.vocabulary import AuditAction
from combat_norse.core.errors import BadInput
from combat_norse.crf.actions.reports import unmasking_report
from combat_norse.sites.roles import Role
from combat_norse.web.context import page_actor
from combat_norse.web.policy import view_policy

ARMS = ("anakinra", "tocilizumab")


def _rows(counts: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    return [{"name": name, "arms": [by_arm.get(arm, 0) for arm in ARMS],
             "total": sum(by_arm.values())} for name, by_arm in counts.items()]  # fmt: skip


@view_policy(roles={Role.STATISTICIAN})
def randomization(request: HttpRequest) -> HttpResponse:
    """GET: balance and unmasking reports; POST: verify the active list against its seed."""
    actor = page_actor(request)
    check: dict[str, Any] | None = None
    problem = ""
    if request.method == "POST":
        try:
            rlist = access_active_list(actor, AuditAction.LIST_VERIFY)
            check = present_list_check(rlist, verify_stored_list(actor, rlist))
        except BadInput as exc:  # no active list
            problem = str(exc)
    balance = balance_report(actor)
    return render(request, "web/pages/randomization.html", {
        "arms": ARMS,
        "total": [balance["total"].get(arm, 0) for arm in ARMS],
        "by_stratum": _rows(balance["by_stratum"]),
        "by_site": _rows(balance["by_site"]),
        "in_error": balance["marked_in_error"],
        "unmaskings": unmasking_report(actor),
        "check": check, "problem": problem,
    }, status=400 if problem else 200)  # fmt: skip
