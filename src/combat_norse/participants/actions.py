"""State changes of participants (``do_*``): each checks, changes and audits in one
transaction; UI, API and command line all call these (DESIGN.md principle 2).

A refusal (a protocol rule or a permission) raises :class:`Refused` after writing one audit
event of the attempt in its own transaction, and nothing else (PROTOCOL.md §13).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from combat_norse.audit.api import audited_save, record_event
from combat_norse.participants.models import (
    AssessorAssignment,
    Cohort,
    Consent,
    OptionalConsent,
    OutcomeAssessment,
    Participant,
    ParticipantStatus,
    ScreeningDecision,
    ScreeningEntry,
    Signer,
    SiteCounter,
    Unmasking,
    UnmaskingKind,
    Withdrawal,
    WithdrawalScope,
)
from combat_norse.protocol import (
    Decision,
    RecordError,
    ScreeningRecord,
    ScreeningResult,
    evaluate,
    parse_screening_record,
    record_to_json,
)
from combat_norse.sites.access import AccessDenied, Scope, scope_for
from combat_norse.sites.models import Site
from combat_norse.sites.roles import Role

T = TypeVar("T")
CLOCK_SKEW = timedelta(minutes=5)  # bedside clocks run a little fast; more is a typing error

# Who may do what (PROTOCOL.md §11, §13). Central data managers correct data but do not
# screen, consent or enroll at the bedside.
SCREENING_ROLES = frozenset({Role.SITE_COORDINATOR, Role.SITE_INVESTIGATOR})
CONSENT_ROLES = SCREENING_ROLES
ENROLL_ROLES = SCREENING_ROLES
FOLLOW_UP_ROLES = frozenset({Role.SITE_COORDINATOR, Role.SITE_INVESTIGATOR, Role.DATA_MANAGER})
ASSIGN_ROLES = frozenset({Role.SITE_COORDINATOR, Role.SITE_INVESTIGATOR, Role.DATA_MANAGER})
OUTCOME_ROLES = frozenset({Role.OUTCOME_ASSESSOR})
UNMASKING_RECORDER_ROLES = frozenset(
    {Role.OUTCOME_ASSESSOR, Role.SITE_COORDINATOR, Role.SITE_INVESTIGATOR, Role.DATA_MANAGER}
)


class Refused(Exception):
    """Refused by a rule or a permission; ``str()`` is the reason after ``refused:``."""


class BadRequest(ValueError):
    """Malformed input; ``field`` names it (exit status 2 on the command line)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


@dataclasses.dataclass(frozen=True)
class Attempt:
    """What an audited refusal is about."""

    action: str
    object_type: str = ""
    object_id: str = ""
    site_code: str | None = None
    participant_ref: str | None = None

    @classmethod
    def on_participant(cls, action: str, participant: Participant) -> Attempt:
        return cls(action, "participants.Participant", str(participant.pk),
                   participant.site.code, participant.study_id)  # fmt: skip

    @classmethod
    def on_screening(cls, action: str, entry: ScreeningEntry) -> Attempt:
        return cls(action, "participants.ScreeningEntry", str(entry.pk), entry.site.code,
                   entry.screening_id)  # fmt: skip


@contextmanager
def refusals_audited(actor: User, attempt: Attempt) -> Iterator[None]:
    """Run a change; if it is refused (Refused or AccessDenied), the change is rolled back and
    one ``<action>_refused`` event records the attempt, then the refusal propagates."""
    try:
        yield
    except (Refused, AccessDenied) as exc:
        if isinstance(exc, AccessDenied):
            reason = f"{exc.reason} ({exc.detail})" if exc.detail else exc.reason
        else:
            reason = str(exc)
        with transaction.atomic():
            record_event(
                actor=actor,
                action=f"{attempt.action}_refused",
                object_type=attempt.object_type,
                object_id=attempt.object_id,
                site_code=attempt.site_code,
                participant_ref=attempt.participant_ref,
                reason=reason[:500],
            )
        if isinstance(exc, AccessDenied):
            raise Refused(exc.reason) from exc
        raise


