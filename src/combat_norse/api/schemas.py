"""What each route answers with 200: one model per presenter's object (issue 18).

Each model's docstring names the presenter whose dict it describes. Models forbid unknown keys
and are strict (no coercion), and ninja validates every answer against its route's model: a
presenter that grows, renames or retypes a key fails the API tests instead of drifting from the
OpenAPI document. An answer keeps the presenter's key order (:class:`Out`), and routes dump
with ``exclude_unset`` (``api.base.typed``), so the JSON is byte for byte the presenter's: a
key the presenter leaves out stays absent (:func:`omitted`), a ``null`` stays ``null``.

**Masked variants** (§11): where a presenter gives a reader who may see the arm more than a
masked reader, the masked model (``Participant``) has no arm-revealing field and the unmasked
one (``ParticipantUnmasked``) extends it with them; the route answers ``Unmasked | Masked``, and
since both forbid unknown keys a masked answer validates only as the masked model. A model only
a reader who may see the arm ever receives (the allocation, the list export, the treatment
record) is named ``...Unmasked`` too. A form's values are one of the models generated from the
form metadata (``crf.catalog``), one per form version; the masked ones leave out every
arm-revealing item and form, so the schema a masked user reads names none of them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    ValidatorFunctionWrapHandler,
    create_model,
    model_serializer,
    model_validator,
)

Number = int | float


def _key_title(name: str, info: Any) -> str:
    return name  # the key itself ("arm_revealing", not "Arm Revealing")


class Out(BaseModel):
    """An answer object: unknown keys and coercions are errors (a presenter drifted). It dumps
    its keys in the order the presenter's dict had them (a record read back from a PostgreSQL
    ``jsonb`` column, a signature's ``covers``, comes in that column's key order)."""

    model_config = ConfigDict(extra="forbid", strict=True, field_title_generator=_key_title)
    _order: tuple[str, ...] = PrivateAttr(default=())

    @model_validator(mode="wrap")
    @classmethod
    def _remember_order(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        made = handler(data)
        if isinstance(data, dict) and isinstance(made, Out):
            made._order = tuple(data)
        return made

    @model_serializer(mode="wrap")
    def _in_order(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        # no return annotation: the JSON schema stays the model's own (``Any`` would erase it)
        out = handler(self)
        if not (self._order and isinstance(out, dict)):
            return out
        return {**{k: out[k] for k in self._order if k in out}, **out}


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def omitted(description: str) -> Any:
    """A key the presenter sets only sometimes (absent otherwise, never ``null``)."""
    return Field(default=None, description=f"{description} (absent otherwise)",
                 json_schema_extra=_no_default)  # fmt: skip


# ---------------------------------------------------------------- me, sites
class Membership(Out):
    """One membership in ``api.routes.me``."""

    role: str
    site: str | None


class Me(Out):
    """``api.routes.me``: the token's user and their memberships."""

    username: str
    memberships: list[Membership]


class SiteOut(Out):
    """``sites.presenters.present_site``."""

    code: str
    name: str
    city: str
    country: str
    country_code: str
    timezone: str
    region: str


class Sites(Out):
    """``GET /sites``: ``present_site`` of every site."""

    sites: list[SiteOut]


# ---------------------------------------------------------------- screening, consent, enroll
class Strata(Out):
    """The strata of a §5 screening result (``ScreeningEntry.result_json``)."""

    age_group: str
    onset_window: str


class ScreeningResult(Out):
    """``participants.presenters.present_screening_result``: the §5 object
    (``ScreeningEntry.result_json``), ``screening_id`` and ``site``."""

    decision: str
    failed: list[str]
    unknown: list[str]
    missing: list[str]
    study_day: int | None
    age_years: int | None
    fires: bool | None
    strata: Strata | None
    screening_id: str
    site: str


class Screening(ScreeningResult):
    """``participants.presenters.present_screening``: the result and the log's fields
    (``reason_not_enrolled`` reads ``[masked]`` for a masked reader when it names a drug)."""

    evaluated_at: str | None
    rules_version: str
    reason_not_enrolled: str | None
    study_id: str | None


