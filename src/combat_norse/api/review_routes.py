"""The routes of the review and report pages (issue 18: "endpoints for every action a page
offers"): a participant's audit trail (``/participants/ID/audit/``), the review worklists
(``/review/?stage=``), the forms never started (``/missing/``), the pharmacist's allocation
list (``/pharmacy/``) and the closed report by arm (``/reports/closed/``). Each calls the
page's ``access_*`` and presenter; a refused read is audited as the page's and the command
line's are. Verify, lock and unlock have their routes per form (routes.py); the dose plan and
the administration records (dose forms) too."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router

from combat_norse.api import schemas as s
from combat_norse.api.base import actor, listing, read_audited, reader_scope, site_named, typed
from combat_norse.api.routes import Id, Page

router = Router()



@router.get("/participants/{study_id}/audit", **typed(s.AuditTrail), tags=["audit"])
def audit_trail(request: HttpRequest, response: HttpResponse, study_id: Id,
                page: Query[Page], action: str | None = None) -> dict[str, Any]:  # fmt: skip
    """A participant's audit trail, oldest first, times in the site's zone (the page
    ``/participants/ID/audit/``): data manager and the site's monitor only; a masked reader
    gets no event or item that would reveal the allocation. ``action`` keeps one kind of event."""
    from combat_norse.crf.access import access_participant_audit
    from combat_norse.crf.presenters import present_audit_trail

    scope = reader_scope(request)
    with read_audited(request):
        participant, events = access_participant_audit(scope, study_id)
    obj = present_audit_trail(participant, events, scope)
    return listing(response, obj, "events", limit=page.limit, offset=page.offset, action=action)


Stage = Literal["sdv", "lock", "locked"]


@router.get("/review/forms", **typed(s.ReviewForms), tags=["review"])
def review_forms(request: HttpRequest, response: HttpResponse, page: Query[Page],
                 stage: Stage = "sdv", site: str | None = None,
                 form: str | None = None) -> dict[str, Any]:  # fmt: skip
    """The review worklist (the page ``/review/?stage=``), oldest save first: ``sdv`` forms
    awaiting source-data verification, ``lock`` verified forms ready to lock, ``locked``. For
    the monitor (their sites) and the data manager; act on a row with the form's ``verify``,
    ``lock`` and ``unlock`` routes."""
    from combat_norse.crf.access import access_review_forms
    from combat_norse.crf.presenters import present_review_forms

    scope = reader_scope(request)
    with read_audited(request):
        found = access_review_forms(scope, stage=stage, site=site_named(site))
    obj = present_review_forms(found)
    return listing(response, obj, "forms", limit=page.limit, offset=page.offset, form=form)


@router.get("/missing", **typed(s.MissingForms), tags=["review"])
def missing_forms(request: HttpRequest, response: HttpResponse, page: Query[Page],
                  site: str | None = None) -> dict[str, Any]:  # fmt: skip
    """The missing forms (the page ``/missing/``): each form a visit whose window has closed
    expects (for the participant's age) and that was never started, visits marked missed or
    not applicable left out; by site, oldest window first, with the days since it closed.
    For the monitor and the data manager, at the sites where they hold the role; a masked
    reader is never told of an arm-revealing form. Open one with the form's route."""
    from combat_norse.crf.access import access_missing_forms
    from combat_norse.crf.presenters import present_missing_forms

    scope = reader_scope(request)
    where = site_named(site)
    with read_audited(request):
        found = access_missing_forms(scope, site=where)
    obj = present_missing_forms(found)
    return listing(response, obj, "forms", limit=page.limit, offset=page.offset)


@router.get("/pharmacy/allocations", **typed(s.PharmacyAllocationsUnmasked), tags=["treatment"])
def pharmacy_allocations(request: HttpRequest, response: HttpResponse, page: Query[Page],
                         site: str | None = None) -> dict[str, Any]:  # fmt: skip
    """The randomized participants of the pharmacist's sites with their allocation and its
    time (the page ``/pharmacy/``); each one's dose plan and administration records (given,
    held, missed) are ``GET /participants/{study_id}/treatment``."""
    from combat_norse.allocation.access import access_pharmacy_allocations
    from combat_norse.allocation.presenters import present_pharmacy_allocations

    scope = reader_scope(request)
    where = site_named(site)
    code = where.code if where else None
    with read_audited(request):
        found = access_pharmacy_allocations(scope)
    obj = present_pharmacy_allocations(found, scope)
    return listing(response, obj, "allocations", limit=page.limit, offset=page.offset, site=code)


@router.get("/reports/closed", **typed(s.ClosedReportUnmasked), tags=["reports"])
def closed_report(request: HttpRequest) -> dict[str, Any]:
    """The closed report (§11, the page ``/reports/closed/``): the allocations per group in all, per
    site and marked in error, for the DSMB member and the statistician only, never while a role
    masks the reader (refusals audited ``closed_report_refused``)."""
    from combat_norse.allocation.access import access_arm_aggregates

    out: dict[str, Any] = access_arm_aggregates(actor(request))
    return out