@contextmanager
def read_refusals_audited(actor: User, action: str) -> Iterator[None]:
    """For reads (reports, exports): a permission refusal leaves one ``<action>_refused``
    event and propagates as AccessDenied."""
    try:
        yield
    except AccessDenied as exc:
        with transaction.atomic():
            record_event(actor=actor, action=f"{action}_refused", reason=exc.reason)
        raise


def _next_number(site: Site, kind: str) -> int:
    counter, _ = SiteCounter.unscoped.get_or_create(site=site, kind=kind)
    counter = SiteCounter.unscoped.select_for_update(no_key=True).get(pk=counter.pk)
    counter.last += 1
    counter.save(update_fields=["last"])
    return counter.last


def _as_aware(value: datetime | None) -> datetime:
    if value is None:
        return timezone.now()
    if timezone.is_naive(value):
        raise BadRequest("time", "must carry a UTC offset")
    return value


# ------------------------------------------------------------------------- screening
def check_screening_record(
    data: Mapping[str, Any] | object, site: Site, now: datetime
) -> tuple[ScreeningRecord, tuple[str, ...]]:
    """Parse a record for ``site``: fill ``site_timezone`` with the site's zone (a different one
    is bad input) and ``evaluated_at`` with now when absent."""
    if not isinstance(data, Mapping):
        raise RecordError("record", "expected a JSON object")
    doc = dict(data)
    given = doc.get("site_timezone")
    if given is None:
        doc["site_timezone"] = site.timezone
    elif given != site.timezone:
        raise RecordError(
            "site_timezone", f"{given!r} differs from site {site.code}'s zone {site.timezone!r}"
        )
    if doc.get("evaluated_at") is None:
        doc["evaluated_at"] = now.isoformat()
    parsed = parse_screening_record(doc)
    record = parsed.record
    latest = now + CLOCK_SKEW
    for name in ("se_onset", "evaluated_at", "febrile_illness_onset"):
        value = getattr(record, name)
        if value is not None and value > latest:
            raise RecordError(name, "is in the future")
    return record, parsed.warnings


def _store_decision(
    entry: ScreeningEntry,
    record: ScreeningRecord,
    result: ScreeningResult,
    actor: User,
    now: datetime,
    purpose: str,
) -> None:
    if record.evaluated_at is None:  # check_screening_record always sets it
        raise ValueError("evaluated_at is required")
    entry.record = record_to_json(record)
    entry.se_onset = record.se_onset
    entry.evaluated_at = record.evaluated_at
    entry.decision = result.decision.value
    entry.failed = list(result.failed)
    entry.unknown = list(result.unknown)
    entry.missing = list(result.missing)
    entry.study_day = result.study_day
    entry.elapsed_hours = result.elapsed_hours
    entry.age_years = result.age_years
    entry.fires = result.fires
    entry.age_group = result.strata.age_group.value if result.strata else ""
    entry.onset_window = result.strata.onset_window.value if result.strata else ""
    entry.rules_version = result.rules_version


def _log_decision(
    entry: ScreeningEntry,
    record: ScreeningRecord,
    result: ScreeningResult,
    actor: User,
    now: datetime,
    purpose: str,
) -> ScreeningDecision:
    if record.evaluated_at is None:
        raise ValueError("evaluated_at is required")
    decision = ScreeningDecision(
        screening=entry,
        decided_at=now,
        decided_by=actor,
        purpose=purpose,
        evaluated_at=record.evaluated_at,
        rules_version=result.rules_version,
        record=record_to_json(record),
        result=result.to_json(),
    )
    audited_save(decision, actor=actor)
    return decision


def do_screen(
    actor: User, site: Site, data: Mapping[str, Any] | object, *, now: datetime | None = None
) -> tuple[ScreeningEntry, tuple[str, ...]]:
    """Add a patient to the screening log with the decision of PROTOCOL.md §5."""
    now = _as_aware(now)
    attempt = Attempt("screen", "participants.ScreeningEntry", site_code=site.code)
    with refusals_audited(actor, attempt), transaction.atomic():
        scope_for(actor).require(site.pk, roles=SCREENING_ROLES, action="screen")
        record, warnings = check_screening_record(data, site, now)
        result = evaluate(record)
        number = _next_number(site, "screening")
        entry = ScreeningEntry(
            screening_id=f"{site.code}-S{number:04d}", site=site, created_at=now, created_by=actor
        )
        _store_decision(entry, record, result, actor, now, "screening")
        audited_save(entry, actor=actor)
        _log_decision(entry, record, result, actor, now, "screening")
    return entry, warnings


