"""Consent, re-consent and optional consents; which consent covers a purpose at a time."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from combat_norse.audit.api import audited_save
from combat_norse.audit.vocabulary import AuditAction
from combat_norse.core.errors import BadInput, Refused
from combat_norse.core.refusals import Attempt, refusals_audited
from combat_norse.participants.actions.common import CONSENT_ROLES, as_aware
from combat_norse.participants.lookups import screening_by_id
from combat_norse.participants.models import (
    Consent,
    OptionalConsent,
    Participant,
    ScreeningEntry,
    Signer,
    Withdrawal,
    WithdrawalScope,
)
from combat_norse.sites.access import scope_for


def _optional(values: Iterable[str]) -> list[str]:
    allowed = {o.value for o in OptionalConsent}
    chosen = sorted({v.strip() for v in values if v.strip()})
    unknown = [v for v in chosen if v not in allowed]
    if unknown:
        raise BadInput(
            "optional",
            f"unknown optional consent {', '.join(unknown)}; one of {', '.join(sorted(allowed))}",
        )
    return chosen


def do_record_consent(
    actor: User,
    entry: ScreeningEntry | str,
    *,
    signer: str,
    form_version: str,
    optional: Iterable[str] = (),
    signed_at: datetime | None = None,
    now: datetime | None = None,
) -> Consent:
    """Record a signed consent. A patient's signature after an LAR's is a re-consent (the
    patient regained capacity); it replaces the optional choices."""
    now = as_aware(now)
    signed = as_aware(signed_at) if signed_at is not None else now
    if signer not in {s.value for s in Signer}:
        raise BadInput("signer", "must be patient or lar")
    if not form_version.strip() or len(form_version) > 32:
        raise BadInput("form_version", "give the consent form version (1–32 characters)")
    if signed > now:
        raise BadInput("signed_at", "is in the future")
    chosen = _optional(optional)
    entry = screening_by_id(entry)
    attempt = Attempt.on(AuditAction.CONSENT, entry)
    with refusals_audited(actor, attempt), transaction.atomic():
        scope_for(actor).require(entry.site_id, roles=CONSENT_ROLES, action="record consent")
        entry = ScreeningEntry.unscoped.select_for_update(no_key=True).get(pk=entry.pk)
        previous = list(Consent.unscoped.filter(screening=entry))
        participant = Participant.unscoped.filter(screening=entry).first()
        if (
            participant
            and Withdrawal.unscoped.filter(
                participant=participant, scope=WithdrawalScope.STOP_ALL_DATA
            ).exists()
        ):
            raise Refused.state("participant withdrew from all data collection")
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
        audited_save(consent, actor=actor, action=AuditAction.CONSENT)
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

