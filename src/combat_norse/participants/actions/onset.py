"""Correction of the seizure-onset time after enrollment (data manager; §14).

The participant's cohort and randomization stratum do not change: they were decided at their
moment from the data then known. When the corrected onset would have given another stratum
(onset window) or study day 8+, that is recorded as a discrepancy in the event and returned,
for the data manager and the statistician to review. Later apps recompute what depends on the
onset (visit windows) from the ``onset_corrected`` domain event, in the same transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from combat_norse.audit.api import audited_save
from combat_norse.audit.vocabulary import AuditAction
from combat_norse.core import events
from combat_norse.core.errors import BadInput, Refused, require_reason
from combat_norse.core.refusals import Attempt, refusals_audited
from combat_norse.participants.actions.common import CLOCK_SKEW, ONSET_CORRECTION_ROLES
from combat_norse.participants.lookups import participant_by_study_id
from combat_norse.participants.models import Participant, ScreeningEntry
from combat_norse.protocol import RecordError, evaluate, parse_screening_record
from combat_norse.sites.access import scope_for


def _strata_at(record: dict[str, Any], evaluated_at: datetime) -> dict[str, Any]:
    doc = dict(record)
    doc["evaluated_at"] = evaluated_at.isoformat()
    result = evaluate(parse_screening_record(doc).record)
    return {
        "onset_window": result.strata.onset_window.value if result.strata else None,
        "study_day": result.study_day,
    }


def do_correct_onset(
    actor: User,
    participant: Participant | str,
    *,
    se_onset: datetime,
    reason: str,
) -> tuple[Participant, dict[str, list[Any]]]:
    """Correct ``se_onset`` (aware); returns the participant and the discrepancies (field →
    [as decided, as the corrected onset gives]); cohort and stratum are kept."""
    if timezone.is_naive(se_onset):
        raise BadInput("se_onset", "must carry a UTC offset")
    if se_onset > timezone.now() + CLOCK_SKEW:
        raise BadInput("se_onset", "is in the future")
    participant = participant_by_study_id(participant)
    attempt = Attempt.on(AuditAction.ONSET_CORRECT, participant)
    with refusals_audited(actor, attempt), transaction.atomic():
        reason = require_reason(reason, what="correcting the onset")
        scope_for(actor).require(
            participant.site_id, roles=ONSET_CORRECTION_ROLES, action="correct the onset"
        )
        participant = Participant.unscoped.select_related("site", "screening").get(
            pk=participant.pk
        )
        entry = ScreeningEntry.unscoped.select_for_update(no_key=True).get(
            pk=participant.screening_id
        )
        old = entry.se_onset
        if old is not None and old == se_onset:
            raise Refused.state("the onset is already that time")
        decided_at = entry.evaluated_at or participant.enrolled_at
        if se_onset > decided_at:
            raise BadInput("se_onset", "is after the screening decision it corrects")
        record = dict(entry.record)
        record["se_onset"] = se_onset.isoformat()
        try:
            before = _strata_at(dict(entry.record), decided_at)
            after = _strata_at(record, decided_at)
        except RecordError as exc:
            raise BadInput(exc.field, exc.problem) from None
        discrepancies = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
        entry.record = record
        entry.se_onset = se_onset
        audited_save(
            entry,
            actor=actor,
            action=AuditAction.ONSET_CORRECT,
            reason=reason,
            participant_ref=participant.study_id,
            update_fields=["record", "se_onset"],
            extra_changes={"discrepancies": [None, discrepancies]} if discrepancies else None,
        )
        events.onset_corrected.send(
            sender=Participant, participant=participant, old=old, new=se_onset, actor=actor
        )
    return participant, discrepancies
