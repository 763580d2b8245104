"""Presenters: one function per record, from the record and the READER's scope to the JSON a
face prints (command line, pages, API, exports). Each applies masking through the record's
``arm_revealing`` declaration (§11), so no face decides what a masked reader sees.
"""

from __future__ import annotations

from typing import Any

from combat_norse.core.masking import redact_values
from combat_norse.participants.access import may_see_arm
from combat_norse.participants.models import (
    AssessorAssignment,
    Consent,
    Participant,
    ScreeningEntry,
    Unmasking,
    Withdrawal,
)
from combat_norse.sites.access import Scope


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def present_screening(entry: ScreeningEntry, scope: Scope) -> dict[str, Any]:
    """The §5 object of the latest decision plus ``screening_id`` and ``site`` (§13), and the
    screening log's own fields."""
    masked = scope.is_masked_at(entry.site_id)
    shown = redact_values(
        ScreeningEntry, {"reason_not_enrolled": entry.reason_not_enrolled}, masked=masked
    ) or {}
    enrolled = getattr(entry, "participant", None)
    return {
        **entry.result_json(),
        "screening_id": entry.screening_id,
        "site": entry.site.code,
        "evaluated_at": _iso(entry.evaluated_at),
        "rules_version": entry.rules_version,
        "reason_not_enrolled": shown.get("reason_not_enrolled") or None,
        "study_id": enrolled.study_id if enrolled is not None else None,
    }


def present_screening_result(entry: ScreeningEntry) -> dict[str, Any]:
    """Exactly what ``screening add`` prints (§13): the §5 object, ``screening_id``, ``site``."""
    return {**entry.result_json(), "screening_id": entry.screening_id, "site": entry.site.code}


def present_consent(consent: Consent, entry: ScreeningEntry) -> dict[str, Any]:
    return {
        "consent_id": consent.pk,
        "screening_id": entry.screening_id,
        "signer": consent.signer,
        "form_version": consent.form_version,
        "optional": list(consent.optional),
    }


def present_enrollment(participant: Participant, scope: Scope) -> dict[str, Any]:
    """What ``enroll`` prints (§13): ``cohort_reason`` whenever the cohort differs from the
    screening decision (the reason names criteria, never an arm)."""
    out: dict[str, Any] = {
        "study_id": participant.study_id,
        "cohort": participant.cohort,
        "site": participant.site.code,
    }
    if participant.screening.decision != out["cohort"] and participant.cohort_reason:
        shown = redact_values(
            Participant,
            {"cohort_reason": participant.cohort_reason},
            masked=scope.is_masked_at(participant.site_id),
        ) or {}
        out["cohort_reason"] = shown["cohort_reason"]
    return out


#: What ``present_participant`` adds for a reader who may see the arm (a masked reader's
#: object has none of these keys; the API's masked schema is checked against them).
ARM_KEYS = ("arm", "code", "allocation_in_error")


def present_participant(participant: Participant, scope: Scope) -> dict[str, Any]:
    """One participant as ``participant show`` and ``participant list`` print it.

    A reader who may see the arm gets ``arm`` and ``code``; a masked reader gets neither key,
    so the output is the same whichever arm was allocated (randomized or not is no secret)."""
    masked = scope.is_masked_at(participant.site_id)
    text = redact_values(
        Participant,
        {"cohort_reason": participant.cohort_reason, "end_reason": participant.end_reason},
        masked=masked,
    ) or {}
    allocation = getattr(participant, "allocation", None) if participant.is_randomized else None
    out: dict[str, Any] = {
        "study_id": participant.study_id,
        "site": participant.site.code,
        "screening_id": participant.screening.screening_id,
        "cohort": participant.cohort,
        "cohort_reason": text.get("cohort_reason") or None,
        "status": participant.status,
        "enrolled_at": _iso(participant.enrolled_at),
        "ended_at": _iso(participant.ended_at),
        "end_reason": text.get("end_reason") or None,
        "randomized": allocation is not None,
        "randomized_at": _iso(allocation.randomized_at) if allocation is not None else None,
    }
    if allocation is not None and may_see_arm(scope, participant):
        out.update(zip(ARM_KEYS, (allocation.arm, allocation.code, allocation.in_error),
                       strict=True))  # fmt: skip
    return out


