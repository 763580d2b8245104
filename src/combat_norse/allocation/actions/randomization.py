"""Allocation by the treating team, list alerts, and corrections (§6, §11, §13).

Allocation safety (DESIGN.md principle 6). ``do_randomize`` runs in one transaction:

1. the participant row is locked (``SELECT … FOR NO KEY UPDATE``): two calls for the same
   participant queue, and the second finds the first allocation and returns it;
2. permuted blocks: the first unused slot of the stratum is locked with ``FOR UPDATE SKIP
   LOCKED`` and a ``participant IS NULL`` filter, so concurrent transactions take different
   slots and never wait on one another; a slot left unused by a rolled-back transaction is
   taken by the next randomization in that stratum (``gaps()`` reports any);
   minimization: a transaction-scoped advisory lock per list serializes the decisions, since
   each depends on all earlier ones;
3. the allocation row is written with unique constraints per participant, per slot and per
   minimization sequence number, then the audit event (one INSERT: no shared lock since
   issue 19; the sealer orders events after commit).

On SQLite the whole transaction is serialized (``BEGIN IMMEDIATE``), which gives the same
guarantees at a lower rate.

Row locks on a list or a participant are ``FOR NO KEY UPDATE``, never ``FOR UPDATE``: foreign
keys are checked at COMMIT (Django makes them DEFERRABLE INITIALLY DEFERRED), with ``FOR KEY
SHARE`` on the parent row, which ``FOR UPDATE`` would block. (Before issue 19 a ``FOR UPDATE``
holder waiting for the audit chain's lock deadlocked with a transaction that inserted a child
row and held that lock; the lock is gone, the rule stays: it serializes the same writers
without blocking foreign-key checks.)
"""


from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.utils import timezone

from combat_norse.allocation.access import require_statistician
from combat_norse.allocation.actions.common import active_list
from combat_norse.allocation.models import (
    Allocation,
    Design,
    ListAlert,
    ListSlot,
    RandomizationList,
)
from combat_norse.audit.api import SYSTEM, audited_save, record_event, save_with_history
from combat_norse.audit.vocabulary import AuditAction
from combat_norse.core import events
from combat_norse.core.errors import Reason, Refused, require_reason
from combat_norse.core.reauth import reauthenticate
from combat_norse.core.refusals import Attempt, refusals_audited
from combat_norse.participants.actions.consent import valid_consent
from combat_norse.participants.lookups import participant_by_study_id
from combat_norse.participants.models import Cohort, Participant, ParticipantStatus
from combat_norse.protocol import DEFAULT, Decision, evaluate, parse_screening_record
from combat_norse.randomization import (
    LIST_ALERT_THRESHOLD,
    MarginalCounts,
    default_minimization_config,
    fires_level,
    minimization_code,
    minimization_uniforms,
    minimize,
    stratum_key,
)
from combat_norse.sites.access import AccessDenied, scope_for
from combat_norse.sites.roles import RANDOMIZER_ROLES, Role


def _after_slot_locked() -> None:
    """Fault-injection point for the crash test (a no-op in the application)."""


def _check_randomizable(participant: Participant, now: datetime) -> tuple[str, dict[str, str], int]:
    """Re-check §6 at this moment; return (stratum, factor levels, study day)."""
    if participant.cohort != Cohort.RANDOMIZED:
        raise Refused.rule("cohort: participant is in the observational cohort")
    if participant.status != ParticipantStatus.ACTIVE:
        raise Refused.state(f"participant status {participant.status}")
    if valid_consent(participant.screening, at=now) is None:
        raise Refused(Reason.NO_VALID_CONSENT)
    doc = dict(participant.screening.record)
    doc["evaluated_at"] = now.isoformat()
    result = evaluate(parse_screening_record(doc).record)
    if "I5" in result.failed and result.study_day is not None:
        raise Refused.rule(f"I5 study day {result.study_day} > {DEFAULT.max_study_day}")
    if result.decision is not Decision.RANDOMIZED_COHORT:
        detail = result.failed or result.unknown
        raise Refused.rule(f"{result.decision.value}: {', '.join(detail)}")
    assert result.strata is not None and result.study_day is not None  # noqa: S101
    age_group, window = result.strata.age_group.value, result.strata.onset_window.value
    levels = {
        "age_group": age_group,
        "onset_window": window,
        "fires": fires_level(result.fires),
        "region": participant.site.region,
        "site": participant.site.code,
    }
    return stratum_key(age_group, window), levels, result.study_day