class Screenings(Out):
    """``GET /screenings``: ``present_screening`` of each entry."""

    screenings: list[Screening]


class NotEnrolled(Out):
    """``participants.presenters.present_not_enrolled``."""

    screening_id: str
    reason_not_enrolled: str


class ConsentOut(Out):
    """``participants.presenters.present_consent``."""

    consent_id: int
    screening_id: str
    signer: str
    form_version: str
    optional: list[str]


class Enrollment(Out):
    """``participants.presenters.present_enrollment``."""

    study_id: str
    cohort: str
    site: str
    cohort_reason: str = omitted("when the cohort differs from the screening decision")


# ---------------------------------------------------------------- participants
class Participant(Out):
    """``participants.presenters.present_participant`` as a masked reader gets it: nothing of
    the allocation but whether and when it happened (``ParticipantUnmasked`` adds the rest)."""

    study_id: str
    site: str
    screening_id: str
    cohort: str
    cohort_reason: str | None
    status: str
    enrolled_at: str | None
    ended_at: str | None
    end_reason: str | None
    randomized: bool
    randomized_at: str | None


class ParticipantUnmasked(Participant):
    """``present_participant`` for a reader who may see the arm of a randomized participant
    (``participants.presenters.ARM_KEYS``)."""

    arm: str
    code: str
    allocation_in_error: bool


class Participants(Out):
    """``GET /participants`` as a masked reader gets it."""

    participants: list[Participant]


class ParticipantsUnmasked(Out):
    """``GET /participants`` for a reader who may see the arm at some site."""

    participants: list[ParticipantUnmasked | Participant]


class OnsetCorrection(Out):
    """``participants.presenters.present_onset_correction``."""

    study_id: str
    se_onset: str
    discrepancies: dict[str, list[Any]] = omitted("when the corrected onset would have given "
                                                  "another stratum or study day")  # fmt: skip


class Assignment(Out):
    """``participants.presenters.present_assignment``."""

    study_id: str
    assessor: str


class WithdrawalOut(Out):
    """``participants.presenters.present_withdrawal``."""

    study_id: str
    scope: str
    effective_at: str | None


class FollowUpEnd(Out):
    """``participants.presenters.present_follow_up_end``."""

    study_id: str
    status: str
    ended_at: str | None


# ---------------------------------------------------------------- randomization
class ListSetup(Out):
    """``allocation.presenters.present_list_setup`` (the seed as a string)."""

    list_id: int
    design: str
    seed: str
    algorithm_version: str


class ListExtension(Out):
    """``allocation.presenters.present_list_extension``."""

    list_id: int
    stratum: str
    slots_added: int


class ListState(Out):
    """``allocation.presenters.present_list_state``."""

    list_id: int
    environment: str
    active: bool


class ListCheck(Out):
    """``allocation.presenters.present_list_check``."""

    list_id: int
    ok: bool
    problems: list[str]


class AllocationUnmasked(Out):
    """``allocation.presenters.present_allocation`` (a masked reader is refused)."""

    study_id: str
    randomized_at: str
    code: str
    arm: str


class AllocationErrorUnmasked(Out):
    """``allocation.presenters.present_allocation_error`` (statistician)."""

    study_id: str
    in_error: bool
    reason: str


class MarkedInErrorUnmasked(Out):
    """One allocation marked in error in ``allocation.actions.balance_report``."""

    study_id: str
    arm: str
    reason: str


class BalanceUnmasked(Out):
    """``allocation.actions.balance_report``: allocations by arm (statistician)."""

    total: dict[str, int]
    by_stratum: dict[str, dict[str, int]]
    by_site: dict[str, dict[str, int]]
    marked_in_error: list[MarkedInErrorUnmasked]


