"""The routes: parse → ``access_*``/``do_*`` → presenter, exactly what each command does
(cli/trial_cmds.py, crf_cmds.py, query_cmds.py, safety_cmds.py), answering the same object.

Server operators' commands (migrations, seeding, users, the audit trail's seal and exports,
the periodic clocks) have no route: they stay on the server's command line."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from pydantic import StrictInt

from combat_norse.api import schemas as s
from combat_norse.api.base import (
    MAX_LIMIT,
    In,
    actor,
    listing,
    read_audited,
    reader_scope,
    site_named,
    typed,
    with_warnings,
)
from combat_norse.core.errors import BadInput, NotFound

router = Router()
Id = str  # a screening id, study id or AE id as the command line takes it


class Page(Schema):
    limit: int | None = Field(None, ge=1, le=MAX_LIMIT, description="at most this many rows")
    offset: int = Field(0, ge=0, le=10**9, description="skip this many rows first")


def _user_named(username: str, option: str) -> Any:
    """The active user an option names; bad input naming the option otherwise (as the command
    line's ``active_user``)."""
    from combat_norse.accounts.access import access_user

    try:
        return access_user(username)
    except NotFound:
        raise BadInput(option, f"{option}: unknown or inactive user {username!r}") from None



# ---------------------------------------------------------------- who am I
@router.get("/me", **typed(s.Me), tags=["tokens"])
def me(request: HttpRequest) -> dict[str, Any]:
    """The token's user and their memberships (what the command line acts as)."""
    from combat_norse.sites.access import access_memberships

    user = actor(request)
    return {"username": user.username,
            "memberships": [{"role": m.role, "site": m.site.code if m.site else None}
                            for m in access_memberships(user)]}  # fmt: skip


# ---------------------------------------------------------------- sites
@router.get("/sites", **typed(s.Sites), tags=["sites"])
def sites(request: HttpRequest) -> dict[str, Any]:
    from combat_norse.sites.access import access_sites
    from combat_norse.sites.presenters import present_site

    return {"sites": [present_site(s) for s in access_sites()]}


# ---------------------------------------------------------------- screening, consent, enroll
class ScreeningIn(In):
    site: str
    record: dict[str, Any]


class RescreenIn(In):
    record: dict[str, Any]
    reason: str


class ReasonIn(In):
    reason: str


class OptionalReasonIn(In):
    reason: str = ""


@router.post("/screenings", **typed(s.ScreeningResult), tags=["screening"])
def screening_add(request: HttpRequest, response: HttpResponse,
                  body: ScreeningIn) -> dict[str, Any]:  # fmt: skip
    from combat_norse.participants.actions import do_screen
    from combat_norse.participants.presenters import present_screening_result
    from combat_norse.sites.access import access_site

    site = access_site(body.site)  # required: a blank code is an unknown site
    entry, warnings = do_screen(actor(request), site, body.record)
    with_warnings(response, warnings)
    return present_screening_result(entry)


@router.put("/screenings/{screening_id}", **typed(s.ScreeningResult), tags=["screening"])
def screening_update(request: HttpRequest, response: HttpResponse, screening_id: Id,
                     body: RescreenIn) -> dict[str, Any]:  # fmt: skip
    from combat_norse.participants.actions import do_rescreen
    from combat_norse.participants.presenters import present_screening_result

    entry, warnings = do_rescreen(actor(request), screening_id, body.record, reason=body.reason)
    with_warnings(response, warnings)
    return present_screening_result(entry)


@router.get("/screenings", **typed(s.Screenings), tags=["screening"])
def screening_list(request: HttpRequest, response: HttpResponse, page: Query[Page],
                   site: str | None = None) -> dict[str, Any]:  # fmt: skip
    from combat_norse.participants.access import access_screenings
    from combat_norse.participants.presenters import present_screening

    scope = reader_scope(request)
    entries = access_screenings(scope).order_by("screening_id")
    if site:
        entries = entries.filter(site=site_named(site))
    obj = {"screenings": [present_screening(e, scope) for e in entries]}
    return listing(response, obj, "screenings", limit=page.limit, offset=page.offset)


@router.get("/screenings/{screening_id}", **typed(s.Screening), tags=["screening"])
def screening_show(request: HttpRequest, screening_id: Id) -> dict[str, Any]:
    from combat_norse.participants.access import access_screening
    from combat_norse.participants.presenters import present_screening

    scope = reader_scope(request)
    with read_audited(request):
        entry = access_screening(scope, screening_id)
    return present_screening(entry, scope)


@router.post("/screenings/{screening_id}/not-enrolled", **typed(s.NotEnrolled), tags=["screening"])
def screening_not_enrolled(request: HttpRequest, screening_id: Id,
                           body: ReasonIn) -> dict[str, Any]:  # fmt: skip
    from combat_norse.participants.actions import do_record_not_enrolled
    from combat_norse.participants.presenters import present_not_enrolled

    entry = do_record_not_enrolled(actor(request), screening_id, body.reason)
    return present_not_enrolled(entry, reader_scope(request))


class ConsentIn(In):
    signer: Literal["patient", "lar"]
    form_version: str
    optional: list[str] = Field(default_factory=list)


@router.post("/screenings/{screening_id}/consents", **typed(s.ConsentOut), tags=["consent"])
def consent_add(request: HttpRequest, screening_id: Id, body: ConsentIn) -> dict[str, Any]:
    from combat_norse.participants.actions import do_record_consent
    from combat_norse.participants.presenters import present_consent

    optional = [v for v in body.optional if v.strip()]
    consent = do_record_consent(actor(request), screening_id, signer=body.signer,
                                form_version=body.form_version, optional=optional)  # fmt: skip
    return present_consent(consent, consent.screening)


class EnrollIn(In):
    observational_reason: str = ""


@router.post("/screenings/{screening_id}/enroll", **typed(s.Enrollment), tags=["participants"])
def enroll(request: HttpRequest, screening_id: Id, body: EnrollIn) -> dict[str, Any]:
    from combat_norse.participants.actions import do_enroll
    from combat_norse.participants.presenters import present_enrollment

    participant = do_enroll(actor(request), screening_id,
                            observational_reason=body.observational_reason)  # fmt: skip
    return present_enrollment(participant, reader_scope(request))


# ---------------------------------------------------------------- participants
@router.get("/participants", **typed(s.ParticipantsUnmasked | s.Participants),
             tags=["participants"])  # fmt: skip
def participant_list(request: HttpRequest, response: HttpResponse, page: Query[Page],
                     site: str | None = None) -> dict[str, Any]:  # fmt: skip
    from combat_norse.participants.access import access_participants
    from combat_norse.participants.presenters import present_participant

    scope = reader_scope(request)
    found = access_participants(scope).select_related("screening").order_by("study_id")
    if site:
        found = found.filter(site=site_named(site))
    obj = {"participants": [present_participant(p, scope) for p in found]}
    return listing(response, obj, "participants", limit=page.limit, offset=page.offset)


@router.get("/participants/{study_id}", **typed(s.ParticipantUnmasked | s.Participant),
             tags=["participants"])  # fmt: skip
def participant_show(request: HttpRequest, study_id: Id) -> dict[str, Any]:
    from combat_norse.participants.access import access_participant
    from combat_norse.participants.presenters import present_participant

    scope = reader_scope(request)
    with read_audited(request):
        participant = access_participant(scope, study_id)
    return present_participant(participant, scope)


class OnsetIn(In):
    se_onset: str = Field(description="ISO datetime with a UTC offset")
    reason: str


@router.post("/participants/{study_id}/onset", **typed(s.OnsetCorrection), tags=["participants"])
def correct_onset(request: HttpRequest, study_id: Id, body: OnsetIn) -> dict[str, Any]:
    from combat_norse.participants.actions import do_correct_onset
    from combat_norse.participants.presenters import present_onset_correction
    from combat_norse.protocol import parse_aware_datetime

    se_onset = parse_aware_datetime("se_onset", body.se_onset.strip())
    participant, discrepancies = do_correct_onset(
        actor(request), study_id, se_onset=se_onset, reason=body.reason
    )
    return present_onset_correction(participant, se_onset, discrepancies)


class AssessorIn(In):
    assessor: str


@router.post("/participants/{study_id}/assessor", **typed(s.Assignment), tags=["participants"])
def assessor_assign(request: HttpRequest, study_id: Id, body: AssessorIn) -> dict[str, Any]:
    from combat_norse.participants.actions import do_assign_assessor
    from combat_norse.participants.presenters import present_assignment

    assessor = _user_named(body.assessor, "assessor")
    return present_assignment(do_assign_assessor(actor(request), study_id, assessor))


class WithdrawIn(In):
    scope: Literal["stop_treatment", "stop_follow_up", "stop_all_data"]
    reason: str


@router.post("/participants/{study_id}/withdrawal", **typed(s.WithdrawalOut), tags=["participants"])
def withdraw(request: HttpRequest, study_id: Id, body: WithdrawIn) -> dict[str, Any]:
    from combat_norse.participants.actions import do_withdraw
    from combat_norse.participants.presenters import present_withdrawal

    return present_withdrawal(do_withdraw(actor(request), study_id, scope=body.scope,
                                          reason=body.reason))  # fmt: skip


class EndIn(In):
    status: Literal["died", "lost_to_follow_up"]
    reason: str


@router.post("/participants/{study_id}/follow-up-end", **typed(s.FollowUpEnd),
             tags=["participants"])  # fmt: skip
def end_follow_up(request: HttpRequest, study_id: Id, body: EndIn) -> dict[str, Any]:
    from combat_norse.participants.actions import do_end_follow_up
    from combat_norse.participants.presenters import present_follow_up_end

    ended = do_end_follow_up(actor(request), study_id, status=body.status, reason=body.reason)
    return present_follow_up_end(ended)


# ---------------------------------------------------------------- randomization
Environment = Literal["production", "test"] | None


class SetupIn(In):
    design: Literal["permuted_blocks", "minimization"]
    seed: Literal["random"] | StrictInt = Field(description="'random' (production) or a whole "
                                          "number from 0 to 2^128-1 (a test list)")  # fmt: skip
    environment: Environment = None
    blocks_per_stratum: int = Field(60, ge=-10**9, le=10**9, strict=True)


@router.post("/randomization/lists", **typed(s.ListSetup), tags=["randomization"])
def randomization_setup(request: HttpRequest, body: SetupIn) -> dict[str, Any]:
    from combat_norse.allocation.actions import do_setup_list
    from combat_norse.allocation.presenters import present_list_setup

    if isinstance(body.seed, int) and not 0 <= body.seed < 2**128:
        raise BadInput("seed", "seed: from 0 to 2^128-1")
    rlist = do_setup_list(actor(request), design=body.design,
                          seed=None if body.seed == "random" else body.seed,
                          environment=body.environment,
                          blocks_per_stratum=body.blocks_per_stratum)  # fmt: skip
    return present_list_setup(rlist)


def _active_list(request: HttpRequest, action: str, environment: str | None) -> Any:
    from combat_norse.allocation.actions import access_active_list
    from combat_norse.audit.vocabulary import AuditAction

    return access_active_list(actor(request), AuditAction(action), environment)


class ExtendIn(In):
    stratum: str
    blocks: int = Field(ge=-10**9, le=10**9, strict=True)
    reason: str
    environment: Environment = None


@router.post("/randomization/lists/active/extend", **typed(s.ListExtension), tags=["randomization"])
def randomization_extend(request: HttpRequest, body: ExtendIn) -> dict[str, Any]:
    from combat_norse.allocation.actions import do_extend_list
    from combat_norse.allocation.presenters import present_list_extension

    rlist = _active_list(request, "list_extend", body.environment)
    added = do_extend_list(actor(request), rlist, stratum=body.stratum, n_blocks=body.blocks,
                           reason=body.reason)  # fmt: skip
    return present_list_extension(rlist, body.stratum, added)


class RetireIn(In):
    reason: str
    environment: Environment = None


@router.post("/randomization/lists/active/retire", **typed(s.ListState), tags=["randomization"])
def randomization_retire(request: HttpRequest, body: RetireIn) -> dict[str, Any]:
    from combat_norse.allocation.actions import do_retire_list
    from combat_norse.allocation.presenters import present_list_state

    rlist = _active_list(request, "list_retire", body.environment)
    return present_list_state(do_retire_list(actor(request), rlist, reason=body.reason))


@router.get("/randomization/balance", **typed(s.BalanceUnmasked), tags=["randomization"])
def randomization_balance(request: HttpRequest) -> dict[str, Any]:
    from combat_norse.allocation.actions import balance_report

    out: dict[str, Any] = balance_report(actor(request))
    return out


@router.get("/randomization/lists/active/verify", **typed(s.ListCheck), tags=["randomization"])
def randomization_verify(request: HttpRequest,
                         environment: Environment = None) -> dict[str, Any]:  # fmt: skip
    """``ok`` false and the problems when the stored list differs from its seed (the command
    exits 1 then)."""
    from combat_norse.allocation.actions import verify_stored_list
    from combat_norse.allocation.presenters import present_list_check

    rlist = _active_list(request, "list_verify", environment)
    return present_list_check(rlist, verify_stored_list(actor(request), rlist))


@router.get("/randomization/lists/active/export", **typed(s.ListExportUnmasked),
             tags=["randomization"])  # fmt: skip
def randomization_export(request: HttpRequest,
                         environment: Environment = None) -> dict[str, Any]:  # fmt: skip
    from combat_norse.allocation.actions import export_list

    rlist = _active_list(request, "list_export", environment)
    out: dict[str, Any] = export_list(actor(request), rlist)
    return out


@router.post("/participants/{study_id}/randomize", **typed(s.AllocationUnmasked),
             tags=["randomization"])  # fmt: skip
def randomize(request: HttpRequest, study_id: Id) -> dict[str, Any]:
    from combat_norse.allocation.actions import do_randomize
    from combat_norse.allocation.presenters import present_allocation

    return present_allocation(do_randomize(actor(request), study_id), reader_scope(request))


class ReauthIn(In):
    reason: str
    password: str = Field(description="the acting user's password again")


@router.post("/participants/{study_id}/allocation/error", **typed(s.AllocationErrorUnmasked),
             tags=["randomization"])  # fmt: skip
def allocation_error(request: HttpRequest, study_id: Id, body: ReauthIn) -> dict[str, Any]:
    from combat_norse.allocation.actions import do_mark_allocation_error
    from combat_norse.allocation.presenters import present_allocation_error

    allocation = do_mark_allocation_error(actor(request), study_id, reason=body.reason,
                                          password=body.password)  # fmt: skip
    return present_allocation_error(allocation, reader_scope(request))


@router.post("/participants/{study_id}/unmask", **typed(s.DeliberateUnmaskingUnmasked),
             tags=["masking"])  # fmt: skip
def unmask(request: HttpRequest, study_id: Id, body: ReauthIn) -> dict[str, Any]:
    from combat_norse.allocation.presenters import present_deliberate_unmasking
    from combat_norse.participants.actions import do_unmask

    unmasking, _arm = do_unmask(actor(request), study_id, reason=body.reason,
                                password=body.password)  # fmt: skip
    return present_deliberate_unmasking(unmasking, reader_scope(request))


class UnmaskingIn(In):
    assessor: str
    how: str


@router.post("/participants/{study_id}/unmaskings", **typed(s.UnmaskingRecord), tags=["masking"])
def unmasking_record(request: HttpRequest, study_id: Id, body: UnmaskingIn) -> dict[str, Any]:
    from combat_norse.participants.actions import do_record_assessor_unmasked
    from combat_norse.participants.presenters import present_unmasking_record

    assessor = _user_named(body.assessor, "assessor")
    record = do_record_assessor_unmasked(actor(request), study_id, assessor, how=body.how)
    return present_unmasking_record(record)


@router.get("/unmaskings", **typed(s.Unmaskings), tags=["masking"])
def unmasking_report(request: HttpRequest) -> dict[str, Any]:
    from combat_norse.crf.actions.reports import unmasking_report as report

    return {"unmaskings": report(actor(request))}


@router.get("/reports/enrollment", **typed(s.EnrollmentReport), tags=["reports"])
def enrollment_report(request: HttpRequest) -> dict[str, Any]:
    """Enrollment by site, month and cohort (the enrollment page's figures; blinded)."""
    from combat_norse.participants.access import enrollment_counts

    return enrollment_counts(actor(request))


# ---------------------------------------------------------------- data capture (§14)
@router.get("/forms", **typed(s.Forms), tags=["forms"])
def forms(request: HttpRequest, dictionary: bool = False) -> dict[str, Any]:
    """The data dictionary (a masked user gets no arm-revealing form or item)."""
    from combat_norse.crf.presenters import present_forms

    out: dict[str, Any] = present_forms(reader_scope(request), full=dictionary)
    return out


@router.get("/participants/{study_id}/visits", **typed(s.Visits), tags=["visits"])
def visits(request: HttpRequest, response: HttpResponse, study_id: Id,
           status: str | None = None, visit: str | None = None) -> dict[str, Any]:  # fmt: skip
    from combat_norse.crf.access import access_visits
    from combat_norse.crf.presenters import present_visits

    scope = reader_scope(request)
    with read_audited(request):
        participant, found, saved = access_visits(scope, study_id)
    obj = present_visits(participant, found, saved, scope)
    return listing(response, obj, "visits", limit=None, offset=0, status=status, visit=visit)


@router.post("/participants/{study_id}/visits/{visit}/missed", **typed(s.VisitMissed),
             tags=["visits"])  # fmt: skip
def visit_missed(request: HttpRequest, study_id: Id, visit: str, body: ReasonIn) -> dict[str, Any]:
    from combat_norse.crf.actions.visits import do_mark_visit_missed

    found = do_mark_visit_missed(actor(request), study_id, visit, reason=body.reason)
    return {"study_id": found.participant.study_id, "visit": found.code, "status": found.status}


Instance = int | None
FORM_PATH = "/participants/{study_id}/visits/{visit}/forms/{form}"


class FormSaveIn(In):
    values: dict[str, Any]
    instance: int | None = Field(None, ge=1, le=1_000_000, strict=True)
    reason: str = ""
    if_version: int | None = Field(None, ge=0, le=1_000_000, strict=True)


@router.put(FORM_PATH, **typed(s.FormSaved), tags=["forms"])
def form_save(request: HttpRequest, study_id: Id, visit: str, form: str,
              body: FormSaveIn) -> dict[str, Any]:  # fmt: skip
    """Save items (adverse events, doses and labs are forms too); ``if_version`` refuses
    ``conflict`` when the stored version differs."""
    from combat_norse.crf.actions.forms import do_save_form
    from combat_norse.crf.presenters import present_form_save

    found, queries = do_save_form(actor(request), study_id, visit, form, body.values,
                                  instance=body.instance, reason=body.reason,
                                  if_version=body.if_version)  # fmt: skip
    out: dict[str, Any] = present_form_save(found, queries, reader_scope(request))
    return out


class InstanceQuery(Schema):
    instance: int | None = Field(None, ge=1, le=1_000_000)


@router.get(FORM_PATH, **typed(s.FormValuesUnmasked | s.FormValues), tags=["forms"])
def form_show(request: HttpRequest, study_id: Id, visit: str, form: str,
              q: Query[InstanceQuery]) -> dict[str, Any]:  # fmt: skip
    from combat_norse.crf.access import access_form
    from combat_norse.crf.actions.forms import form_def
    from combat_norse.crf.presenters import present_form

    scope = reader_scope(request)
    definition = form_def(form)
    with read_audited(request):
        participant, found = access_form(scope, study_id, visit, definition, q.instance)
    out: dict[str, Any] = present_form(definition, found, participant, scope)
    return out


class TransitionIn(In):
    instance: int | None = Field(None, ge=1, le=1_000_000, strict=True)
    reason: str = ""


def _transition(request: HttpRequest, which: str, study_id: str, visit: str, form: str,
                body: TransitionIn) -> dict[str, Any]:  # fmt: skip
    from combat_norse.crf.actions.forms import do_lock_form, do_unlock_form, do_verify_form
    from combat_norse.crf.presenters import present_form_state

    user = actor(request)
    if which == "verify":
        found = do_verify_form(user, study_id, visit, form, instance=body.instance)
    elif which == "lock":
        found = do_lock_form(user, study_id, visit, form, instance=body.instance)
    else:
        found = do_unlock_form(user, study_id, visit, form, reason=body.reason,
                               instance=body.instance)  # fmt: skip
    out: dict[str, Any] = present_form_state(found)
    return out


@router.post(FORM_PATH + "/verify", **typed(s.FormState), tags=["forms"])
def form_verify(request: HttpRequest, study_id: Id, visit: str, form: str,
                body: TransitionIn) -> dict[str, Any]:  # fmt: skip
    return _transition(request, "verify", study_id, visit, form, body)


@router.post(FORM_PATH + "/lock", **typed(s.FormState), tags=["forms"])
def form_lock(request: HttpRequest, study_id: Id, visit: str, form: str,
              body: TransitionIn) -> dict[str, Any]:  # fmt: skip
    return _transition(request, "lock", study_id, visit, form, body)


@router.post(FORM_PATH + "/unlock", **typed(s.FormState), tags=["forms"])
def form_unlock(request: HttpRequest, study_id: Id, visit: str, form: str,
                body: TransitionIn) -> dict[str, Any]:  # fmt: skip
    return _transition(request, "unlock", study_id, visit, form, body)


class SignIn(In):
    meaning: Literal["eligibility", "casebook"]
    password: str = Field(description="the signer's password again")


@router.post("/participants/{study_id}/signatures", **typed(s.Signed), tags=["signatures"])
def sign(request: HttpRequest, study_id: Id, body: SignIn) -> dict[str, Any]:
    from combat_norse.crf.actions.signatures import do_sign
    from combat_norse.crf.presenters import present_signed

    signature = do_sign(actor(request), study_id, meaning=body.meaning, password=body.password)
    out: dict[str, Any] = present_signed(signature, reader_scope(request))
    return out


@router.get("/participants/{study_id}/signatures", **typed(s.Signatures), tags=["signatures"])
def signatures(request: HttpRequest, study_id: Id) -> dict[str, Any]:
    from combat_norse.crf.access import access_signatures
    from combat_norse.crf.presenters import present_signatures

    scope = reader_scope(request)
    with read_audited(request):
        participant, found = access_signatures(scope, study_id)
    out: dict[str, Any] = present_signatures(participant, found, scope)
    return out


# ---------------------------------------------------------------- queries
QueryStatus = Literal["open", "answered", "closed"] | None


@router.get("/queries", **typed(s.Queries), tags=["queries"])
def queries(request: HttpRequest, response: HttpResponse, page: Query[Page],
            site: str | None = None, status: QueryStatus = None, visit: str | None = None,
            form: str | None = None) -> dict[str, Any]:  # fmt: skip
    from combat_norse.crf.access import access_queries
    from combat_norse.crf.presenters import present_queries

    scope = reader_scope(request)
    with read_audited(request):
        found = list(access_queries(scope, site=site_named(site), status=status))
    obj: dict[str, Any] = present_queries(found, scope)
    return listing(response, obj, "queries", limit=page.limit, offset=page.offset,
                   visit=visit, form=form)  # fmt: skip


@router.get("/queries/summary", **typed(s.QuerySummary), tags=["queries"])
def query_summary(request: HttpRequest, site: str | None = None) -> dict[str, Any]:
    from combat_norse.crf.access import query_counts

    with read_audited(request):
        return {"summary": query_counts(reader_scope(request), site=site_named(site))}


class RaiseIn(In):
    study_id: str
    visit: str
    form: str
    item: str
    text: str
    instance: int | None = Field(None, ge=1, le=1_000_000, strict=True)


@router.post("/queries", **typed(s.QueryState), tags=["queries"])
def query_raise(request: HttpRequest, body: RaiseIn) -> dict[str, Any]:
    from combat_norse.crf.actions.queries import do_raise_query
    from combat_norse.crf.presenters import present_query_state

    query = do_raise_query(actor(request), body.study_id, body.visit, body.form, body.item,
                           text=body.text, instance=body.instance)  # fmt: skip
    out: dict[str, Any] = present_query_state(query)
    return out


class QueryTextIn(In):
    text: str | None = None


def _query_change(request: HttpRequest, which: str, query_id: int,
                  body: QueryTextIn) -> dict[str, Any]:  # fmt: skip
    from combat_norse.crf.actions.queries import (
        do_answer_query,
        do_close_query,
        do_reopen_query,
    )
    from combat_norse.crf.presenters import present_query_state

    action = {"answer": do_answer_query, "close": do_close_query,
              "reopen": do_reopen_query}[which]  # fmt: skip
    out: dict[str, Any] = present_query_state(action(actor(request), query_id, text=body.text))
    return out


QueryId = int


@router.post("/queries/{query_id}/answer", **typed(s.QueryState), tags=["queries"])
def query_answer(request: HttpRequest, query_id: QueryId, body: QueryTextIn) -> dict[str, Any]:
    return _query_change(request, "answer", query_id, body)


@router.post("/queries/{query_id}/close", **typed(s.QueryState), tags=["queries"])
def query_close(request: HttpRequest, query_id: QueryId, body: QueryTextIn) -> dict[str, Any]:
    return _query_change(request, "close", query_id, body)


@router.post("/queries/{query_id}/reopen", **typed(s.QueryState), tags=["queries"])
def query_reopen(request: HttpRequest, query_id: QueryId, body: QueryTextIn) -> dict[str, Any]:
    return _query_change(request, "reopen", query_id, body)


# ---------------------------------------------------------------- due work, safety, treatment
@router.get("/due", **typed(s.DueWork), tags=["safety"])
def due(request: HttpRequest, site: str | None = None) -> dict[str, Any]:
    from combat_norse.safety.access import access_due_work
    from combat_norse.safety.presenters import present_due_work

    where = site_named(site)
    now = timezone.now()
    found = access_due_work(reader_scope(request), site=where, now=now)
    out: dict[str, Any] = present_due_work(found, where.code if where is not None else None, now)
    return out


@router.get("/safety/clocks", **typed(s.Clocks), tags=["safety"])
def safety_clocks(request: HttpRequest, response: HttpResponse, page: Query[Page],
                  site: str | None = None, status: str | None = None,
                  all: bool = False) -> dict[str, Any]:  # fmt: skip
    from combat_norse.safety.access import access_clocks
    from combat_norse.safety.presenters import present_clocks

    clocks = access_clocks(actor(request), site=site_named(site), include_withdrawn=all)
    obj: dict[str, Any] = present_clocks(clocks, timezone.now())
    return listing(response, obj, "clocks", limit=page.limit, offset=page.offset, status=status)


class ReportIn(In):
    to: Literal["coordinating_centre", "regulator"]
    at: str = Field(description="when it was sent: ISO datetime with offset")


@router.post("/safety/events/{ae_id}/reports", **typed(s.SafetyReport), tags=["safety"])
def safety_report(request: HttpRequest, ae_id: Id, body: ReportIn) -> dict[str, Any]:
    from combat_norse.safety.actions.clocks import do_report_safety
    from combat_norse.safety.presenters import present_report

    clock = do_report_safety(actor(request), ae_id, to=body.to, at=body.at)
    out: dict[str, Any] = present_report(clock, timezone.now())
    return out


@router.get("/safety/events", **typed(s.AdverseEvents), tags=["safety"])
def safety_events(request: HttpRequest, site: str | None = None,
                  unresolved: bool = False) -> dict[str, Any]:  # fmt: skip
    from combat_norse.safety.access import access_adverse_events
    from combat_norse.safety.presenters import present_adverse_events

    scope = reader_scope(request)
    events = access_adverse_events(scope, site=site_named(site), unresolved=unresolved)
    out: dict[str, Any] = present_adverse_events(events, scope)
    return out


@router.get("/participants/{study_id}/grades", **typed(s.GradeSuggestions), tags=["safety"])
def safety_grade(request: HttpRequest, study_id: Id) -> dict[str, Any]:
    from combat_norse.safety.access import access_grade_suggestions

    with read_audited(request):
        return access_grade_suggestions(actor(request), study_id)


@router.get("/participants/{study_id}/alerts", **typed(s.Alerts), tags=["safety"])
def alerts(request: HttpRequest, study_id: Id) -> dict[str, Any]:
    from combat_norse.safety.access import access_alerts
    from combat_norse.safety.presenters import present_alerts

    with read_audited(request):
        participant, found = access_alerts(actor(request), study_id)
    out: dict[str, Any] = present_alerts(participant, found)
    return out


@router.get("/participants/{study_id}/treatment", **typed(s.TreatmentUnmasked), tags=["treatment"])
def treatment_show(request: HttpRequest, study_id: Id) -> dict[str, Any]:
    from combat_norse.safety.access import access_treatment
    from combat_norse.safety.presenters import present_treatment

    with read_audited(request):
        found = access_treatment(actor(request), study_id)
    out: dict[str, Any] = present_treatment(*found)
    return out


class PlanIn(In):
    weight_kg: float | str
    reason: str = ""


@router.post("/participants/{study_id}/treatment/plan", **typed(s.DosePlanUnmasked),
             tags=["treatment"])  # fmt: skip
def treatment_plan(request: HttpRequest, study_id: Id, body: PlanIn) -> dict[str, Any]:
    from combat_norse.safety.actions.treatment import do_update_dose_plan
    from combat_norse.safety.presenters import present_plan

    plan = do_update_dose_plan(actor(request), study_id, weight_kg=body.weight_kg,
                               reason=body.reason)  # fmt: skip
    out: dict[str, Any] = present_plan(plan)
    return out


@router.get("/treatment/deviations", **typed(s.DeviationsUnmasked | s.Deviations),
            tags=["treatment"])  # fmt: skip
def treatment_deviations(request: HttpRequest, site: str | None = None,
                         all: bool = False) -> dict[str, Any]:  # fmt: skip
    from combat_norse.safety.access import access_deviations
    from combat_norse.safety.presenters import present_deviation

    rows = access_deviations(actor(request), site=site_named(site), include_cleared=all)
    return {"deviations": [present_deviation(d) for d in rows]}
