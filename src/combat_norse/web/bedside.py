"""The bedside flow (issue 17 part 1): screen → consent → enroll → randomize.

Each step calls the same action and presenter as the command line (cli/trial_cmds.py):
``do_screen`` / ``present_screening``, ``do_record_consent``, ``do_enroll`` /
``present_enrollment``, ``do_randomize`` / ``present_allocation``. Nothing here decides
eligibility, routing or who may act: a refusal comes back from the action with its reason.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from combat_norse.audit.vocabulary import AuditAction
from combat_norse.core.errors import BadInput, Refused, domain_error
from combat_norse.core.refusals import read_refusals_audited
from combat_norse.participants.access import access_screening
from combat_norse.participants.actions import (
    CONSENT_ROLES,
    ENROLL_ROLES,
    SCREENING_ROLES,
    do_enroll,
    do_record_consent,
    do_screen,
)
from combat_norse.participants.presenters import (
    present_enrollment,
    present_screening,
    present_screening_clock,
)
from combat_norse.sites.access import access_site
from combat_norse.sites.roles import PARTICIPANT_ROLES, Role
from combat_norse.web import entry
from combat_norse.web.context import page_actor, page_scope
from combat_norse.web.errors import status_for
from combat_norse.web.labels import CRITERIA, DECISIONS, field_label
from combat_norse.web.policy import view_policy

YES_NO = ("usual_health_before_se", "active_epilepsy", "preexisting_neuro_disorder",
          "acute_cause_identified", "systemic_illness", "hypersensitivity",
          "active_serious_infection", "tnf_blocker", "gi_perforation_risk")  # fmt: skip
NUMBERS = ("anc_per_mm3", "platelets_per_mm3", "alt_u_l", "alt_uln_u_l", "ast_u_l",
           "ast_uln_u_l", "weight_kg")  # fmt: skip
THERAPIES = ("either", "anakinra", "tocilizumab", "none")
# The screening form, in the order of §3: (field, kind)
SCREENING_FIELDS: tuple[tuple[str, str], ...] = (
    ("date_of_birth", "date"), ("se_onset", "time"), ("usual_health_before_se", "yes_no"),
    ("failed_asm_count", "integer"), ("active_epilepsy", "yes_no"),
    ("preexisting_neuro_disorder", "yes_no"), ("acute_cause_identified", "yes_no"),
    ("planned_therapy", "choice"), ("systemic_illness", "yes_no"), ("hypersensitivity", "yes_no"),
    ("active_serious_infection", "yes_no"), ("tnf_blocker", "yes_no"),
    ("anc_per_mm3", "number"), ("platelets_per_mm3", "number"), ("alt_u_l", "number"),
    ("alt_uln_u_l", "number"), ("ast_u_l", "number"), ("ast_uln_u_l", "number"),
    ("gi_perforation_risk", "yes_no"), ("febrile_illness_onset", "time"),
    ("weight_kg", "number"),
)  # fmt: skip
SCREEN_READERS = PARTICIPANT_ROLES - {Role.OUTCOME_ASSESSOR}


def _record_from_post(post: Any, zone: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The §3 record from the posted form, and the entry errors by field."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, kind in SCREENING_FIELDS:
        raw = str(post.get(name, ""))
        try:
            if kind == "yes_no":
                values[name] = entry.yes_no(name, raw)
            elif kind == "integer":
                values[name] = entry.integer(name, raw)
            elif kind == "number":
                values[name] = entry.number(name, raw)
            elif kind == "date":
                values[name] = entry.a_date(name, raw)
            elif kind == "time":
                values[name] = entry.local_time(name, raw, zone)
            else:
                values[name] = entry.text(raw)
        except entry.EntryError as exc:
            errors[name] = exc.message
    if post.get("no_febrile_illness") == "on":
        if values.get("febrile_illness_onset", entry.ABSENT) is not entry.ABSENT:
            errors["febrile_illness_onset"] = _("give a start time or tick 'none', not both")
        values["febrile_illness_onset"] = None  # null: no febrile illness (FIRES false)
    return entry.present(values), errors


def _fields(post: Any, errors: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {"name": name, "kind": kind, "label": field_label(name), "value": post.get(name, ""),
         "error": errors.get(name, ""),
         "choices": THERAPIES if name == "planned_therapy" else ()}
        for name, kind in SCREENING_FIELDS
    ]  # fmt: skip


@view_policy(roles=SCREENING_ROLES, scoped_object=True)
def screen(request: HttpRequest, site_code: str) -> HttpResponse:
    """Screen a patient at a site: the §3 record typed at the bedside, decided by ``do_screen``."""
    site = access_site(site_code)
    page_scope(request).require(site.pk, roles=SCREENING_ROLES, action="screen")
    errors: dict[str, str] = {}
    problem = ""
    post = request.POST if request.method == "POST" else {}
    if request.method == "POST":
        record, errors = _record_from_post(request.POST, site.timezone)
        if not errors:
            try:
                screened, _warnings = do_screen(page_actor(request), site, record)
            except Exception as exc:  # the action's bad input is shown next to its field
                err = domain_error(exc)
                if not isinstance(err, BadInput):
                    raise
                if err.field in dict(SCREENING_FIELDS):
                    errors[err.field] = err.message
                else:
                    problem = str(err)
            else:
                return HttpResponseRedirect(
                    reverse("web:screening", args=[screened.screening_id]))
    status = 400 if (errors or problem) else 200
    return render(request, "web/pages/screen.html", {
        "site": site, "fields": _fields(post, errors), "errors": errors, "problem": problem,
        "no_febrile_illness": post.get("no_febrile_illness") == "on",
    }, status=status)  # fmt: skip


def _criteria(screening: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for code in screening["failed"]:
        rows.append({"code": code, "status": "failed", "text": str(CRITERIA.get(code, code))})
    for code in screening["unknown"]:
        rows.append({"code": code, "status": "unknown", "text": str(CRITERIA.get(code, code))})
    return rows


def clock_words(clock: dict[str, Any]) -> str:
    """Time left to randomize, in words (hours and minutes)."""
    left = clock.get("seconds_left")
    if left is None:
        return _("unknown: the onset of status epilepticus is not recorded")
    if left <= 0:
        return _("none: study day 7 has ended in the site's zone")
    hours, minutes = divmod(left // 60, 60)
    return _("%(hours)d h %(minutes)02d min") % {"hours": hours, "minutes": minutes}


def screening_context(request: HttpRequest, screening_id: str) -> dict[str, Any]:
    scope = page_scope(request)
    with read_refusals_audited(page_actor(request), AuditAction.READ_REFUSED):
        found = access_screening(scope, screening_id)
    shown = present_screening(found, scope)
    clock = present_screening_clock(found, timezone.now())
    return {
        "screening": shown,
        "decision_text": str(DECISIONS.get(shown["decision"], shown["decision"])),
        "criteria": _criteria(shown),
        "missing": [field_label(m) for m in shown["missing"]],
        "clock": clock,
        "time_left": clock_words(clock),
        "may_consent": scope.has_role(CONSENT_ROLES, found.site_id),
        "may_enroll": scope.has_role(ENROLL_ROLES, found.site_id),
        "optional_choices": (("interview", _("60-minute interview")),
                             ("annual_followup", _("Annual follow-up beyond one year")),
                             ("biosamples", _("Biosamples (serum/CSF)"))),
    }  # fmt: skip


@view_policy(roles=SCREEN_READERS, scoped_object=True)
def screening(request: HttpRequest, screening_id: str) -> HttpResponse:
    """A screening entry: the decision, failed and unknown criteria in plain words, the
    study-day clock in the site's zone; consent and enrollment (POST ``action``)."""
    context = screening_context(request, screening_id)
    if request.method == "POST":
        action = request.POST.get("action", "")
        actor = page_actor(request)
        try:
            if action == "consent":
                optional = request.POST.getlist("optional")
                consent = do_record_consent(
                    actor, screening_id, signer=request.POST.get("signer", ""),
                    form_version=request.POST.get("form_version", ""), optional=optional)
                messages.success(request, _("Consent recorded (%(signer)s, form version "
                                            "%(version)s).") % {"signer": consent.signer,
                                                               "version": consent.form_version})
                return HttpResponseRedirect(request.path)
            if action == "enroll":
                participant = do_enroll(actor, screening_id, observational_reason=request.POST
                                        .get("observational_reason", ""))  # fmt: skip
                shown = present_enrollment(participant, page_scope(request))
                messages.success(request, _("Enrolled as %(study_id)s in the %(cohort)s.") % {
                    "study_id": shown["study_id"], "cohort": shown["cohort"].replace("_", " ")})
                return HttpResponseRedirect(reverse("web:participant", args=[shown["study_id"]]))
        except (BadInput, Refused) as exc:
            context["action_error"] = str(exc) if isinstance(exc, BadInput) else exc.text
            context["action_refused"] = isinstance(exc, Refused)
            context["posted"] = request.POST
            status = 400 if isinstance(exc, BadInput) else _status(exc)
            return render(request, "web/pages/screening.html", context, status=status)
    return render(request, "web/pages/screening.html", context)


def _status(exc: Refused) -> int:
    return status_for(exc)