class ListSlotUnmasked(Out):
    """One slot of a permuted-block list in ``allocation.actions.export_list``."""

    stratum: str
    sequence: int
    block_number: int
    block_size: int
    position_in_block: int
    arm: str
    code: str
    study_id: str | None


class ListAllocationUnmasked(Out):
    """One allocation of a minimization list in ``allocation.actions.export_list``."""

    sequence_number: int
    factors: dict[str, Any]
    arm: str
    code: str
    study_id: str


class ListExportUnmasked(Out):
    """``allocation.actions.export_list``: the whole list (statistician)."""

    list_id: int
    design: str
    environment: str
    seed: str
    algorithm_version: str
    parameters: dict[str, Any]
    active: bool
    slots: list[ListSlotUnmasked] = omitted("a permuted-block list")
    allocations: list[ListAllocationUnmasked] = omitted("a minimization list")


# ---------------------------------------------------------------- unmasking
class DeliberateUnmaskingUnmasked(Out):
    """``allocation.presenters.present_deliberate_unmasking``: the arm, to the reader whose
    deliberate unmasking was just recorded."""

    study_id: str
    unmasking_id: int
    arm: str | None


class UnmaskingRecord(Out):
    """``participants.presenters.present_unmasking_record``: that the allocation became known
    to the assessor, never what it is."""

    unmasking_id: int
    study_id: str
    assessor: str
    kind: str


class UnmaskingEntry(Out):
    """``participants.presenters.present_unmasking_entry`` (``how`` masked when it names a
    drug and the reader is masked at the site)."""

    type: Literal["unmasking"]
    kind: str
    study_id: str
    user: str
    occurred_at: str | None
    how: str | None


class AssessedUnmaskedEntry(Out):
    """``crf.presenters.present_assessed_unmasked_entry`` (no values)."""

    type: Literal["assessed_unmasked"]
    study_id: str
    user: str | None
    visit: str
    instrument: str
    instance: int
    occurred_at: str


class Unmaskings(Out):
    """``GET /unmaskings``: ``crf.actions.reports.unmasking_report``."""

    unmaskings: list[UnmaskingEntry | AssessedUnmaskedEntry]


class EnrollmentReport(Out):
    """``participants.access.enrollment_counts``: counts by cohort (blinded)."""

    total: dict[str, int]
    by_site: dict[str, dict[str, int]]
    by_month: dict[str, dict[str, int]]


# ---------------------------------------------------------------- data capture (§14)
class RequiredIf(Out):
    """``required_when``/``required_unless`` of ``crf.metadata.ItemDef.as_json``: the other
    item and the values (``in``) that make this one required or not."""

    model_config = ConfigDict(extra="allow", strict=True, field_title_generator=_key_title)
    # ``in`` (a Python keyword) is the extra key
    item: str


class SIAlternativeOut(Out):
    """One SI alternative in ``crf.metadata.ItemDef.as_json``."""

    code: str
    unit: str
    factor: Number | None


class DictionaryItem(Out):
    """An item as ``crf.presenters.present_forms`` lists it (``DICTIONARY_ITEM_KEYS``)."""

    code: str
    type: str
    unit: str | None
    min: Number | None
    max: Number | None
    choices: list[str] | None
    required: bool
    arm_revealing: bool


class DictionaryItemFull(DictionaryItem):
    """An item of the full data dictionary: ``crf.metadata.ItemDef.as_json``."""

    label: str
    cdash: str | None
    sdtm: str | None
    si_alternatives: list[SIAlternativeOut] | None
    required_when: RequiredIf = omitted("an item required only given another's value")
    required_unless: RequiredIf = omitted("an item required unless another has a value")
    not_future: bool = omitted("a date or time that cannot lie ahead")


class DictionaryForm(Out):
    """A form as ``crf.presenters.present_forms`` lists it (a masked reader gets no
    arm-revealing form or item)."""

    code: str
    version: int
    title: str
    arm_revealing: bool
    items: list[DictionaryItem]