def do_rescreen(
    actor: User,
    entry: ScreeningEntry,
    data: Mapping[str, Any] | object,
    *,
    reason: str,
    now: datetime | None = None,
) -> tuple[ScreeningEntry, tuple[str, ...]]:
    """Re-evaluate a screening entry as data arrive; earlier decisions stay in its history."""
    now = _as_aware(now)
    if not reason.strip():
        raise BadRequest("reason", "re-screening changes saved data: give a reason")
    attempt = Attempt.on_screening("rescreen", entry)
    with refusals_audited(actor, attempt), transaction.atomic():
        scope_for(actor).require(entry.site_id, roles=SCREENING_ROLES, action="rescreen")
        entry = ScreeningEntry.unscoped.select_for_update(no_key=True).get(pk=entry.pk)
        if hasattr(entry, "participant"):
            raise Refused(f"already enrolled as {entry.participant.study_id}")
        record, warnings = check_screening_record(data, entry.site, now)
        result = evaluate(record)
        _store_decision(entry, record, result, actor, now, "rescreen")
        audited_save(entry, actor=actor, reason=reason)
        _log_decision(entry, record, result, actor, now, "rescreen")
    return entry, warnings


def do_record_not_enrolled(actor: User, entry: ScreeningEntry, reason: str) -> ScreeningEntry:
    """Record why a screened patient was not enrolled (for the CONSORT diagram)."""
    if not reason.strip():
        raise BadRequest("reason", "give the reason the patient was not enrolled")
    attempt = Attempt.on_screening("not_enrolled", entry)
    with refusals_audited(actor, attempt), transaction.atomic():
        scope_for(actor).require(entry.site_id, roles=SCREENING_ROLES, action="not enrolled")
        entry = ScreeningEntry.unscoped.select_for_update(no_key=True).get(pk=entry.pk)
        if Participant.unscoped.filter(screening=entry).exists():
            raise Refused("already enrolled")
        entry.reason_not_enrolled = reason.strip()
        audited_save(entry, actor=actor, reason="reason not enrolled recorded")
    return entry


# ------------------------------------------------------------------------- consent
def _optional(values: Iterable[str]) -> list[str]:
    allowed = {o.value for o in OptionalConsent}
    chosen = sorted({v.strip() for v in values if v.strip()})
    unknown = [v for v in chosen if v not in allowed]
    if unknown:
        raise BadRequest(
            "optional",
            f"unknown optional consent {', '.join(unknown)}; one of {', '.join(sorted(allowed))}",
        )
    return chosen


def do_record_consent(
    actor: User,
    entry: ScreeningEntry,
    *,
    signer: str,
    form_version: str,
    optional: Iterable[str] = (),
    signed_at: datetime | None = None,
    now: datetime | None = None,
) -> Consent:
    """Record a signed consent. A patient's signature after an LAR's is a re-consent (the
    patient regained capacity); it replaces the optional choices."""
    now = _as_aware(now)
    signed = _as_aware(signed_at) if signed_at is not None else now
    if signer not in {s.value for s in Signer}:
        raise BadRequest("signer", "must be patient or lar")
    if not form_version.strip() or len(form_version) > 32:
        raise BadRequest("form_version", "give the consent form version (1–32 characters)")
    if signed > now:
        raise BadRequest("signed_at", "is in the future")
    chosen = _optional(optional)
    attempt = Attempt.on_screening("consent", entry)
    with refusals_audited(actor, attempt), transaction.atomic():
        scope_for(actor).require(entry.site_id, roles=CONSENT_ROLES, action="consent")
        entry = ScreeningEntry.unscoped.select_for_update(no_key=True).get(pk=entry.pk)
        previous = list(Consent.unscoped.filter(screening=entry))
        participant = Participant.unscoped.filter(screening=entry).first()
        if (
            participant
            and Withdrawal.unscoped.filter(
                participant=participant, scope=WithdrawalScope.STOP_ALL_DATA
            ).exists()
        ):
            raise Refused("participant withdrew from all data collection")
        reconsent = any(c.signer == Signer.LAR for c in previous) and signer == Signer.PATIENT
        consent = Consent(
            screening=entry,
            signer=signer,
            form_version=form_version.strip(),
            signed_at=signed,
            obtained_by=actor,
            is_reconsent=reconsent,
            optional=chosen,
            recorded_at=now,
        )
        audited_save(consent, actor=actor)
    return consent