class ListExhausted(Refused):
    """No unused slot in the participant's stratum. The message names neither the stratum nor
    the list state (concealment); the statisticians get the alert."""

    def __init__(self, rlist: RandomizationList, stratum: str) -> None:
        super().__init__(
            Reason.UNAVAILABLE, "randomization unavailable: the statistician has been alerted"
        )
        self.rlist = rlist
        self.stratum = stratum


def do_randomize(
    actor: User,
    participant: Participant | str,
    *,
    now: datetime | None = None,
) -> Allocation:
    """Allocate an arm to ``participant`` (see the module docstring). Only the treating team
    (site coordinator or investigator) of the participant's site may randomize; a second call
    returns the first allocation."""
    now = now or timezone.now()
    # the screening is read under the lock in _allocate: not here
    participant = participant_by_study_id(participant, related=("site",))
    attempt = Attempt.on(AuditAction.RANDOMIZE, participant)
    try:
        return _allocate(actor, participant, now, attempt)
    except ListExhausted as exhausted:
        with transaction.atomic():  # the refused transaction rolled back; alert on its own
            _raise_list_alert(exhausted.rlist, exhausted.stratum, remaining=0)
        raise


def _allocate(actor: User, participant: Participant, now: datetime, attempt: Attempt) -> Allocation:
    with refusals_audited(actor, attempt), transaction.atomic():
        scope = scope_for(actor)
        scope.require(participant.site_id, roles=RANDOMIZER_ROLES, action=AuditAction.RANDOMIZE)
        if scope.is_masked_at(participant.site_id):  # a blinded-investigator configuration
            raise AccessDenied(Reason.MASKED, "masked users do not randomize")
        participant = (
            Participant.unscoped.select_for_update(of=("self",), no_key=True)
            .select_related("site", "screening")
            .get(pk=participant.pk)
        )
        # A query of its own, after the lock: joined into the locking read, PostgreSQL would
        # re-check only the locked row after waiting and show the allocation that the
        # transaction we waited for just made as missing (a duplicate allocation attempt).
        existing = Allocation.unscoped.filter(participant=participant).first()
        if existing is not None:
            return existing
        stratum, levels, day = _check_randomizable(participant, now)
        rlist = active_list()
        if rlist is None:
            raise Refused(Reason.UNAVAILABLE, "no active randomization list")
        if rlist.design == Design.PERMUTED_BLOCKS:
            slot = (
                ListSlot.unscoped.select_for_update(skip_locked=True)
                .filter(randomization_list=rlist, stratum=stratum, participant__isnull=True)
                .order_by("sequence")
                .first()
            )
            if slot is None:
                raise ListExhausted(rlist, stratum)
            _after_slot_locked()
            slot.participant = participant
            slot.used_at = now
            save_with_history(slot, actor=actor, update_fields=["participant", "used_at"])
            allocation = Allocation(
                participant=participant,
                randomization_list=rlist,
                slot=slot,
                stratum=stratum,
                factors=levels,
                arm=slot.arm,
                code=slot.code,
                randomized_at=now,
                randomized_by=actor,
                study_day=day,
            )
        else:
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [rlist.lock_key()])
            earlier = list(
                Allocation.unscoped.filter(randomization_list=rlist)
                .order_by("sequence_number")
                .values_list("factors", "arm")
            )
            k = len(earlier) + 1
            config = default_minimization_config(
                rlist.parameters["sites"], p_best=rlist.parameters["p_best"]
            )
            u, tie_u = minimization_uniforms(rlist.seed_value, k)
            decision = minimize(config, levels, MarginalCounts.from_allocations(earlier), u, tie_u)
            allocation = Allocation(
                participant=participant,
                randomization_list=rlist,
                sequence_number=k,
                stratum=stratum,
                factors=levels,
                arm=decision.arm,
                code=minimization_code(rlist.seed_value, k),
                randomized_at=now,
                randomized_by=actor,
                study_day=day,
            )
        audited_save(allocation, actor=actor, action=AuditAction.RANDOMIZE)
        events.randomized.send(sender=Participant, participant=participant,
                               allocation=allocation, actor=actor)
        if rlist.design == Design.PERMUTED_BLOCKS:
            _check_capacity(rlist, stratum)
    return allocation


