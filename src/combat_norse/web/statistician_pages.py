"""The statistician's page: the balance report, the check of the stored list against its seed,
and the unmasking report, through the same functions as ``combat-norse randomization
balance|verify`` and ``unmasking report`` (each gated to the unblinded statistician there)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy

from combat_norse.allocation.actions import (
    access_active_list,
    balance_report,
    current_environment,
    do_setup_list,
    verify_stored_list,
)
from combat_norse.allocation.presenters import present_list_check, present_list_setup
from combat_norse.audit.vocabulary import AuditAction
from combat_norse.core.errors import BadInput, Reason, Refused
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


DESIGNS = (
    ("permuted_blocks", gettext_lazy("Stratified permuted blocks (sizes 2 and 4; age group × "
                                     "onset window)")),
    ("minimization", gettext_lazy("Pocock–Simon minimization (age group, onset window, FIRES, "
                                  "region, site; best arm with probability 0.8)")),
)
ENVIRONMENTS = (
    ("production", gettext_lazy("Production")),
    ("test", gettext_lazy("Test (training and validation only)")),
)
MAX_SEED_DIGITS = 39  # 2^128 - 1 has 39 digits


def _setup_input(posted: Any) -> dict[str, Any]:
    """The form as ``randomization setup`` options; BadInput naming the field otherwise (the
    action checks design, environment and the seed's range; this only parses)."""
    seed_kind = posted.get("seed_kind", "random")
    seed: int | None = None
    if seed_kind == "number":
        raw = str(posted.get("seed", "")).strip()
        if not raw.isdigit() or len(raw) > MAX_SEED_DIGITS:
            raise BadInput("seed", "a whole number from 0 to 2^128-1 (for a test list)")
        seed = int(raw)
    elif seed_kind != "random":
        raise BadInput("seed", "random or a number")
    blocks = str(posted.get("blocks_per_stratum", "60")).strip()
    if not blocks.isdigit() or len(blocks) > 6:
        raise BadInput("blocks_per_stratum", "from 1 to 10000")
    return {"design": str(posted.get("design", ""))[:40], "seed": seed,
            "environment": str(posted.get("environment", ""))[:40] or None,
            "blocks_per_stratum": int(blocks)}  # fmt: skip


@view_policy(roles={Role.STATISTICIAN})
def list_setup(request: HttpRequest) -> HttpResponse:
    """GET: the set-up form; POST: ``do_setup_list`` (as ``combat-norse randomization setup``).
    The seed is shown once, on the answer to the POST (never stored for a later page)."""
    actor = page_actor(request)
    created: dict[str, Any] | None = None
    problem = ""
    status = 200
    if request.method == "POST":
        try:
            rlist = do_setup_list(actor, **_setup_input(request.POST))
            created = present_list_setup(rlist)
            created["environment"] = rlist.environment
        except BadInput as exc:
            problem, status = str(exc), 400
        except Refused as exc:
            if exc.code is not Reason.STATE:  # role, masked: the error page of every refusal
                raise
            problem, status = exc.text, 409
    response = render(request, "web/pages/list_setup.html", {
        "designs": DESIGNS, "environments": ENVIRONMENTS,
        "environment": current_environment(), "created": created, "problem": problem,
        "posted": request.POST if problem else {},
    }, status=status)  # fmt: skip
    add_never_cache_headers(response)  # the seed is on it
    return response