def valid_consent(
    entry: ScreeningEntry, *, purpose: str = "participation", at: datetime | None = None
) -> Consent | None:
    """The consent that covers ``purpose`` at ``at`` (None when none does).

    ``purpose``: ``participation`` (enrolment, randomization, treatment), ``follow_up``, or an
    optional consent (``interview``, ``annual_followup``, ``biosamples``). A withdrawal removes
    what its scope names from its effective time on.
    """
    at = at or timezone.now()
    latest = (
        Consent.unscoped.filter(screening=entry, signed_at__lte=at)
        .order_by("-signed_at", "-id")
        .first()
    )
    if latest is None:
        return None
    scopes = set(
        Withdrawal.unscoped.filter(participant__screening=entry, effective_at__lte=at).values_list(
            "scope", flat=True
        )
    )  # none before enrollment: withdrawals belong to participants
    if WithdrawalScope.STOP_ALL_DATA in scopes or WithdrawalScope.STOP_FOLLOW_UP in scopes:
        return None
    if purpose == "participation" and WithdrawalScope.STOP_TREATMENT in scopes:
        return None
    if purpose in {o.value for o in OptionalConsent} and purpose not in latest.optional:
        return None
    return latest


# ------------------------------------------------------------------------- enrollment
def _evaluate_now(entry: ScreeningEntry, now: datetime) -> tuple[ScreeningRecord, ScreeningResult]:
    doc = dict(entry.record)
    doc["evaluated_at"] = now.isoformat()
    record = parse_screening_record(doc).record
    return record, evaluate(record)


def _explain(result: ScreeningResult) -> str:
    if result.failed:
        return f"{result.decision.value}: failed {', '.join(result.failed)}"
    return f"{result.decision.value}: unknown {', '.join(result.unknown)}"


def do_enroll(
    actor: User,
    entry: ScreeningEntry,
    *,
    observational_reason: str = "",
    now: datetime | None = None,
) -> Participant:
    """Enroll a screened, consented patient; the cohort comes from routing at this moment.

    A randomized-cohort candidate is enrolled in the observational cohort instead when
    ``observational_reason`` says why randomization is not possible. Enrolling twice returns
    the first enrollment.
    """
    now = _as_aware(now)
    attempt = Attempt.on_screening("enroll", entry)
    with refusals_audited(actor, attempt), transaction.atomic():
        scope_for(actor).require(entry.site_id, roles=ENROLL_ROLES, action="enroll")
        entry = (
            ScreeningEntry.unscoped.select_for_update(of=("self",), no_key=True)
            .select_related("site")
            .get(pk=entry.pk)
        )
        existing = Participant.unscoped.filter(screening=entry).first()
        if existing is not None:
            return existing
        if valid_consent(entry, at=now) is None:
            raise Refused("no valid consent")
        record, result = _evaluate_now(entry, now)
        if result.decision is Decision.RANDOMIZED_COHORT:
            cohort = Cohort.OBSERVATIONAL if observational_reason.strip() else Cohort.RANDOMIZED
            reason = observational_reason.strip()
        elif result.decision is Decision.OBSERVATIONAL_COHORT:
            cohort, reason = Cohort.OBSERVATIONAL, f"routing: failed {', '.join(result.failed)}"
        else:
            raise Refused(_explain(result))
        _log_decision(entry, record, result, actor, now, "enrollment")
        number = _next_number(entry.site, "study")
        participant = Participant(
            study_id=f"{entry.site.code}-{number:03d}",
            site=entry.site,
            screening=entry,
            cohort=cohort,
            cohort_reason=reason,
            enrolled_at=now,
            enrolled_by=actor,
        )
        audited_save(participant, actor=actor)
    return participant