def _check_capacity(rlist: RandomizationList, stratum: str) -> None:
    threshold = int(rlist.parameters.get("alert_threshold", LIST_ALERT_THRESHOLD))
    # Count at most threshold + 1 unused slots: the exact number matters only at or below the
    # threshold, and the scan stops there instead of counting the whole stratum each time.
    remaining = len(
        ListSlot.unscoped.filter(
            randomization_list=rlist, stratum=stratum, participant__isnull=True
        ).values_list("pk", flat=True)[: threshold + 1]
    )
    if remaining <= threshold:
        _raise_list_alert(rlist, stratum, remaining)


def _raise_list_alert(rlist: RandomizationList, stratum: str, remaining: int) -> None:
    """Alert the statisticians once per stratum and list size (an extension re-arms it)."""
    capacity = ListSlot.unscoped.filter(randomization_list=rlist, stratum=stratum).count()
    alert, created = ListAlert.unscoped.get_or_create(
        randomization_list=rlist,
        stratum=stratum,
        capacity=capacity,
        defaults={"remaining": remaining, "raised_at": timezone.now()},
    )
    if created:
        from combat_norse.allocation.tasks import send_list_alert

        record_event(actor=SYSTEM, action=AuditAction.LIST_ALERT, obj=alert,
                     changes={"remaining": [None, remaining], "capacity": [None, capacity]})

        send_list_alert.enqueue(alert.pk)  # queued in this transaction


def mail_statisticians(alert_id: int) -> None:
    """E-mail every active statistician that a stratum's list runs low (never site roles)."""
    from django.core.mail import send_mail

    from combat_norse.sites.models import Membership

    alert = ListAlert.unscoped.get(pk=alert_id)
    recipients = sorted(
        {
            m.user.email
            for m in Membership.objects.filter(role=Role.STATISTICIAN, active=True).select_related(
                "user"
            )
            if m.user.email
        }
    )
    if not recipients:
        return
    send_mail(
        subject="[COMBAT-NORSE] randomization list running low",
        message=(
            f"List {alert.randomization_list_id}, stratum {alert.stratum}: "
            f"{alert.remaining} unused slots left. Extend it with "
            "`combat-norse randomization extend`."
        ),
        from_email=None,
        recipient_list=recipients,
    )



# ------------------------------------------------------------------------ corrections, reports
def do_mark_allocation_error(
    actor: User, participant: Participant | str, *, reason: str, password: str
) -> Allocation:
    """Mark an allocation made in error (statistician, re-authenticated). It is never deleted
    or reused and stays in the intention-to-treat population."""
    participant = participant_by_study_id(participant)
    attempt = Attempt.on(AuditAction.ALLOCATION_ERROR, participant)
    with refusals_audited(actor, attempt), transaction.atomic():
        reason = require_reason(reason, what="marking an allocation in error")
        require_statistician(actor)
        reauthenticate(actor, password, AuditAction.ALLOCATION_ERROR)
        allocation = (
            Allocation.unscoped.select_for_update(no_key=True)
            .filter(participant=participant)
            .first()
        )
        if allocation is None:
            raise Refused.state("participant is not randomized")
        if allocation.in_error:
            return allocation
        allocation.in_error = True
        allocation.error_reason = reason.strip()
        allocation.error_marked_by = actor
        allocation.error_marked_at = timezone.now()
        audited_save(allocation, actor=actor, action=AuditAction.ALLOCATION_ERROR, reason=reason,
                     update_fields=["in_error", "error_reason", "error_marked_by",
                                    "error_marked_at"])
    return allocation

