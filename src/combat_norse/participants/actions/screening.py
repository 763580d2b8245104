"""Screening (§3-§5): the screening log and each eligibility decision."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from combat_norse.audit.api import audited_save, save_with_history
from combat_norse.audit.vocabulary import AuditAction
from combat_norse.core.errors import BadInput, Refused, require_reason
from combat_norse.core.refusals import Attempt, refusals_audited
from combat_norse.participants.actions.common import (
    CLOCK_SKEW,
    SCREENING_ROLES,
    as_aware,
    next_number,
)
from combat_norse.participants.lookups import screening_by_id
from combat_norse.participants.models import Participant, ScreeningDecision, ScreeningEntry
from combat_norse.protocol import (
    RecordError,
    ScreeningRecord,
    ScreeningResult,
    evaluate,
    parse_screening_record,
    record_to_json,
)
from combat_norse.sites.access import scope_for
from combat_norse.sites.models import Site


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
    latest = now + CLOCK_SKEW
    # A time in the future is named before the parser compares times with one another (a
    # future se_onset is the typing error, not the evaluation time).
    for name in _TIMES:
        value = _early_time(doc.get(name))
        if value is not None and value > latest:
            raise RecordError(name, "is in the future")
    parsed = parse_screening_record(doc)
    record = parsed.record
    for name in _TIMES:
        value = getattr(record, name)
        if value is not None and value > latest:
            raise RecordError(name, "is in the future")
    return record, parsed.warnings


_TIMES = ("se_onset", "evaluated_at", "febrile_illness_onset")


def _early_time(raw: object) -> datetime | None:
    """``raw`` as an aware datetime when it plainly is one; the parser judges everything else."""
    if not isinstance(raw, str) or len(raw) > 64:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


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
    save_with_history(decision, actor=actor)
    return decision


def do_screen(
    actor: User, site: Site, data: Mapping[str, Any] | object, *, now: datetime | None = None
) -> tuple[ScreeningEntry, tuple[str, ...]]:
    """Add a patient to the screening log with the decision of §5."""
    now = as_aware(now)
    attempt = Attempt(AuditAction.SCREEN, "participants.ScreeningEntry", site_code=site.code)
    with refusals_audited(actor, attempt), transaction.atomic():
        scope_for(actor).require(site.pk, roles=SCREENING_ROLES, action="screen")
        record, warnings = check_screening_record(data, site, now)
        result = evaluate(record)
        number = next_number(site, "screening")
        entry = ScreeningEntry(
            screening_id=f"{site.code}-S{number:04d}", site=site, created_at=now, created_by=actor
        )
        _store_decision(entry, record, result, actor, now, "screening")
        audited_save(entry, actor=actor, action=AuditAction.SCREEN)
        _log_decision(entry, record, result, actor, now, "screening")
    return entry, warnings


def do_rescreen(
    actor: User,
    entry: ScreeningEntry | str,
    data: Mapping[str, Any] | object,
    *,
    reason: str,
    now: datetime | None = None,
) -> tuple[ScreeningEntry, tuple[str, ...]]:
    """Re-evaluate a screening entry as data arrive; earlier decisions stay in its history."""
    now = as_aware(now)
    entry = screening_by_id(entry)
    attempt = Attempt.on(AuditAction.RESCREEN, entry)
    with refusals_audited(actor, attempt), transaction.atomic():
        reason = require_reason(reason, what="re-screening saved data")
        scope_for(actor).require(entry.site_id, roles=SCREENING_ROLES, action="re-screen")
        entry = ScreeningEntry.unscoped.select_for_update(no_key=True).get(pk=entry.pk)
        if hasattr(entry, "participant"):
            raise Refused.state(f"already enrolled as {entry.participant.study_id}")
        record, warnings = check_screening_record(data, entry.site, now)
        result = evaluate(record)
        _store_decision(entry, record, result, actor, now, "rescreen")
        audited_save(entry, actor=actor, action=AuditAction.RESCREEN, reason=reason)
        _log_decision(entry, record, result, actor, now, "rescreen")
    return entry, warnings


def do_record_not_enrolled(actor: User, entry: ScreeningEntry | str, reason: str) -> ScreeningEntry:
    """Record why a screened patient was not enrolled (for the CONSORT diagram)."""
    if not reason.strip():
        raise BadInput("reason", "give the reason the patient was not enrolled")
    entry = screening_by_id(entry)
    attempt = Attempt.on(AuditAction.NOT_ENROLLED, entry)
    with refusals_audited(actor, attempt), transaction.atomic():
        scope_for(actor).require(
            entry.site_id, roles=SCREENING_ROLES, action="record why not enrolled"
        )
        entry = ScreeningEntry.unscoped.select_for_update(no_key=True).get(pk=entry.pk)
        if Participant.unscoped.filter(screening=entry).exists():
            raise Refused.state("already enrolled")
        entry.reason_not_enrolled = reason.strip()
        audited_save(entry, actor=actor, action=AuditAction.NOT_ENROLLED)
    return entry