def do_move_to_observational(
    actor: User | None,
    participant: Participant,
    reason: str,
) -> Participant:
    """A randomized-cohort participant who cannot be randomized (e.g. day 8 reached) joins the
    observational cohort; an allocated participant never moves."""
    from combat_norse.allocation.models import Allocation

    with transaction.atomic():
        participant = Participant.unscoped.select_for_update(no_key=True).get(pk=participant.pk)
        if participant.cohort == Cohort.OBSERVATIONAL:
            return participant
        if Allocation.unscoped.filter(participant=participant).exists():
            raise Refused("participant is randomized; the allocation stands")
        participant.cohort = Cohort.OBSERVATIONAL
        participant.cohort_reason = reason
        audited_save(participant, actor=actor, reason=reason)
    return participant


def expire_unrandomized(now: datetime | None = None) -> list[str]:
    """Move randomized-cohort participants still unrandomized after day 7 (in their site's zone)
    to the observational cohort. Idempotent; run by the periodic clock task."""
    from combat_norse.allocation.models import Allocation
    from combat_norse.protocol import DEFAULT, study_day

    now = _as_aware(now)
    moved = []
    allocated = Allocation.unscoped.values("participant_id")
    candidates = (
        Participant.unscoped.filter(cohort=Cohort.RANDOMIZED)
        .exclude(pk__in=allocated)
        .select_related("site", "screening")
    )
    for p in candidates:
        onset = p.screening.se_onset
        if onset is None:
            continue
        zone = p.screening.record.get("site_timezone") or p.site.timezone
        day = study_day(onset, now, zone)
        if day > DEFAULT.max_study_day:
            do_move_to_observational(
                None, p, f"not randomized by day {DEFAULT.max_study_day} (day {day})"
            )
            moved.append(p.study_id)
    return moved


# ------------------------------------------------------------------------- end of follow-up
def do_withdraw(
    actor: User,
    participant: Participant,
    *,
    scope: str,
    reason: str,
    effective_at: datetime | None = None,
) -> Withdrawal:
    if scope not in {s.value for s in WithdrawalScope}:
        raise BadRequest("scope", f"one of {', '.join(s.value for s in WithdrawalScope)}")
    if not reason.strip():
        raise BadRequest("reason", "a withdrawal needs a reason")
    effective = _as_aware(effective_at)
    attempt = Attempt.on_participant("withdraw", participant)
    with refusals_audited(actor, attempt), transaction.atomic():
        scope_for(actor).require(participant.site_id, roles=FOLLOW_UP_ROLES, action="withdraw")
        participant = Participant.unscoped.select_for_update(no_key=True).get(pk=participant.pk)
        if participant.status != ParticipantStatus.ACTIVE:
            raise Refused(f"follow-up already ended ({participant.status})")
        withdrawal = Withdrawal(
            participant=participant,
            scope=scope,
            effective_at=effective,
            recorded_by=actor,
            reason=reason.strip(),
        )
        audited_save(withdrawal, actor=actor)
        if scope in (WithdrawalScope.STOP_FOLLOW_UP, WithdrawalScope.STOP_ALL_DATA):
            _end(participant, actor, ParticipantStatus.WITHDRAWN, effective, reason)
    return withdrawal


def _end(
    participant: Participant, actor: User | None, status: str, at: datetime, reason: str
) -> None:
    if participant.status != ParticipantStatus.ACTIVE:
        raise Refused(f"follow-up already ended ({participant.status})")
    participant.status = status
    participant.ended_at = at
    participant.end_reason = reason.strip()
    audited_save(participant, actor=actor, reason=f"follow-up ended: {status}")


def do_end_follow_up(
    actor: User, participant: Participant, *, status: str, reason: str, at: datetime | None = None
) -> Participant:
    """Death or loss to follow-up ends follow-up cleanly (data so far are kept)."""
    if status not in (ParticipantStatus.DIED, ParticipantStatus.LOST_TO_FOLLOW_UP):
        raise BadRequest("status", "died or lost_to_follow_up (withdrawal: do_withdraw)")
    when = _as_aware(at)
    attempt = Attempt.on_participant("end_follow_up", participant)
    with refusals_audited(actor, attempt), transaction.atomic():
        scope_for(actor).require(participant.site_id, roles=FOLLOW_UP_ROLES, action="end")
        participant = Participant.unscoped.select_for_update(no_key=True).get(pk=participant.pk)
        _end(participant, actor, status, when, reason or status)
    return participant


