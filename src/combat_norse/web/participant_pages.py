"""Participant pages: the list the reader may see and one participant's page (visit timeline,
forms due, open queries, signatures), with the treating team's randomize button, the
assessor's "I was unmasked" button and the assessor assignment.

Reads go through ``access_*`` and render presenter output only (masking is the presenters'
business); changes call the same ``do_*`` as the command line.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from combat_norse.accounts.access import access_user
from combat_norse.allocation.actions import do_randomize
from combat_norse.allocation.presenters import present_allocation
from combat_norse.audit.vocabulary import AuditAction
from combat_norse.core.errors import BadInput, NotFound, Refused
from combat_norse.core.refusals import read_refusals_audited
from combat_norse.crf import catalog
from combat_norse.crf.access import (
    AUDIT_TRAIL_ROLES,
    access_queries,
    access_signatures,
    access_visits,
)
from combat_norse.crf.presenters import present_queries, present_signatures, present_visits
from combat_norse.participants.access import access_participant, access_participants
from combat_norse.participants.actions import (
    ASSIGN_ROLES,
    do_assign_assessor,
    do_record_assessor_unmasked,
)
from combat_norse.participants.presenters import present_participant, present_screening_clock
from combat_norse.safety.access import access_alerts, access_clocks, access_treatment
from combat_norse.safety.actions.clocks import do_report_safety
from combat_norse.safety.actions.common import REPORT_ROLES
from combat_norse.safety.presenters import (
    present_alerts,
    present_clock,
    present_report,
    present_treatment,
)
from combat_norse.sites.roles import PARTICIPANT_ROLES, RANDOMIZER_ROLES, Role
from combat_norse.web import entry
from combat_norse.web.bedside import clock_words
from combat_norse.web.context import page_actor, page_scope
from combat_norse.web.errors import status_for
from combat_norse.web.policy import view_policy

OPEN_VISITS = ("due", "overdue")
# a clock's kind -> the ``to`` of ``safety report``
REPORT_TO = {"coordinating_centre_24h": "coordinating_centre", "regulator": "regulator"}
OPEN_FORMS = ("not_started", "in_progress")


@view_policy(roles=PARTICIPANT_ROLES)
def participants(request: HttpRequest) -> HttpResponse:
    """The participants the reader may see (an outcome assessor: those assigned to them)."""
    scope = page_scope(request)
    found = access_participants(scope).select_related("screening").order_by("study_id")
    rows = [present_participant(p, scope) for p in found[:500]]
    return render(request, "web/pages/participants.html", {"rows": rows})


def _assessor_only(scope: Any, site_id: int) -> bool:
    return bool(scope.roles_at(site_id)) and scope.roles_at(site_id) <= {Role.OUTCOME_ASSESSOR}


def participant_context(request: HttpRequest, study_id: str) -> dict[str, Any]:
    scope = page_scope(request)
    with read_refusals_audited(page_actor(request), AuditAction.READ_REFUSED):
        participant, visits, saved = access_visits(scope, study_id)
        _p, signatures = access_signatures(scope, study_id)
    shown = present_participant(participant, scope)
    timeline = present_visits(participant, visits, saved, scope)["visits"]
    assessor_view = _assessor_only(scope, participant.site_id)
    if assessor_view:  # the assessor's page lists their outcome forms only
        for visit in timeline:
            visit["forms"] = [f for f in visit["forms"] if catalog.form(f["form"]).outcome]
        timeline = [v for v in timeline if v["forms"]]
    due = [
        {"visit": v["visit"], "latest": v["latest"], **f}
        for v in timeline if v["status"] in OPEN_VISITS
        for f in v["forms"] if f["status"] in OPEN_FORMS
    ]  # fmt: skip
    queries = access_queries(scope, status="open").filter(form_instance__participant=participant)
    clock = None
    if shown["cohort"] == "randomized_cohort" and not shown["randomized"]:
        clock = present_screening_clock(participant.screening, timezone.now())
    roles_here = scope.roles_at(participant.site_id)
    return {
        **_safety(scope, participant, study_id),
        "p": shown,
        "timeline": timeline,
        "due": due,
        "queries": present_queries(queries, scope)["queries"],
        "signatures": present_signatures(participant, signatures, scope)["signatures"],
        "clock": clock,
        "time_left": clock_words(clock) if clock else "",
        "may_randomize": clock is not None and bool(roles_here & RANDOMIZER_ROLES),
        "may_record_unmasked": Role.OUTCOME_ASSESSOR in roles_here,
        "may_assign": bool(roles_here & ASSIGN_ROLES),
        "may_read_audit": bool(roles_here & AUDIT_TRAIL_ROLES),
        "may_prepare": Role.PHARMACIST in roles_here,
        "assessor_view": assessor_view,
        "zone": present_screening_clock(participant.screening, timezone.now())["site_timezone"],
    }


def _safety(scope: Any, participant: Any, study_id: str) -> dict[str, Any]:
    """The dose plan, doses and deviations, standing lab alerts and SAE clocks, through the
    safety app's reads (as ``treatment show``, ``alerts`` and ``safety clocks``): a reader they
    refuse (masked, or a role that does not read treatment) gets no such section at all, so a
    masked page is the same whichever the arm."""
    out: dict[str, Any] = {"treatment": None, "alerts": None}
    try:
        out["treatment"] = present_treatment(*access_treatment(scope, study_id))
        out["alerts"] = present_alerts(*access_alerts(scope, study_id))["alerts"]
    except Refused:
        pass
    now = timezone.now()
    out["clocks"] = [present_clock(c, now) for c in access_clocks(scope, site=participant.site)
                     if c.participant_id == participant.pk]  # fmt: skip
    roles_here = scope.roles_at(participant.site_id)
    for clock in out["clocks"]:  # who may record the report of this clock (as ``safety report``)
        clock["report_to"] = REPORT_TO[clock["kind"]]
        clock["may_report"] = clock["status"] in ("open", "lapsed") and bool(
            roles_here & REPORT_ROLES[clock["kind"]])
    return out


def _post(request: HttpRequest, study_id: str) -> HttpResponse | None:
    actor = page_actor(request)
    scope = page_scope(request)
    action = request.POST.get("action", "")
    if action == "randomize":
        allocation = do_randomize(actor, study_id)
        shown = present_allocation(allocation, scope)
        messages.success(request, _("Randomized: %(arm)s (code %(code)s).") % {
            "arm": shown["arm"], "code": shown["code"]})  # fmt: skip
    elif action == "unmasked":
        do_record_assessor_unmasked(actor, study_id, actor, how=request.POST.get("how", ""))
        messages.success(request, _("Recorded: you learned this participant's treatment. Your "
                                    "later outcome entries for them are flagged."))
    elif action == "sae_report":
        zone = str(present_screening_clock(access_participant(scope, study_id).screening,
                                           timezone.now())["site_timezone"])  # fmt: skip
        try:
            at = entry.local_time("at", str(request.POST.get("at", "")), zone)
        except entry.EntryError as exc:
            raise BadInput(exc.field, exc.message) from None
        if at is entry.ABSENT:
            raise BadInput("at", "when the report was sent")
        clock = do_report_safety(actor, str(request.POST.get("ae_id", "")),
                                 to=str(request.POST.get("to", "")), at=at)  # fmt: skip
        shown_report = present_report(clock, timezone.now())
        messages.success(request, _("Report of %(ae_id)s recorded: %(kind)s clock %(status)s.")
                         % shown_report)  # fmt: skip
    elif action == "assign":
        try:
            assessor = access_user(request.POST.get("assessor", "").strip())
        except NotFound as exc:
            raise BadInput("assessor", str(exc)) from None
        do_assign_assessor(actor, study_id, assessor)
        messages.success(request, _("Assessor %(name)s assigned.") % {
            "name": assessor.get_username()})  # fmt: skip
    else:
        raise BadInput("action", "unknown action")
    return HttpResponseRedirect(request.path)


@view_policy(roles=PARTICIPANT_ROLES, scoped_object=True)
def participant(request: HttpRequest, study_id: str) -> HttpResponse:
    """One participant; POST ``action``: randomize, unmasked (the assessor), assign,
    sae_report (an SAE report sent, as ``safety report``)."""
    context = participant_context(request, study_id)
    if request.method == "POST":
        try:
            redirect = _post(request, study_id)
        except (BadInput, Refused) as exc:
            if isinstance(exc, Refused) and exc.code.value == "other_site":
                raise
            context["action_error"] = exc.text if isinstance(exc, Refused) else str(exc)
            context["action_refused"] = isinstance(exc, Refused)
            context["posted"] = request.POST
            return render(request, "web/pages/participant.html", context,
                          status=status_for(exc))  # fmt: skip
        if redirect is not None:
            return redirect
    return render(request, "web/pages/participant.html", context)
