"""Outcome assessments by masked assessors (moves to data capture's ``mrs`` form)."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction

from combat_norse.audit.api import audited_save
from combat_norse.audit.vocabulary import AuditAction
from combat_norse.core.errors import Reason, Refused
from combat_norse.core.refusals import Attempt, refusals_audited
from combat_norse.participants.access import access_participant
from combat_norse.participants.actions.common import OUTCOME_ROLES, as_aware
from combat_norse.participants.actions.consent import valid_consent
from combat_norse.participants.lookups import participant_by_study_id
from combat_norse.participants.models import OutcomeAssessment, Participant, Unmasking


def do_record_outcome(
    actor: User,
    participant: Participant | str,
    *,
    visit: str,
    instrument: str,
    score: int,
    assessed_at: datetime | None = None,
) -> OutcomeAssessment:
    """A masked assessor's functional-scale score; flagged when the assessor was unmasked for
    this participant before the assessment. Refused outside valid follow-up consent."""
    when = as_aware(assessed_at)
    participant = participant_by_study_id(participant)
    attempt = Attempt.on(AuditAction.OUTCOME, participant)
    with refusals_audited(actor, attempt), transaction.atomic():
        access_participant(actor, participant.study_id, roles=OUTCOME_ROLES)
        if valid_consent(participant.screening, purpose="follow_up", at=when) is None:
            raise Refused(Reason.NO_VALID_CONSENT)
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
        audited_save(outcome, actor=actor, action=AuditAction.OUTCOME)
    return outcome