# ------------------------------------------------------------------------- masking
def do_assign_assessor(actor: User, participant: Participant, assessor: User) -> AssessorAssignment:
    attempt = Attempt.on_participant("assign_assessor", participant)
    with refusals_audited(actor, attempt), transaction.atomic():
        scope_for(actor).require(participant.site_id, roles=ASSIGN_ROLES, action="assign")
        if Role.OUTCOME_ASSESSOR not in scope_for(assessor).roles_at(participant.site_id):
            raise Refused("role: the assignee is not an outcome assessor at this site")
        existing = AssessorAssignment.unscoped.filter(
            participant=participant, assessor=assessor
        ).first()
        if existing is not None:
            return existing
        assignment = AssessorAssignment(
            participant=participant,
            assessor=assessor,
            assigned_at=timezone.now(),
            assigned_by=actor,
        )
        audited_save(assignment, actor=actor)
    return assignment


def _flag_outcomes_after(unmasking: Unmasking, actor: User) -> int:
    flagged = 0
    for outcome in OutcomeAssessment.unscoped.select_for_update(no_key=True).filter(
        participant=unmasking.participant,
        assessed_by=unmasking.user,
        assessed_at__gte=unmasking.occurred_at,
        assessed_unmasked=False,
    ):
        outcome.assessed_unmasked = True
        audited_save(outcome, actor=actor, reason=f"assessor unmasked (record {unmasking.pk})")
        flagged += 1
    return flagged


def do_record_assessor_unmasked(
    actor: User,
    participant: Participant,
    assessor: User,
    *,
    how: str,
    occurred_at: datetime | None = None,
) -> Unmasking:
    """Record that a masked assessor learned this participant's arm (told by family, saw a drug
    chart): their outcome entries from ``occurred_at`` on are flagged ``assessed_unmasked``."""
    if not how.strip():
        raise BadRequest("how", "say how the arm became known")
    when = _as_aware(occurred_at)
    attempt = Attempt.on_participant("record_unmasking", participant)
    with refusals_audited(actor, attempt), transaction.atomic():
        scope = scope_for(actor)
        scope.require(participant.site_id, roles=UNMASKING_RECORDER_ROLES, action="unmasking")
        if Role.OUTCOME_ASSESSOR in scope.roles_at(participant.site_id) and actor != assessor:
            raise Refused("role: an assessor records only their own unmasking")
        if not scope_for(assessor).is_masked_at(participant.site_id):
            raise Refused("role: the user named is not masked at this site")
        unmasking = Unmasking(
            participant=participant,
            user=assessor,
            kind=UnmaskingKind.INCIDENTAL,
            occurred_at=when,
            how=how.strip(),
            recorded_by=actor,
            recorded_at=timezone.now(),
        )
        audited_save(unmasking, actor=actor)
        _flag_outcomes_after(unmasking, actor)
    return unmasking


def _reauthenticate(user: User, password: str) -> bool:
    return bool(password) and user.check_password(password)


def do_unmask(
    actor: User,
    participant: Participant,
    *,
    reason: str,
    password: str,
) -> tuple[Unmasking, str]:
    """Deliberate unmasking of a masked user for one participant (a safety need): needs a
    reason and the user's password again; notifies the coordinating centre by e-mail, records
    an Unmasking and an audit event, and returns the arm."""
    from combat_norse.allocation.models import Allocation
    from combat_norse.participants.access import access_participant

    if not reason.strip():
        raise BadRequest("reason", "a deliberate unmasking needs a reason")
    attempt = Attempt.on_participant("unmask", participant)
    with refusals_audited(actor, attempt), transaction.atomic():
        scope = scope_for(actor)
        access_participant(scope, participant.study_id)  # other site / role first
        if not scope.is_masked_at(participant.site_id):
            raise Refused("role: the user is not masked")
        if not _reauthenticate(actor, password):
            raise Refused("re-authentication failed")
        allocation = Allocation.unscoped.filter(participant=participant).first()
        if allocation is None:
            raise Refused("participant is not randomized")
        now = timezone.now()
        unmasking = Unmasking(
            participant=participant,
            user=actor,
            kind=UnmaskingKind.DELIBERATE,
            occurred_at=now,
            how=reason.strip(),
            recorded_by=actor,
            recorded_at=now,
        )
        audited_save(unmasking, actor=actor, reason=reason)
        _flag_outcomes_after(unmasking, actor)
        from combat_norse.participants.tasks import send_unmasking_notice

        send_unmasking_notice.enqueue(unmasking.pk)  # queued in this transaction
    return unmasking, allocation.arm


