"""Masking (§11): assessor assignment, incidental and deliberate unmasking."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from combat_norse.audit.api import SYSTEM, audited_save
from combat_norse.audit.vocabulary import AuditAction
from combat_norse.core import events
from combat_norse.core.errors import BadInput, Reason, Refused, require_reason
from combat_norse.core.reauth import reauthenticate
from combat_norse.core.refusals import Attempt, refusals_audited
from combat_norse.participants.access import access_participant
from combat_norse.participants.actions.common import (
    ASSIGN_ROLES,
    UNMASKING_RECORDER_ROLES,
    as_aware,
)
from combat_norse.participants.lookups import participant_by_study_id
from combat_norse.participants.models import (
    AssessorAssignment,
    Participant,
    Unmasking,
    UnmaskingKind,
)
from combat_norse.sites.access import AccessDenied, scope_for
from combat_norse.sites.roles import Role


def do_assign_assessor(
    actor: User, participant: Participant | str, assessor: User
) -> AssessorAssignment:
    """Assign an outcome assessor of the participant's site (site team or data manager); an
    assessor then sees this participant. Assigning twice returns the first assignment."""
    participant = participant_by_study_id(participant)
    attempt = Attempt.on(AuditAction.ASSIGN_ASSESSOR, participant)
    with refusals_audited(actor, attempt), transaction.atomic():
        scope_for(actor).require(
            participant.site_id, roles=ASSIGN_ROLES, action="assign an assessor"
        )
        if Role.OUTCOME_ASSESSOR not in scope_for(assessor).roles_at(participant.site_id):
            raise AccessDenied(Reason.ROLE, "the assignee is not an outcome assessor at this site")
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
        audited_save(assignment, actor=actor, action=AuditAction.ASSIGN_ASSESSOR)
    return assignment


def do_record_assessor_unmasked(
    actor: User,
    participant: Participant | str,
    assessor: User,
    *,
    how: str,
    occurred_at: datetime | None = None,
) -> Unmasking:
    """Record that a masked assessor learned this participant's arm (told by family, saw a drug
    chart). The ``unmasked`` event lets data capture flag their outcome entries saved from
    ``occurred_at`` on ``assessed_unmasked`` (history rows with the actor, same transaction)."""
    if not how.strip():
        raise BadInput("how", "say how the arm became known")
    when = as_aware(occurred_at)
    participant = participant_by_study_id(participant)
    attempt = Attempt.on(AuditAction.RECORD_UNMASKING, participant)
    with refusals_audited(actor, attempt), transaction.atomic():
        scope = scope_for(actor)
        scope.require(
            participant.site_id, roles=UNMASKING_RECORDER_ROLES, action="record an unmasking"
        )
        if Role.OUTCOME_ASSESSOR in scope.roles_at(participant.site_id) and actor != assessor:
            raise AccessDenied(Reason.ROLE, "an assessor records only their own unmasking")
        assessor_scope = scope_for(assessor)
        if not assessor_scope.is_masked_at(participant.site_id):
            raise AccessDenied(Reason.ROLE, "the user named is not masked at this site")
        if Role.OUTCOME_ASSESSOR in assessor_scope.roles_at(participant.site_id):
            # an assessor can only have learned the arm of a participant they assess
            access_participant(assessor_scope, participant.study_id)
        unmasking = Unmasking(
            participant=participant,
            user=assessor,
            kind=UnmaskingKind.INCIDENTAL,
            occurred_at=when,
            how=how.strip(),
            recorded_by=actor,
            recorded_at=timezone.now(),
        )
        audited_save(unmasking, actor=actor, action=AuditAction.RECORD_UNMASKING)
        events.unmasked.send(sender=Participant, participant=participant, user=assessor,
                             kind=UnmaskingKind.INCIDENTAL, actor=actor)
    return unmasking


def do_unmask(
    actor: User,
    participant: Participant | str,
    *,
    reason: str,
    password: str,
) -> tuple[Unmasking, str]:
    """Deliberate unmasking of a masked user for one participant (a safety need): needs a
    reason and the user's password again; notifies the coordinating centre by e-mail, records
    an Unmasking and an audit event, and returns the arm."""
    participant = participant_by_study_id(participant)
    attempt = Attempt.on(AuditAction.UNMASK, participant)
    with refusals_audited(actor, attempt), transaction.atomic():
        reason = require_reason(reason, what="a deliberate unmasking")
        scope = scope_for(actor)
        access_participant(scope, participant.study_id)  # other site / role first
        if not scope.is_masked_at(participant.site_id):
            raise AccessDenied(Reason.ROLE, "the user is not masked")
        now = timezone.now()
        reauthenticate(actor, password, AuditAction.UNMASK, now=now)
        participant = Participant.unscoped.select_related("site").get(pk=participant.pk)
        if not participant.is_randomized:
            raise Refused.state("participant is not randomized")
        arm = str(participant.allocation.arm)
        unmasking = Unmasking(
            participant=participant,
            user=actor,
            kind=UnmaskingKind.DELIBERATE,
            occurred_at=now,
            how=reason.strip(),
            recorded_by=actor,
            recorded_at=now,
        )
        audited_save(unmasking, actor=actor, action=AuditAction.UNMASK, reason=reason)
        events.unmasked.send(sender=Participant, participant=participant, user=actor,
                             kind=UnmaskingKind.DELIBERATE, actor=actor)
        from combat_norse.participants.tasks import send_unmasking_notice

        send_unmasking_notice.enqueue(unmasking.pk)  # queued in this transaction
    return unmasking, arm


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
        audited_save(unmasking, actor=SYSTEM, action=AuditAction.UNMASKING_NOTIFIED,
                     reason="coordinating centre notified", update_fields=["notified_at"])

