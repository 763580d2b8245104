"""Dose plans and dose deviations (§7, §14 ``dose``).

* A plan (the §7 suggested regimen for the drug at a weight) starts at randomization from the
  screening weight, and is replaced when a saved form records another weight (``weight_kg``)
  or when the treating team enters one (:func:`do_update_dose_plan`). In the observational
  cohort a plan starts with the first dose recorded (its drug is the team's choice).
* Each dose record is checked on save; deviations are flagged and listed, never blocking:
  ``dose_off_plan`` (more than 10 % from the suggestion for the drug given at the weight in
  force when it was given), ``late_first_dose`` (randomized cohort: the first dose given more
  than 24 h after randomization) and ``wrong_drug`` (randomized cohort: not the allocated drug).
  A corrected record clears what no longer applies (kept, with ``cleared_at``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from combat_norse.allocation.models import Allocation
from combat_norse.audit.api import SYSTEM, Actor, audited_save
from combat_norse.audit.vocabulary import AuditAction
from combat_norse.core.errors import BadInput, Reason, Refused, require_reason
from combat_norse.core.refusals import Attempt, refusals_audited
from combat_norse.crf.metadata import stored_datetime
from combat_norse.crf.models import FormInstance
from combat_norse.participants.lookups import participant_by_study_id
from combat_norse.participants.models import Cohort, Participant, ParticipantStatus, Withdrawal
from combat_norse.protocol.dosing import DoseError, check_weight, dose_deviation, suggested_dose
from combat_norse.protocol.eligibility import study_day
from combat_norse.protocol.parameters import DEFAULT
from combat_norse.safety.actions.common import (
    PLAN_ROLES,
    allocated_arm,
    given_doses,
)
from combat_norse.safety.models import DeviationKind, DoseDeviation, DosePlan, PlanBasis
from combat_norse.sites.access import scope_for


def plan_in_force(participant: Participant, at: datetime | None = None) -> DosePlan | None:
    """The plan in force at ``at`` (now by default): the last created at or before it."""
    return _plan_at(_plans(participant), at)


def _plans(participant: Participant) -> list[DosePlan]:
    return list(DosePlan.unscoped.filter(participant=participant).order_by("created_at", "id"))


def _plan_at(plans: list[DosePlan], at: datetime | None) -> DosePlan | None:
    """Of ``plans`` (oldest first), the one in force at ``at``: the last created at or before
    it; a dose before any plan is judged on the first plan; None for the latest."""
    if not plans:
        return None
    if at is None:
        return plans[-1]
    earlier = [p for p in plans if p.created_at <= at]
    return earlier[-1] if earlier else plans[0]


def _suggestion(drug: str, weight: Decimal) -> dict[str, Any]:
    try:
        return suggested_dose(drug, weight).to_json()
    except DoseError as exc:
        raise BadInput(exc.field, exc.problem) from None


def _start_plan(participant: Participant, actor: Actor, *, drug: str, weight: Decimal,
                basis: str, reason: str = "", now: datetime | None = None,
                first: bool = False) -> DosePlan:  # fmt: skip
    """A new plan superseding the one in force (``first``: the caller knows there is none)."""
    now = now or timezone.now()
    current = None if first else plan_in_force(participant)
    if current is not None and current.drug == drug and current.weight_kg == weight:
        return current
    suggestion = _suggestion(drug, weight)
    if current is not None:
        current.superseded_at = now
        audited_save(current, actor=actor, action=AuditAction.DOSE_PLAN, reason=reason,
                     update_fields=["superseded_at"])  # fmt: skip
    plan = DosePlan(participant=participant, drug=drug, weight_kg=weight, basis=basis,
                    suggestion=suggestion, created_at=now, reason=reason,
                    created_by=actor if isinstance(actor, User) else None)  # fmt: skip
    audited_save(plan, actor=actor, action=AuditAction.DOSE_PLAN, reason=reason)
    return plan


def _weight(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        return None
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except ArithmeticError:
        return None


def latest_weight(participant: Participant) -> Decimal | None:
    """The weight last recorded on a form (the baseline form's ``weight_kg``), else the
    screening record's; None when neither has one."""
    saved = FormInstance.unscoped.filter(participant=participant, values__has_key="weight_kg") \
        .order_by("-saved_at", "-id").values_list("values", flat=True).first()  # fmt: skip
    if saved is not None and _weight(saved.get("weight_kg")) is not None:
        return _weight(saved.get("weight_kg"))
    return _weight(participant.screening.record.get("weight_kg"))


def plan_at_randomization(participant: Participant, arm: str, actor: Actor) -> DosePlan | None:
    """The first plan, from the latest recorded weight (none until a weight is recorded: the
    first form that records one starts it)."""
    weight = latest_weight(participant)
    if weight is None:
        return None
    # a participant is randomized once and has no plan before (the observational cohort's
    # first-dose plan never precedes a randomization)
    return _start_plan(participant, actor, drug=arm, weight=weight, first=True,
                       basis=PlanBasis.RANDOMIZATION, reason="randomized")  # fmt: skip


def plan_on_weight(participant: Participant, weight_value: object, actor: Actor) -> None:
    """A saved form recorded a weight: a new plan when it differs from the plan's, or the
    first plan when there was none for want of a weight (the drug allocated, or in the
    observational cohort the drug of the first dose given)."""
    weight = _weight(weight_value)
    current = plan_in_force(participant)
    if weight is None or (current is not None and weight == current.weight_kg):
        return
    drug = current.drug if current is not None else _drug_without_plan(participant)
    if drug is None:
        return
    _start_plan(participant, actor, drug=drug, weight=weight,
                basis=PlanBasis.WEIGHT_CHANGE, reason=f"weight {weight} kg recorded")  # fmt: skip


def _drug_without_plan(participant: Participant) -> str | None:
    arm = allocated_arm(participant)
    if arm is not None:
        return arm
    first = given_doses(participant)[:1]
    drug = first[0].values.get("drug") if first else None
    return drug if isinstance(drug, str) else None


def do_update_dose_plan(actor: User, participant: Participant | str, *, weight_kg: object,
                        reason: str) -> DosePlan:  # fmt: skip
    """The treating team enters a new weight: the plan is recomputed (reason required)."""
    participant = participant_by_study_id(participant)
    attempt = Attempt.on(AuditAction.DOSE_PLAN, participant)
    with refusals_audited(actor, attempt), transaction.atomic():
        scope = scope_for(actor)
        scope.require(participant.site_id, roles=PLAN_ROLES, action="change a dose plan")
        if scope.is_masked_at(participant.site_id):
            raise Refused(Reason.MASKED)
        reason = require_reason(reason, what="changing a dose plan")
        try:
            check_weight(weight_kg)  # the §7 range on the value as given, before any rounding
        except DoseError as exc:
            raise BadInput(exc.field, exc.problem) from None
        weight = _weight(weight_kg)
        if weight is None:  # pragma: no cover - check_weight accepted a number
            raise BadInput("weight_kg", "expected a number of kilograms")
        participant = Participant.unscoped.select_for_update(of=("self",), no_key=True) \
            .select_related("site", "screening").get(pk=participant.pk)  # fmt: skip
        if participant.status != ParticipantStatus.ACTIVE:
            raise Refused.state(f"follow-up ended ({participant.status})")
        current = plan_in_force(participant)
        drug = current.drug if current is not None else allocated_arm(participant)
        if drug is None:
            raise Refused.state("no study drug yet: a plan starts at randomization, or with "
                                "the first dose in the observational cohort")  # fmt: skip
        _suggestion(drug, weight)  # bad weight: the §7 error, nothing saved
        return _start_plan(participant, actor, drug=drug, weight=weight,
                           basis=PlanBasis.WEIGHT_CHANGE, reason=reason)  # fmt: skip


# ------------------------------------------------------------------------------- deviations
def _findings(participant: Participant, dose: FormInstance, *, arm: str | None,
              plans: list[DosePlan], first: FormInstance | None) -> dict[str, str]:  # fmt: skip
    """The deviations of one dose record; ``arm`` (randomized cohort only), the plans and the
    first dose given are the participant's, read once for all their dose records."""
    values = dose.values
    if values.get("administered", "given") != "given":
        return {}
    drug, given_at = values.get("drug"), stored_datetime(values.get("given_at"))
    out: dict[str, str] = {}
    if arm is not None and drug is not None and drug != arm:
        out[DeviationKind.WRONG_DRUG] = f"{drug} given; allocated {arm}"
    plan = _plan_at(plans, given_at)
    mg = values.get("dose_mg")
    if plan is not None and drug is not None and isinstance(mg, int | float):
        suggested = Decimal(str(_suggestion(drug, plan.weight_kg)["dose_mg"]))
        if suggested > 0 and dose_deviation(suggested, Decimal(str(mg))):
            out[DeviationKind.DOSE_OFF_PLAN] = (
                f"{mg} mg given; {suggested} mg suggested for {plan.weight_kg} kg "
                f"(more than {int(DEFAULT.dose_deviation_fraction * 100)} % off)"
            )
    if arm is not None and given_at is not None:
        randomized_at = participant.allocation.randomized_at
        limit = timedelta(hours=DEFAULT.first_dose_late_hours)
        if first is not None and first.pk == dose.pk and given_at - randomized_at > limit:
            hours = (given_at - randomized_at).total_seconds() / 3600
            out[DeviationKind.LATE_FIRST_DOSE] = (
                f"first dose {hours:.1f} h after randomization (limit "
                f"{DEFAULT.first_dose_late_hours} h)"
            )
    return out


def check_doses(participant: Participant, actor: Actor, now: datetime | None = None) -> None:
    """Flag or clear the deviations of every dose record of the participant (a change to one
    record can make another the first dose)."""
    now = now or timezone.now()
    existing = {
        (d.dose_id, d.kind): d for d in DoseDeviation.unscoped.filter(participant=participant)
    }
    records = list(FormInstance.unscoped.filter(participant=participant, form="dose"))
    arm = allocated_arm(participant) if participant.cohort == Cohort.RANDOMIZED else None
    plans = _plans(participant)
    given = given_doses(participant, records)
    first = given[0] if given else None
    for dose in records:
        found = _findings(participant, dose, arm=arm, plans=plans, first=first)
        for kind, detail in found.items():
            row = existing.get((dose.pk, kind))
            missing = existing.pop((None, kind), None)  # flagged before any dose was recorded
            if row is None and missing is not None:
                row = missing  # the late first dose is now on record: the flag points at it
                row.dose, row.cleared_at, row.detail = dose, None, detail
                audited_save(row, actor=actor, action=AuditAction.DOSE_DEVIATION,
                             reason="the late first dose was recorded",
                             update_fields=["dose", "cleared_at", "detail"])  # fmt: skip
                existing[(dose.pk, kind)] = row
            elif row is None:
                row = DoseDeviation(participant=participant, dose=dose, kind=kind, detail=detail,
                                    detected_at=now)  # fmt: skip
                audited_save(row, actor=actor, action=AuditAction.DOSE_DEVIATION)
            elif row.cleared_at is not None or row.detail != detail:
                row.cleared_at, row.detail = None, detail
                audited_save(row, actor=actor, action=AuditAction.DOSE_DEVIATION,
                             update_fields=["cleared_at", "detail"])  # fmt: skip
        for (dose_id, kind), row in existing.items():
            if dose_id == dose.pk and kind not in found and row.cleared_at is None:
                row.cleared_at = now
                audited_save(row, actor=actor, action=AuditAction.DOSE_DEVIATION,
                             reason="the dose record was corrected",
                             update_fields=["cleared_at"])  # fmt: skip


    missing = existing.get((None, DeviationKind.LATE_FIRST_DOSE))
    if missing is not None and missing.cleared_at is None and given:
        missing.cleared_at = now  # a first dose within 24 h was recorded after all
        audited_save(missing, actor=actor, action=AuditAction.DOSE_DEVIATION,
                     reason="a first dose within 24 h was recorded", update_fields=["cleared_at"])


def flag_missing_first_doses(now: datetime | None = None) -> int:
    """The periodic task: a randomized participant (active, not withdrawn, allocation not in
    error) with no dose given 24 h after randomization is flagged ``late_first_dose`` with no
    dose record; the flag moves onto the first dose when it is recorded late, and is cleared
    when a dose within 24 h is recorded after all. Idempotent."""
    now = now or timezone.now()
    limit = now - timedelta(hours=DEFAULT.first_dose_late_hours)
    flagged = 0
    candidates = Allocation.unscoped.filter(
        in_error=False, randomized_at__lt=limit, participant__status=ParticipantStatus.ACTIVE,
        participant__cohort=Cohort.RANDOMIZED,
    ).exclude(participant__in=Withdrawal.unscoped.values("participant")).exclude(
        participant__in=DoseDeviation.unscoped.filter(kind=DeviationKind.LATE_FIRST_DOSE)
        .values("participant")
    ).select_related("participant__site", "participant__screening")  # fmt: skip
    for allocation in candidates:
        participant = allocation.participant
        if given_doses(participant):
            continue  # a dose on time: nothing to flag
        with transaction.atomic():
            row = DoseDeviation(participant=participant, dose=None,
                                kind=DeviationKind.LATE_FIRST_DOSE, detected_at=now,
                                detail=f"no dose recorded {DEFAULT.first_dose_late_hours} h "
                                       "after randomization")  # fmt: skip
            audited_save(row, actor=SYSTEM, action=AuditAction.DOSE_DEVIATION)
            flagged += 1
    return flagged


def on_dose_saved(participant: Participant, dose: FormInstance, actor: Actor) -> None:
    """A dose record was saved: observational participants get a plan with their first dose
    (when a weight is known); then every dose record is checked."""
    drug = dose.values.get("drug")
    if plan_in_force(participant) is None and isinstance(drug, str) \
            and participant.cohort == Cohort.OBSERVATIONAL:  # fmt: skip
        weight = latest_weight(participant)
        if weight is not None:
            _start_plan(participant, actor, drug=drug, weight=weight,
                        basis=PlanBasis.FIRST_DOSE, reason="first dose recorded")  # fmt: skip
    check_doses(participant, actor)


def exposure(participant: Participant) -> dict[str, Any] | None:
    """The first study-drug dose given (the observational question's exposure): drug, time
    and study day (days since SE onset, by the site's calendar)."""
    first = given_doses(participant)[:1]
    if not first:
        return None
    given_at = stored_datetime(first[0].values["given_at"])
    if given_at is None:  # pragma: no cover - given_doses keeps only dated doses
        return None
    onset = participant.screening.se_onset
    return {
        "drug": first[0].values["drug"],
        "given_at": given_at.isoformat(),
        "study_day": study_day(onset, given_at, participant.zone) if onset else None,
        "instance": first[0].number,
    }