class DictionaryFormFull(Out):
    """A form of the full data dictionary: ``crf.metadata.FormDef.as_json`` and its
    ``languages``."""

    code: str
    version: int
    title: str
    arm_revealing: bool
    repeating: bool
    visits: list[str]
    items: list[DictionaryItemFull]
    languages: list[str]


class Forms(Out):
    """``crf.presenters.present_forms``."""

    forms: list[DictionaryForm] | list[DictionaryFormFull]


class VisitForm(Out):
    """A form of a visit in ``crf.presenters.present_visits``."""

    form: str
    status: str
    instance: int = omitted("a repeating form")


class VisitOut(Out):
    """A visit in ``crf.presenters.present_visits`` (a masked reader is not told of
    arm-revealing forms)."""

    visit: str
    target: str | None
    earliest: str | None
    latest: str | None
    status: str
    forms: list[VisitForm]


class Visits(Out):
    """``crf.presenters.present_visits``."""

    study_id: str
    visits: list[VisitOut]


class VisitMissed(Out):
    """``POST .../visits/{visit}/missed``: the visit's new status."""

    study_id: str
    visit: str
    status: str


class SignatureBrief(Out):
    """``crf.presenters._signature_brief`` (``form show``'s ``signature``)."""

    signature_id: int
    meaning: str
    signer: str
    signer_name: str
    signed_at: str
    valid: bool


def _item_type(item: Any) -> Any:
    """The JSON type of a stored item value (``crf.metadata.ItemDef.parse``); free text that
    may name a drug reads ``[masked]`` for a masked reader, still a string. A code list that
    names a drug (the dose form's ``drug``) is a plain string: the schema, which anyone may
    read, names no drug."""
    from combat_norse.core.masking import mentions_drug
    from combat_norse.crf.metadata import ItemType

    listed = item.choices and not any(mentions_drug(c) for c in item.choices)
    choices = Literal[item.choices] if listed else str
    return {
        ItemType.INTEGER: int, ItemType.DECIMAL: Number, ItemType.BOOLEAN: bool,
        ItemType.CHOICE: choices, ItemType.MULTI: list[choices],  # type: ignore[valid-type]
    }.get(item.type, str)  # fmt: skip


_ITEMS_MODELS: dict[tuple[str, int, bool], type[Out]] = {}


def _items_model(form: Any, *, masked: bool) -> type[Out]:
    """The values of one form version as a model: its items in form order, each optional (a
    form is saved in parts); ``masked``: without the arm-revealing items. One model per name
    (a form without arm-revealing items has one for both readers)."""
    name = "".join(p.title() for p in form.code.split("_")) + f"V{form.version}Items"
    has_hidden = form.arm_revealing or any(i.arm_revealing for i in form.items)
    key = (form.code, form.version, masked and has_hidden)
    if key in _ITEMS_MODELS:
        return _ITEMS_MODELS[key]
    fields: dict[str, Any] = {i.code: (_item_type(i), _entered(i.label)) for i in form.items
                              if not (masked and i.arm_revealing)}  # fmt: skip
    suffix = "Unmasked" if has_hidden and not masked else ""
    who = ("" if not has_hidden else " as a masked reader gets them (no arm-revealing item)"
           if masked else ", with the arm-revealing items")  # fmt: skip
    made: type[Out] = create_model(
        name + suffix, __base__=Out, __module__=__name__,
        __doc__=f"The values of form ``{form.code}`` version {form.version}{who}: "
                "``crf.presenters.shown_values`` (generated from ``crf.catalog``).",
        **fields,
    )  # fmt: skip
    _ITEMS_MODELS[key] = made
    return made


def _entered(label: str) -> Any:
    """An item: absent until entered (a cleared item is removed, never ``null``)."""
    return Field(default=None, description=label, json_schema_extra=_no_default)


