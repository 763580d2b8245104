"""End of follow-up: withdrawal (by scope), death, loss to follow-up."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction

from combat_norse.audit.api import Actor, audited_save, record_event, save_with_history
from combat_norse.audit.vocabulary import AuditAction
from combat_norse.core import events
from combat_norse.core.errors import BadInput, Refused, require_reason
from combat_norse.core.refusals import Attempt, refusals_audited
from combat_norse.participants.actions.common import (
    FOLLOW_UP_ROLES,
    as_aware,
)
from combat_norse.participants.lookups import participant_by_study_id
from combat_norse.participants.models import (
    Participant,
    ParticipantStatus,
    Withdrawal,
    WithdrawalScope,
)
from combat_norse.sites.access import scope_for


def do_withdraw(
    actor: User,
    participant: Participant | str,
    *,
    scope: str,
    reason: str,
    effective_at: datetime | None = None,
) -> Withdrawal:
    if scope not in {s.value for s in WithdrawalScope}:
        raise BadInput("scope", f"one of {', '.join(s.value for s in WithdrawalScope)}")
    effective = as_aware(effective_at)
    participant = participant_by_study_id(participant)
    attempt = Attempt.on(AuditAction.WITHDRAW, participant)
    with refusals_audited(actor, attempt), transaction.atomic():
        reason = require_reason(reason, what="a withdrawal")
        scope_for(actor).require(participant.site_id, roles=FOLLOW_UP_ROLES, action="withdraw")
        participant = Participant.unscoped.select_for_update(no_key=True).get(pk=participant.pk)
        if participant.status != ParticipantStatus.ACTIVE:
            raise Refused.state(f"follow-up already ended ({participant.status})")
        withdrawal = Withdrawal(
            participant=participant,
            scope=scope,
            effective_at=effective,
            recorded_by=actor,
            reason=reason.strip(),
        )
        ends = scope in (WithdrawalScope.STOP_FOLLOW_UP, WithdrawalScope.STOP_ALL_DATA)
        if ends:
            _end(participant, actor, ParticipantStatus.WITHDRAWN, effective, reason)
        audited_save(withdrawal, actor=actor, action=AuditAction.WITHDRAW,
                     extra_changes={"participant_status": [ParticipantStatus.ACTIVE.value,
                                                           participant.status]} if ends else None)
        events.withdrawn.send(sender=Participant, participant=participant,
                              withdrawal=withdrawal, actor=actor)
        if ends:
            events.follow_up_ended.send(sender=Participant, participant=participant,
                                        status=participant.status, actor=actor)
    return withdrawal


def _end(participant: Participant, actor: Actor, status: str, at: datetime, reason: str) -> None:
    """Set the end of follow-up on the locked row (its history carries the actor); the calling
    action writes the change's one event."""
    if participant.status != ParticipantStatus.ACTIVE:
        raise Refused.state(f"follow-up already ended ({participant.status})")
    participant.status = status
    participant.ended_at = at
    participant.end_reason = reason.strip()
    save_with_history(participant, actor=actor, reason=f"follow-up ended: {status}",
                      update_fields=["status", "ended_at", "end_reason"])


def do_end_follow_up(
    actor: User,
    participant: Participant | str,
    *,
    status: str,
    reason: str,
    at: datetime | None = None,
) -> Participant:
    """Death or loss to follow-up ends follow-up cleanly (data so far are kept)."""
    if status not in (ParticipantStatus.DIED, ParticipantStatus.LOST_TO_FOLLOW_UP):
        raise BadInput("status", "died or lost_to_follow_up (withdrawal: do_withdraw)")
    when = as_aware(at)
    participant = participant_by_study_id(participant)
    attempt = Attempt.on(AuditAction.END_FOLLOW_UP, participant)
    with refusals_audited(actor, attempt), transaction.atomic():
        scope_for(actor).require(participant.site_id, roles=FOLLOW_UP_ROLES, action="end follow-up")
        participant = Participant.unscoped.select_for_update(no_key=True).get(pk=participant.pk)
        before = participant.status
        _end(participant, actor, status, when, reason or status)
        record_event(actor=actor, action=AuditAction.END_FOLLOW_UP, obj=participant,
                     reason=(reason or status).strip(),
                     changes={"status": [before, status], "ended_at": [None, when]})
        events.follow_up_ended.send(sender=Participant, participant=participant,
                                    status=status, actor=actor)
    return participant

