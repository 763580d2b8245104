"""The data manager's and the monitor's pages (issue 17 item 5): the review worklist (forms
awaiting source-data verification, ready to lock, locked) with verify / lock / unlock through
the same actions as ``combat-norse form verify|lock|unlock``; the missing and overdue forms by
site (the due-work list of ``combat-norse due``); and a participant's audit trail.

Reads go through ``access_*`` and render presenter output; each change is one ``do_*`` call.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from combat_norse.audit.vocabulary import AuditAction
from combat_norse.core.errors import BadInput, Reason, Refused
from combat_norse.core.refusals import read_refusals_audited
from combat_norse.crf.access import (
    AUDIT_TRAIL_ROLES,
    REVIEW_ROLES,
    REVIEW_STAGES,
    access_due,
    access_missing_forms,
    access_participant_audit,
    access_review_forms,
)
from combat_norse.crf.actions.forms import (
    LOCK_ROLES,
    VERIFY_ROLES,
    do_lock_form,
    do_unlock_form,
    do_verify_form,
)
from combat_norse.crf.presenters import (
    present_audit_trail,
    present_due,
    present_missing_forms,
    present_review_forms,
)
from combat_norse.participants.access import access_participants
from combat_norse.web.context import DUE_ROLES, page_actor, page_scope
from combat_norse.web.errors import status_for
from combat_norse.web.form_pages import _instance
from combat_norse.web.policy import view_policy

STAGES = REVIEW_STAGES


def _review_change(request: HttpRequest) -> str:
    post = request.POST
    action = str(post.get("action", ""))
    args = (page_actor(request), str(post.get("study_id", "")), str(post.get("visit", "")),
            str(post.get("form", "")))  # fmt: skip
    instance = _instance(str(post.get("instance", "")) or None)
    if action == "verify":
        do_verify_form(*args, instance=instance)
        done = _("verified")
    elif action == "lock":
        do_lock_form(*args, instance=instance)
        done = _("locked")
    elif action == "unlock":
        do_unlock_form(*args, reason=str(post.get("reason", "")), instance=instance)
        done = _("unlocked")
    else:
        raise BadInput("action", "verify, lock or unlock")
    return _("%(study_id)s · %(visit)s · %(form)s: %(done)s.") % {
        "study_id": args[1].upper(), "visit": args[2], "form": args[3], "done": done}


@view_policy(roles=REVIEW_ROLES)
def review(request: HttpRequest) -> HttpResponse:
    """The review worklist of the reader's sites (``?stage=sdv|lock|locked``; a monitor starts
    at ``sdv``, a data manager at ``lock``); POST verifies, locks or unlocks (with a reason) one
    form."""
    scope = page_scope(request)
    first = "sdv" if scope.has_role(VERIFY_ROLES) else "lock"  # the reader's own work first
    stage = request.GET.get("stage", first)
    stage = stage if stage in STAGES else first
    error, status = "", 200
    if request.method == "POST":
        try:
            done = _review_change(request)
        except (BadInput, Refused) as exc:
            if isinstance(exc, Refused) and exc.code is Reason.OTHER_SITE:
                raise
            error = f"refused: {exc.text}" if isinstance(exc, Refused) else str(exc)
            status = status_for(exc)
        else:
            messages.success(request, done)
            return HttpResponseRedirect(request.get_full_path())
    rows = present_review_forms(access_review_forms(scope, stage=stage))["forms"]
    return render(request, "web/pages/review.html", {
        "rows": rows, "stage": stage, "error": error, "posted": request.POST,
        "may_verify": scope.has_role(VERIFY_ROLES), "may_lock": scope.has_role(LOCK_ROLES),
        "stages": [("sdv", _("Awaiting SDV")), ("lock", _("Verified, ready to lock")),
                   ("locked", _("Locked"))],
    }, status=status)  # fmt: skip


@view_policy(roles=DUE_ROLES)
def missing(request: HttpRequest) -> HttpResponse:
    """Missing and overdue forms by site: visits past their window and not done, and forms
    left in progress (``access_due``, as ``combat-norse due`` lists them), and each form a
    visit whose window has closed expects but that was never started
    (``access_missing_forms``, as ``GET /api/v1/missing`` lists them)."""
    scope = page_scope(request)
    now = timezone.now()
    due = present_due(access_due(scope, now=now), None)
    never = present_missing_forms(access_missing_forms(scope, now=now))["forms"]
    site_of = dict(access_participants(scope).values_list("study_id", "site__code"))
    by_site: dict[str, dict[str, list[Any]]] = defaultdict(
        lambda: {"visits": [], "forms": [], "never": []})  # fmt: skip
    for v in due["overdue_visits"]:
        by_site[site_of.get(v["study_id"], "?")]["visits"].append(v)
    for f in due["incomplete_forms"]:
        by_site[site_of.get(f["study_id"], "?")]["forms"].append(f)
    for m in never:
        by_site[m["site"]]["never"].append(m)
    sites = [{"code": code, **rows} for code, rows in sorted(by_site.items())]
    return render(request, "web/pages/missing.html", {"sites": sites})


@view_policy(roles=AUDIT_TRAIL_ROLES, scoped_object=True)
def audit_trail(request: HttpRequest, study_id: str) -> HttpResponse:
    """A participant's audit trail, in the site's zone (masked readers: nothing arm-revealing)."""
    scope = page_scope(request)
    with read_refusals_audited(page_actor(request), AuditAction.READ_REFUSED):
        participant, events = access_participant_audit(scope, study_id)
    trail = present_audit_trail(participant, events, scope)
    return render(request, "web/pages/audit_trail.html", {"trail": trail, "zone": trail["zone"]})