def _values_type(*, masked: bool) -> Any:
    """A form's ``values``: one of the per-form-version models (``masked``: the arm-revealing
    forms left out, and the arm-revealing items of the others)."""
    from functools import reduce
    from operator import or_

    from combat_norse.crf import catalog

    models = [_items_model(f, masked=masked) for f in catalog.FORMS
              if not (masked and f.arm_revealing)]  # fmt: skip
    return reduce(or_, models)


_FORM_DOC = ("``crf.presenters.present_form``: {who}; ``values`` the items of one form "
             "version{what}.")  # fmt: skip
_FORM_FIELDS: dict[str, Any] = {
    "version": (int, ...), "status": (str, ...), "sdv": (str, ...),
    "signature": (SignatureBrief | None, ...), "assessed_unmasked": (bool, ...),
}  # fmt: skip

FormValues: type[Out] = create_model(
    "FormValues", __base__=Out,
    __doc__=_FORM_DOC.format(who="as a masked reader gets it",
                             what=", without any arm-revealing item or form"),
    values=(_values_type(masked=True), ...), **_FORM_FIELDS,
)  # fmt: skip
FormValuesUnmasked: type[Out] = create_model(
    "FormValuesUnmasked", __base__=Out,
    __doc__=_FORM_DOC.format(who="for a reader who may see the arm", what=""),
    values=(_values_type(masked=False), ...), **_FORM_FIELDS,
)  # fmt: skip


class QueryBrief(Out):
    """``crf.presenters.present_query``."""

    id: int
    item: str
    text: str


class FormSaved(Out):
    """``crf.presenters.present_form_save``."""

    study_id: str
    visit: str
    form: str
    instance: int
    form_version: int
    version: int
    status: str
    queries: list[QueryBrief]
    ae_id: str = omitted("an adverse event")


class FormState(Out):
    """``crf.presenters.present_form_state``."""

    status: str
    sdv: str


class CoverScreening(Out):
    """A screening entry an eligibility signature covers (``crf.actions.signatures``)."""

    kind: Literal["screening"]
    id: str
    decision_id: int | None


class CoverConsent(Out):
    """A consent an eligibility signature covers."""

    kind: Literal["consent"]
    id: int
    signer: str
    form_version: str


class CoverForm(Out):
    """A form instance a casebook signature covers (a masked reader is not told of
    arm-revealing forms: ``crf.presenters.shown_covers``)."""

    kind: Literal["form"]
    id: int
    visit: str
    form: str
    instance: int
    version: int


Cover = CoverScreening | CoverConsent | CoverForm


class Signed(Out):
    """``crf.presenters.present_signed``."""

    signature_id: int
    meaning: str
    signed_at: str
    covers: list[Cover]


class SignatureOut(SignatureBrief):
    """A signature in ``crf.presenters.present_signatures``."""

    covers: list[Cover]


class Signatures(Out):
    """``crf.presenters.present_signatures``."""

    study_id: str
    signatures: list[SignatureOut]


# ---------------------------------------------------------------- queries
class QueryRow(Out):
    """A query in ``crf.presenters.present_queries`` (text naming a drug reads ``[masked]``
    for a masked reader)."""

    id: int
    study_id: str
    visit: str
    form: str
    instance: int
    item: str
    status: str
    origin: str
    text: str
    opened_at: str


class Queries(Out):
    """``crf.presenters.present_queries``."""

    queries: list[QueryRow]


class QueryCounts(Out):
    """``crf.access.query_counts``."""

    open: int
    answered: int
    by_site: dict[str, int]
    by_form: dict[str, int]
    by_age_days: dict[str, int]


class QuerySummary(Out):
    """``GET /queries/summary``."""

    summary: QueryCounts


class QueryState(Out):
    """``crf.presenters.present_query_state``."""

    id: int
    status: str


# ---------------------------------------------------------------- due work, safety, treatment
class OverdueVisit(Out):
    """An overdue visit in ``crf.presenters.present_due``."""

    study_id: str
    visit: str
    latest: str | None
    status: str


class IncompleteForm(Out):
    """An incomplete form in ``crf.presenters.present_due``."""

    study_id: str
    visit: str
    form: str
    instance: int
    status: str


