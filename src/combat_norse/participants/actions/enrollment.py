"""Enrollment: study ids, cohort routing at the moment of enrollment, the day-8 move."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction

from combat_norse.audit.api import SYSTEM, Actor, audited_save
from combat_norse.audit.vocabulary import AuditAction
from combat_norse.core import events
from combat_norse.core.errors import Reason, Refused
from combat_norse.core.refusals import Attempt, refusals_audited
from combat_norse.participants.actions.common import ENROLL_ROLES, as_aware, next_number
from combat_norse.participants.actions.consent import valid_consent
from combat_norse.participants.actions.screening import _log_decision
from combat_norse.participants.lookups import screening_by_id
from combat_norse.participants.models import Cohort, Participant, ScreeningEntry
from combat_norse.protocol import (
    DEFAULT,
    Decision,
    ScreeningRecord,
    ScreeningResult,
    evaluate,
    parse_screening_record,
    study_day,
)
from combat_norse.sites.access import scope_for


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
    entry: ScreeningEntry | str,
    *,
    observational_reason: str = "",
    now: datetime | None = None,
) -> Participant:
    """Enroll a screened, consented patient; the cohort comes from routing at this moment.

    A randomized-cohort candidate is enrolled in the observational cohort instead when
    ``observational_reason`` says why randomization is not possible. Enrolling twice returns
    the first enrollment.
    """
    now = as_aware(now)
    entry = screening_by_id(entry)
    attempt = Attempt.on(AuditAction.ENROLL, entry)
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
            raise Refused(Reason.NO_VALID_CONSENT)
        record, result = _evaluate_now(entry, now)
        if result.decision is Decision.RANDOMIZED_COHORT:
            cohort = Cohort.OBSERVATIONAL if observational_reason.strip() else Cohort.RANDOMIZED
            reason = observational_reason.strip()
        elif result.decision is Decision.OBSERVATIONAL_COHORT:
            day = f" (study day {result.study_day})" if "I5" in result.failed else ""
            cohort = Cohort.OBSERVATIONAL
            reason = f"routing at enrollment: failed {', '.join(result.failed)}{day}"
        else:
            raise Refused.rule(_explain(result))
        _log_decision(entry, record, result, actor, now, "enrollment")
        number = next_number(entry.site, "study")
        participant = Participant(
            study_id=f"{entry.site.code}-{number:03d}",
            site=entry.site,
            screening=entry,
            cohort=cohort,
            cohort_reason=reason,
            enrolled_at=now,
            enrolled_by=actor,
        )
        audited_save(participant, actor=actor, action=AuditAction.ENROLL)
        events.enrolled.send(sender=Participant, participant=participant, actor=actor)
    return participant


def do_move_to_observational(
    actor: Actor,
    participant: Participant,
    reason: str,
) -> Participant:
    """A randomized-cohort participant who cannot be randomized (e.g. day 8 reached) joins the
    observational cohort; an allocated participant never moves."""
    with transaction.atomic():
        participant = Participant.unscoped.select_for_update(no_key=True).get(pk=participant.pk)
        if participant.cohort == Cohort.OBSERVATIONAL:
            return participant
        if participant.is_randomized:
            raise Refused.state("participant is randomized; the allocation stands")
        participant.cohort = Cohort.OBSERVATIONAL
        participant.cohort_reason = reason
        audited_save(participant, actor=actor, action=AuditAction.COHORT_MOVE, reason=reason)
    return participant


def expire_unrandomized(now: datetime | None = None) -> list[str]:
    """Move randomized-cohort participants still unrandomized after day 7 (in their site's zone)
    to the observational cohort. Idempotent; run by the periodic clock task."""
    now = as_aware(now)
    moved = []
    candidates = (
        Participant.unscoped.filter(cohort=Cohort.RANDOMIZED, allocation__isnull=True)
        .select_related("site", "screening")
    )
    for p in candidates:
        onset = p.screening.se_onset
        if onset is None:
            continue
        day = study_day(onset, now, p.zone)
        if day > DEFAULT.max_study_day:
            do_move_to_observational(
                SYSTEM, p, f"not randomized by day {DEFAULT.max_study_day} (day {day})"
            )
            moved.append(p.study_id)
    return moved