def notify_unmasking(unmasking_id: int) -> None:
    """E-mail the coordinating centre (the message names no arm) and record when."""
    from django.conf import settings
    from django.core.mail import send_mail

    unmasking = Unmasking.unscoped.select_related("participant__site", "user").get(pk=unmasking_id)
    if unmasking.notified_at is not None:
        return  # a retried task sends once
    p = unmasking.participant
    send_mail(
        subject=f"[COMBAT-NORSE] deliberate unmasking at {p.site.code}",
        message=(
            f"User {unmasking.user.get_username()} was unmasked for participant "
            f"{p.study_id} at {unmasking.occurred_at.isoformat()}.\nReason: {unmasking.how}\n"
            "The allocation is not included in this message."
        ),
        from_email=None,
        recipient_list=[settings.COORDINATING_CENTRE_EMAIL],
    )
    with transaction.atomic():
        unmasking.notified_at = timezone.now()
        audited_save(unmasking, actor=None, reason="coordinating centre notified",
                     update_fields=["notified_at"])  # fmt: skip


# ------------------------------------------------------------------------- outcomes
def do_record_outcome(
    actor: User,
    participant: Participant,
    *,
    visit: str,
    instrument: str,
    score: int,
    assessed_at: datetime | None = None,
) -> OutcomeAssessment:
    """A masked assessor's functional-scale score; flagged when the assessor was unmasked for
    this participant before the assessment. Refused outside valid follow-up consent."""
    from combat_norse.participants.access import access_participant

    when = _as_aware(assessed_at)
    attempt = Attempt.on_participant("outcome", participant)
    with refusals_audited(actor, attempt), transaction.atomic():
        access_participant(actor, participant.study_id, roles=OUTCOME_ROLES)
        if valid_consent(participant.screening, purpose="follow_up", at=when) is None:
            raise Refused("no valid consent")
        unmasked = Unmasking.unscoped.filter(
            participant=participant, user=actor, occurred_at__lte=when
        ).exists()
        outcome = OutcomeAssessment(
            participant=participant,
            visit=visit,
            instrument=instrument,
            score=score,
            assessed_at=when,
            assessed_by=actor,
            assessed_unmasked=unmasked,
        )
        audited_save(outcome, actor=actor)
    return outcome


def unmasking_report(actor: User | Scope) -> list[dict[str, Any]]:
    """Every unmasking record and every outcome entry flagged ``assessed_unmasked``, for the
    statistician and the data manager (names no arm)."""
    scope = actor if isinstance(actor, Scope) else scope_for(actor)
    if not scope.has_role({Role.STATISTICIAN, Role.DATA_MANAGER}):
        if isinstance(actor, Scope):
            raise AccessDenied("role", "unmasking report")
        with read_refusals_audited(actor, "unmasking_report"):
            raise AccessDenied("role", "unmasking report")
    rows: list[dict[str, Any]] = []
    for u in Unmasking.unscoped.select_related("participant", "user").order_by("recorded_at"):
        rows.append(
            {
                "type": "unmasking",
                "kind": u.kind,
                "study_id": u.participant.study_id,
                "user": u.user.get_username(),
                "occurred_at": u.occurred_at.isoformat(),
                "how": u.how,
            }
        )
    for o in OutcomeAssessment.unscoped.filter(assessed_unmasked=True).select_related(
        "participant", "assessed_by"
    ):
        rows.append(
            {
                "type": "assessed_unmasked",
                "study_id": o.participant.study_id,
                "user": o.assessed_by.get_username(),
                "visit": o.visit,
                "instrument": o.instrument,
                "occurred_at": o.assessed_at.isoformat(),
            }
        )
    return rows