class OpenQuery(Out):
    """An open query in ``crf.presenters.present_due``."""

    id: int
    study_id: str
    visit: str
    form: str
    item: str
    opened_at: str


class UnsignedCasebook(Out):
    """A casebook awaiting its signature in ``crf.presenters.present_due``."""

    study_id: str


class Clock(Out):
    """``safety.presenters.present_clock`` (no drug, term or narrative)."""

    ae_id: str
    study_id: str
    kind: str
    country: str
    due: str | None
    status: str


class OverdueLabs(Out):
    """An overdue safety-lab draw in ``safety.presenters.present_due_work``."""

    study_id: str
    labs: str
    due_by: str | None


class DueWork(Out):
    """``safety.presenters.present_due_work`` (``crf.presenters.present_due`` and the safety
    lists)."""

    site: str | None
    overdue_visits: list[OverdueVisit]
    incomplete_forms: list[IncompleteForm]
    open_queries: list[OpenQuery]
    unsigned_casebooks: list[UnsignedCasebook]
    open_clocks: list[Clock]
    overdue_safety_labs: list[OverdueLabs]


class Clocks(Out):
    """``safety.presenters.present_clocks``."""

    clocks: list[Clock]


class SafetyReport(Out):
    """``safety.presenters.present_report``."""

    ae_id: str
    kind: str
    status: str


class AdverseEventRow(Out):
    """An event in ``safety.presenters.present_adverse_events`` (a term naming a drug reads
    ``[masked]`` for a masked reader)."""

    ae_id: str
    study_id: str
    term: str | None
    grade: int | None
    serious: bool | None
    onset_date: str | None
    outcome: str | None
    resolved_on: str | None
    status: str
    susar: bool


class AdverseEvents(Out):
    """``safety.presenters.present_adverse_events``."""

    adverse_events: list[AdverseEventRow]


class GradeSuggestion(Out):
    """A suggested CTCAE grade in ``safety.access.access_grade_suggestions``."""

    term: str
    item: str
    value: Number
    grade: int
    basis: str
    labs_instance: int
    collected_at: str | None


class GradeSuggestions(Out):
    """``safety.access.access_grade_suggestions``."""

    study_id: str
    suggestions: list[GradeSuggestion]


class LabAlertOut(Out):
    """An alert in ``safety.presenters.present_alerts``."""

    kind: str
    item: str
    value: Number | None
    rule: str
    raised_at: str | None


class Alerts(Out):
    """``safety.presenters.present_alerts``."""

    alerts: list[LabAlertOut]


class DosePlanUnmasked(Out):
    """``safety.presenters.present_plan`` (the drug: a masked reader is refused)."""

    study_id: str
    drug: str
    weight_kg: Number
    basis: str
    reason: str
    created_at: str | None
    superseded_at: str | None
    suggestion: dict[str, Any] | None


class DoseUnmasked(Out):
    """``safety.presenters.present_dose``: a dose record's items (the dose form)."""

    instance: int
    drug: str | None
    administered: str | None
    dose_mg: Number | None
    route: str | None
    given_at: str | None
    given_by: str | None
    not_given_reason: str | None
    status: str


class DeviationUnmasked(Out):
    """``safety.presenters.present_deviation`` (a dose deviation: arm-revealing record)."""

    study_id: str
    dose_instance: int | None
    kind: str
    detail: str
    detected_at: str | None
    cleared_at: str | None


class ExposureUnmasked(Out):
    """``safety.actions.treatment.exposure``: the first study-drug dose given."""

    drug: str
    given_at: str
    study_day: int | None
    instance: int


class TreatmentUnmasked(Out):
    """``safety.presenters.present_treatment`` (a masked reader is refused)."""

    study_id: str
    cohort: str
    zone: str
    plan: DosePlanUnmasked | None
    earlier_plans: list[DosePlanUnmasked]
    doses: list[DoseUnmasked]
    deviations: list[DeviationUnmasked]
    exposure: ExposureUnmasked | None


