"""JSON of treatment and safety records (the command line's, the pages' and the API's). The
access layer has already refused a masked reader every arm-revealing record; clocks name no
drug, term or narrative."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from combat_norse.crf import catalog
from combat_norse.crf.models import FormInstance
from combat_norse.crf.presenters import present_due, shown_values
from combat_norse.participants.models import Participant
from combat_norse.protocol.safety import clock_status, is_susar
from combat_norse.safety.actions.clocks import ae_id
from combat_norse.safety.actions.treatment import exposure
from combat_norse.safety.models import DoseDeviation, DosePlan, LabAlert, SafetyClock
from combat_norse.sites.access import Scope


def _local(moment: datetime | None, zone: str) -> str | None:
    return moment.astimezone(ZoneInfo(zone)).isoformat() if moment is not None else None


def present_plan(plan: DosePlan) -> dict[str, Any]:
    return {
        "study_id": plan.participant.study_id,
        "drug": plan.drug,
        "weight_kg": float(plan.weight_kg),
        "basis": plan.basis,
        "reason": plan.reason,
        "created_at": _local(plan.created_at, plan.participant.zone),
        "superseded_at": _local(plan.superseded_at, plan.participant.zone),
        "suggestion": plan.suggestion,
    }


def present_dose(dose: FormInstance, zone: str) -> dict[str, Any]:
    v = dose.values
    given_at = v.get("given_at")
    return {
        "instance": dose.number,
        "drug": v.get("drug"),
        "administered": v.get("administered", "given"),
        "dose_mg": v.get("dose_mg"),
        "route": v.get("route"),
        "given_at": _local(datetime.fromisoformat(given_at), zone) if isinstance(given_at, str)
        else None,
        "given_by": v.get("given_by"),
        "not_given_reason": v.get("not_given_reason"),
        "status": dose.status,
    }  # fmt: skip


def present_deviation(d: DoseDeviation) -> dict[str, Any]:
    return {
        "study_id": d.participant.study_id,
        "dose_instance": d.dose.number if d.dose is not None else None,
        "kind": d.kind,
        "detail": d.detail,
        "detected_at": _local(d.detected_at, d.participant.zone),
        "cleared_at": _local(d.cleared_at, d.participant.zone),
    }


def present_treatment(participant: Participant, plans: list[DosePlan],
                      doses: list[FormInstance], deviations: list[DoseDeviation]) -> dict[str, Any]:
    """``treatment show``: the plan in force, earlier plans, every dose record, deviations and
    the exposure (the first study-drug dose given and its study day)."""
    zone = participant.zone
    current = plans[-1] if plans else None
    return {
        "study_id": participant.study_id,
        "cohort": participant.cohort,
        "zone": zone,
        "plan": present_plan(current) if current is not None else None,
        "earlier_plans": [present_plan(p) for p in plans[:-1]],
        "doses": [present_dose(d, zone) for d in doses],
        "deviations": [present_deviation(d) for d in deviations],
        "exposure": exposure(participant),
    }


def present_clock(clock: SafetyClock, now: datetime) -> dict[str, Any]:
    """§14 ``safety clocks`` entry; ``due`` in the site's zone, with its offset."""
    zone = clock.participant.zone
    status = "withdrawn" if clock.withdrawn_at is not None \
        else clock_status(clock.due, clock.reported_at, now)  # fmt: skip
    return {
        "ae_id": ae_id(clock.adverse_event),
        "study_id": clock.participant.study_id,
        "kind": clock.kind,
        "country": clock.country,
        "due": _local(clock.due, zone),
        "status": status,
    }


def present_clocks(clocks: Iterable[SafetyClock], now: datetime) -> dict[str, Any]:
    return {"clocks": [present_clock(c, now) for c in clocks]}


def present_report(clock: SafetyClock, now: datetime) -> dict[str, Any]:
    return {"ae_id": ae_id(clock.adverse_event), "kind": clock.kind,
            "status": clock_status(clock.due, clock.reported_at, now)}  # fmt: skip


def present_adverse_events(aes: Iterable[FormInstance], scope: Scope) -> dict[str, Any]:
    """``safety events``: the AE log, each event's items as the reader may see them (a term
    naming a drug is ``[masked]`` for a masked reader) and whether it is a SUSAR."""
    out = []
    for ae in aes:
        masked = scope.is_masked_at(ae.participant.site_id)
        v = shown_values(catalog.form("adverse_event", ae.form_version), ae.values,
                         masked=masked)  # fmt: skip
        term = ae.values.get("term") if isinstance(ae.values.get("term"), str) else ""
        out.append({
            "ae_id": ae_id(ae), "study_id": ae.participant.study_id, "term": v.get("term"),
            "grade": v.get("grade"), "serious": v.get("serious"),
            "onset_date": v.get("onset_date"), "outcome": v.get("outcome"),
            "resolved_on": v.get("resolved_on"), "status": ae.status,
            "susar": is_susar(serious=ae.values.get("serious") is True,
                              related_to_study_drug=ae.values.get("related_to_study_drug"),
                              expected=ae.values.get("expected"), term=term,
                              in_disease=ae.values.get("expected_in_disease")),
        })  # fmt: skip
    return {"adverse_events": out}


def present_alerts(participant: Participant, alerts: Iterable[LabAlert]) -> dict[str, Any]:
    """§14 ``alerts``: kind, item, value, rule and when it was raised (site's zone)."""
    zone = participant.zone
    return {
        "alerts": [{"kind": a.kind, "item": a.item, "value": a.value, "rule": a.rule,
                    "raised_at": _local(a.raised_at, zone)} for a in alerts],
    }


def present_due_work(due: Mapping[str, list[Any]], site: str | None,
                     now: datetime) -> dict[str, Any]:  # fmt: skip
    """§14 ``due``: data capture's lists with ``open_clocks`` and ``overdue_safety_labs``."""
    out = present_due(due, site)
    out["open_clocks"] = [present_clock(c, now) for c in due["open_clocks"]]
    out["overdue_safety_labs"] = [
        {"study_id": p.study_id, "labs": labs_due.kind,
         "due_by": _local(labs_due.due_by, p.zone)}
        for p, labs_due in due["overdue_safety_labs"]
    ]  # fmt: skip
    return out