def present_assignment(assignment: AssessorAssignment) -> dict[str, Any]:
    return {
        "study_id": assignment.participant.study_id,
        "assessor": assignment.assessor.get_username(),
    }


def present_not_enrolled(entry: ScreeningEntry, scope: Scope) -> dict[str, Any]:
    """What ``screening not-enrolled`` prints (the reason is free text: masked if it names a
    drug and the reader is masked)."""
    shown = redact_values(
        ScreeningEntry,
        {"reason_not_enrolled": entry.reason_not_enrolled},
        masked=scope.is_masked_at(entry.site_id),
    ) or {}
    return {"screening_id": entry.screening_id, "reason_not_enrolled": shown["reason_not_enrolled"]}


def present_follow_up_end(participant: Participant) -> dict[str, Any]:
    """What ``end-follow-up`` prints."""
    return {
        "study_id": participant.study_id,
        "status": participant.status,
        "ended_at": _iso(participant.ended_at),
    }


def present_withdrawal(withdrawal: Withdrawal) -> dict[str, Any]:
    """What ``withdraw`` prints (the reason is not echoed)."""
    return {
        "study_id": withdrawal.participant.study_id,
        "scope": withdrawal.scope,
        "effective_at": _iso(withdrawal.effective_at),
    }


def present_unmasking_record(unmasking: Unmasking) -> dict[str, Any]:
    """What ``unmasking record`` prints (never the arm: the record says that it became known,
    not what it is)."""
    return {
        "unmasking_id": unmasking.pk,
        "study_id": unmasking.participant.study_id,
        "assessor": unmasking.user.get_username(),
        "kind": unmasking.kind,
    }


def present_unmasking_entry(unmasking: Unmasking, scope: Scope) -> dict[str, Any]:
    """One unmasking as the unmasking report lists it: ``how`` is free text that may name a
    drug, so a reader masked at the participant's site (a data manager or statistician who
    also holds a masked role) reads ``[masked]`` there."""
    shown = redact_values(
        Unmasking,
        {"how": unmasking.how},
        masked=scope.is_masked_at(unmasking.participant.site_id),
    ) or {}
    return {
        "type": "unmasking",
        "kind": unmasking.kind,
        "study_id": unmasking.participant.study_id,
        "user": unmasking.user.get_username(),
        "occurred_at": _iso(unmasking.occurred_at),
        "how": shown.get("how"),
    }


def present_onset_correction(
    participant: Participant, se_onset: Any, discrepancies: dict[str, list[Any]]
) -> dict[str, Any]:
    """What ``participant correct-onset`` prints (§14), plus ``discrepancies`` when the
    corrected onset would have given another stratum or study day (cohort and stratum kept)."""
    out: dict[str, Any] = {"study_id": participant.study_id, "se_onset": se_onset.isoformat()}
    if discrepancies:
        out["discrepancies"] = discrepancies
    return out


def present_screening_clock(entry: ScreeningEntry, now: Any) -> dict[str, Any]:
    """The bedside study-day clock of a screening entry (§4 I5), in the site's zone: the onset,
    today's study day, the moment randomization stops being allowed and the seconds left until
    then (0 once passed). Times are ISO strings with the site's offset; ``se_onset`` is None
    when the record has none (then nothing else is known either)."""
    from zoneinfo import ZoneInfo

    from combat_norse.protocol import randomization_deadline, study_day

    zone = str(entry.record.get("site_timezone") or entry.site.timezone)
    onset = entry.se_onset
    if onset is None:
        return {"site_timezone": zone, "se_onset": None, "study_day": None, "deadline": None,
                "seconds_left": None}  # fmt: skip
    local = ZoneInfo(zone)
    deadline = randomization_deadline(onset, local)
    return {
        "site_timezone": zone,
        "se_onset": onset.astimezone(local).isoformat(),
        "now": now.astimezone(local).isoformat(),
        "study_day": study_day(onset, now, local),
        "deadline": deadline.isoformat(),
        "seconds_left": max(0, int((deadline - now).total_seconds())),
    }