class DeviationsUnmasked(Out):
    """``GET /treatment/deviations``: ``present_deviation`` of each."""

    deviations: list[DeviationUnmasked]


class Deviations(Out):
    """``GET /treatment/deviations`` as a reader masked everywhere gets it: an empty list
    (``safety.access.access_deviations`` keeps only participants the reader is not masked to)."""

    deviations: list[Any] = Field(max_length=0)


# ---------------------------------------------------------------- review, pharmacy, reports
class AuditEventOut(Out):
    """An event in ``crf.presenters.present_audit_trail`` (a masked reader's ``changes`` hold
    no arm-revealing item, and a value naming a drug reads ``[masked]``)."""

    seq: int
    occurred_at: str
    actor: str
    action: str
    object: str
    changes: dict[str, Any]
    reason: str


class AuditTrail(Out):
    """``crf.presenters.present_audit_trail``: a participant's audit trail."""

    study_id: str
    zone: str
    events: list[AuditEventOut]


class ReviewForm(Out):
    """A row of ``crf.presenters.present_review_forms``."""

    study_id: str
    site: str
    visit: str
    form: str
    instance: int
    status: str
    sdv: str
    version: int
    saved_at: str
    zone: str


class ReviewForms(Out):
    """``crf.presenters.present_review_forms``: the review worklist."""

    forms: list[ReviewForm]


class MissingForm(Out):
    """A row of ``crf.presenters.present_missing_forms``: a form a visit expects, never
    started, the visit's window closed (the site's local dates)."""

    study_id: str
    site: str
    visit: str
    form: str
    target: str | None
    window_closed_on: str
    days_overdue: int


class MissingForms(Out):
    """``crf.presenters.present_missing_forms``: the missing forms by site."""

    forms: list[MissingForm]


class PharmacyAllocationUnmasked(ParticipantUnmasked):
    """A row of ``allocation.presenters.present_pharmacy_allocations``: ``present_participant``
    for a reader who may see the arm, with the site's zone."""

    zone: str


class PharmacyAllocationsUnmasked(Out):
    """``allocation.presenters.present_pharmacy_allocations`` (only rows whose arm the reader
    may see: the pharmacist's)."""

    allocations: list[PharmacyAllocationUnmasked]


class ClosedReportUnmasked(Out):
    """``allocation.access.access_arm_aggregates``: the closed report by arm (DSMB member,
    statistician; never a masked reader)."""

    total: dict[str, int]
    by_site: dict[str, dict[str, int]]
    marked_in_error: dict[str, int]


# ---------------------------------------------------------------- administration, tokens
class AccountMembership(Out):
    """A membership in ``accounts.presenters.present_account`` (``id`` for a withdrawal)."""

    id: int
    role: str
    site: str | None
    active: bool


class Account(Out):
    """``accounts.presenters.present_account`` (``last_login`` as ISO text; never a password
    or a key)."""

    username: str
    email: str
    active: bool
    last_login: str | None
    two_factor: bool
    memberships: list[AccountMembership]


class Accounts(Out):
    """``GET /admin/users``."""

    users: list[Account]


class Granted(Out):
    """``accounts.presenters.present_new_user`` and, on this answer only, a new user's
    one-time password (null for an existing user)."""

    username: str
    role: str
    sites: list[str]
    one_time_password: str | None


class Revoked(Out):
    """``POST /admin/revocations``: the membership withdrawn."""

    membership: int
    username: str
    role: str
    site: str | None
    active: bool


class TokenOut(Out):
    """``accounts.presenters.present_token`` (the token itself only at creation, which has no
    route)."""

    prefix: str
    username: str
    created_at: str
    expires_at: str
    revoked_at: str | None
    last_used_at: str | None
    state: str
    token: str = omitted("at creation")


class Tokens(Out):
    """``GET /me/tokens``."""

    tokens: list[TokenOut]
