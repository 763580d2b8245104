"""The pharmacist's pages (issue 17 item 4): the allocations of their site(s), and for one
participant the dose preparation (the dose plan in force, per kilogram) and the administration
records (dose forms given, held or missed, and deviations).

Reads go through ``access_participants`` / ``access_treatment`` and render the presenters'
output (``participant list``, ``treatment show``): the same rules as the command line. A masked
reader never reaches them (the role check first; ``access_treatment`` refuses ``masked``).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _

from combat_norse.allocation.access import PHARMACY_ROLES, access_pharmacy_allocations
from combat_norse.allocation.presenters import present_pharmacy_allocations
from combat_norse.audit.vocabulary import AuditAction
from combat_norse.core.errors import BadInput, Reason, Refused
from combat_norse.core.refusals import read_refusals_audited
from combat_norse.safety.access import access_treatment
from combat_norse.safety.actions.common import PLAN_ROLES
from combat_norse.safety.actions.treatment import do_update_dose_plan
from combat_norse.safety.presenters import present_plan, present_treatment
from combat_norse.web import entry
from combat_norse.web.context import page_actor, page_scope
from combat_norse.web.errors import status_for
from combat_norse.web.policy import view_policy


@view_policy(roles=PHARMACY_ROLES)
def allocations(request: HttpRequest) -> HttpResponse:
    """The randomized participants of the pharmacist's site(s), with arm and time."""
    scope = page_scope(request)
    rows = present_pharmacy_allocations(access_pharmacy_allocations(scope), scope)["allocations"]
    return render(request, "web/pages/pharmacy.html", {"rows": rows})


def _plan_update(request: HttpRequest, study_id: str) -> str:
    """POST ``action=plan``: a new weight recomputes the plan (``treatment plan``)."""
    if request.POST.get("action") != "plan":
        raise BadInput("action", "unknown action")
    weight = entry.number("weight_kg", str(request.POST.get("weight_kg", "")))
    plan = do_update_dose_plan(page_actor(request), study_id,
                               weight_kg=None if weight is entry.ABSENT else weight,
                               reason=str(request.POST.get("reason", "")))  # fmt: skip
    shown = present_plan(plan)
    return _("New dose plan: %(dose)s mg for %(weight)s kg.") % {
        "dose": shown["suggestion"]["dose_mg"], "weight": shown["weight_kg"]}


@view_policy(roles=PHARMACY_ROLES, scoped_object=True)
def preparation(request: HttpRequest, study_id: str) -> HttpResponse:
    """Dose preparation per weight and the administration records of one participant; POST
    ``action=plan`` recomputes the plan for a new weight (the same action as ``treatment
    plan``)."""
    scope = page_scope(request)
    extra: dict[str, Any] = {}
    status = 200
    if request.method == "POST":
        try:
            done = _plan_update(request, study_id)
        except (BadInput, Refused, entry.EntryError) as exc:
            if isinstance(exc, Refused) and exc.code is Reason.OTHER_SITE:
                raise
            if isinstance(exc, entry.EntryError):
                exc = BadInput(exc.field, exc.message)
            extra = {"action_error": exc.text if isinstance(exc, Refused) else str(exc),
                     "action_refused": isinstance(exc, Refused), "posted": request.POST}
            status = status_for(exc)
        else:
            messages.success(request, done)
            return HttpResponseRedirect(request.path)
    with read_refusals_audited(page_actor(request), AuditAction.READ_REFUSED):
        found = access_treatment(scope, study_id)
    treatment = present_treatment(*found)
    doses = treatment["doses"]
    return render(request, "web/pages/preparation.html", {
        "t": treatment, "plan": treatment["plan"], "zone": treatment["zone"], "doses": doses,
        "counts": {k: sum(1 for d in doses if d["administered"] == k)
                   for k in ("given", "held", "missed")},
        "may_update_plan": bool(scope.roles_at(found[0].site_id) & PLAN_ROLES), **extra,
    }, status=status)  # fmt: skip
