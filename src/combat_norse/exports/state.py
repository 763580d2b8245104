"""``audit verify --state``: replay the audit trail and compare it with the domain rows.

The trail proves its own completeness (:mod:`combat_norse.audit.verify`); this module checks
that the data agree with it: a row changed by raw SQL without an event (an allocation's arm
flipped, two slots swapped, a screening decision changed, a form value edited) is reported,
and so is a row deleted without an event or a row that no event created. It lives above the
apps (the audit app, the lowest layer, imports none of them).

Replay: every event on a tracked model (``object_type`` + ``object_id``) in ``seq`` order (row
locks order the changes of one row, so their events' ``seq`` follows them); a create or update
sets each recorded field to its new value, ``delete`` removes the row. Values are compared in
the trail's own JSON form (``to_jsonable``); a redacted value is not compared. Form values
come from the ``item:<code>`` changes of ``form_save`` events. Each screening decision (the
log row of one evaluation) must match a ``screen``/``rescreen`` event of its entry with the same
decision, or, for the re-check at enrollment, the participant's ``enroll`` event (which records
the cohort, not the decision: there only the row's existence is checked). The report names
rows and fields, never values (an arm must not reach a console log).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import models

from combat_norse.allocation.models import Allocation
from combat_norse.audit.api import REDACTED, to_jsonable
from combat_norse.audit.models import AuditEvent
from combat_norse.audit.vocabulary import AuditAction
from combat_norse.crf.models import FormInstance
from combat_norse.participants.models import (
    Consent,
    Participant,
    ScreeningDecision,
    ScreeningEntry,
)

#: Models whose rows are replayed field by field from their own events.
FIELD_MODELS: tuple[type[models.Model], ...] = (Allocation, ScreeningEntry, Consent, Participant)
DECISION_ACTIONS = (AuditAction.SCREEN.value, AuditAction.RESCREEN.value)
ITEM_PREFIX = "item:"
_GONE = object()


@dataclass(frozen=True)
class Discrepancy:
    """One row the trail does not explain. ``event``: the last event on the row, if any."""

    object: str
    problem: str
    fields: tuple[str, ...] = ()
    event: int | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"object": self.object, "problem": self.problem}
        if self.fields:
            out["fields"] = list(self.fields)
        if self.event is not None:
            out["last_event"] = self.event
        return out


@dataclass
class StateReport:
    rows: int = 0
    discrepancies: list[Discrepancy] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.discrepancies

    def as_json(self, limit: int = 50) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": self.ok, "rows": self.rows}
        if not self.ok:
            out["discrepancies"] = len(self.discrepancies)
            out["first"] = [d.as_json() for d in self.discrepancies[:limit]]
        return out


@dataclass
class _Replayed:
    values: dict[str, Any] = field(default_factory=dict)
    last_event: int | None = None
    deleted: bool = False
    created: bool = False


def _replay(labels: list[str]) -> dict[tuple[str, str], _Replayed]:
    state: dict[tuple[str, str], _Replayed] = defaultdict(_Replayed)
    rows = (
        AuditEvent.objects.filter(object_type__in=labels)
        .order_by("seq")
        .values_list("seq", "object_type", "object_id", "action", "changes")
        .iterator(chunk_size=2000)
    )
    for seq, object_type, object_id, action, changes in rows:
        if action.endswith("_refused"):
            continue  # a refusal changed nothing
        row = state[(object_type, object_id)]
        row.last_event = seq
        if action == AuditAction.DELETE.value:
            row.deleted, row.values = True, {}
            continue
        row.deleted = False
        for name, change in (changes or {}).items():
            if isinstance(change, list) and len(change) == 2:
                if change[0] is None and not row.values and not row.created:
                    row.created = True
                row.values[name] = change[1]
    return state


def _field_rows(model: type[models.Model], state: dict[tuple[str, str], _Replayed],
                report: StateReport) -> None:  # fmt: skip
    label = model._meta.label
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    seen: set[str] = set()
    manager = model._base_manager
    for row in manager.order_by("pk").iterator(chunk_size=2000):
        report.rows += 1
        key = str(row.pk)
        seen.add(key)
        replayed = state.get((label, key))
        name = f"{label}:{key}"
        if replayed is None or not replayed.values:
            report.discrepancies.append(Discrepancy(name, "no event created this row"))
            continue
        if replayed.deleted:
            report.discrepancies.append(
                Discrepancy(name, "the trail deleted this row", event=replayed.last_event)
            )
            continue
        differ = []
        for f in fields:
            if f.attname not in replayed.values:
                continue
            recorded = replayed.values[f.attname]
            if recorded == REDACTED:
                continue
            if to_jsonable(f.value_from_object(row)) != recorded:
                differ.append(f.attname)
        if differ:
            report.discrepancies.append(Discrepancy(
                name, "differs from the trail (changed without an event)", tuple(differ),
                replayed.last_event,
            ))  # fmt: skip
    for (object_type, object_id), replayed in state.items():
        if object_type == label and object_id not in seen and not replayed.deleted \
                and replayed.created:  # fmt: skip
            report.discrepancies.append(Discrepancy(
                f"{label}:{object_id}", "deleted without an event", event=replayed.last_event,
            ))  # fmt: skip


def _form_rows(state: dict[tuple[str, str], _Replayed], report: StateReport) -> None:
    label = FormInstance._meta.label
    seen: set[str] = set()
    for row in FormInstance._base_manager.order_by("pk").iterator(chunk_size=2000):
        report.rows += 1
        key = str(row.pk)
        seen.add(key)
        name = f"{label}:{key}"
        replayed = state.get((label, key))
        if replayed is None:
            report.discrepancies.append(Discrepancy(name, "no event saved this form"))
            continue
        items = {k[len(ITEM_PREFIX):]: v for k, v in replayed.values.items()
                 if k.startswith(ITEM_PREFIX)}  # fmt: skip
        items = {k: v for k, v in items.items() if v is not None}
        stored = {k: v for k, v in to_jsonable(row.values or {}).items() if v is not None}
        differ = sorted(k for k in set(items) | set(stored) if items.get(k) != stored.get(k))
        if "version" in replayed.values and replayed.values["version"] != row.version:
            differ.append("version")
        if differ:
            report.discrepancies.append(Discrepancy(
                name, "form values differ from the trail (changed without an event)",
                tuple(differ), replayed.last_event,
            ))  # fmt: skip
    for (object_type, object_id), replayed in state.items():
        if object_type == label and object_id not in seen and not replayed.deleted:
            report.discrepancies.append(Discrepancy(
                f"{label}:{object_id}", "deleted without an event", event=replayed.last_event,
            ))  # fmt: skip


def _decision_events() -> dict[str, list[tuple[int, Any]]]:
    """Per screening entry id: (seq, the decision it recorded) of each screen/rescreen, and
    (seq, unknown) of the participant's enrollment, which logs one decision too (its event is
    on the participant and records the cohort, not the decision)."""
    out: dict[str, list[tuple[int, Any]]] = defaultdict(list)
    enrollments = (
        AuditEvent.objects.filter(
            object_type=Participant._meta.label, action=AuditAction.ENROLL.value
        )
        .order_by("seq")
        .values_list("seq", "changes")
    )
    for seq, changes in enrollments.iterator(chunk_size=2000):
        change = (changes or {}).get("screening_id")
        if isinstance(change, list):
            out[f"enrollment:{change[1]}"].append((seq, _GONE))
    rows = (
        AuditEvent.objects.filter(
            object_type=ScreeningEntry._meta.label, action__in=DECISION_ACTIONS
        )
        .order_by("seq")
        .values_list("seq", "object_id", "changes")
        .iterator(chunk_size=2000)
    )
    for seq, object_id, changes in rows:
        change = (changes or {}).get("decision")
        out[object_id].append((seq, change[1] if isinstance(change, list) else _GONE))
    return out


def _decision_rows(report: StateReport) -> None:
    """Each entry's decisions, in order, match its screen/rescreen events one to one."""
    events = _decision_events()
    label = ScreeningDecision._meta.label
    by_entry: dict[str, list[ScreeningDecision]] = defaultdict(list)
    for row in ScreeningDecision._base_manager.order_by("decided_at", "pk").iterator(2000):
        report.rows += 1
        prefix = "enrollment:" if row.purpose == "enrollment" else ""
        by_entry[f"{prefix}{row.screening_id}"].append(row)
    for key in sorted(set(by_entry) | set(events), key=lambda k: (len(k), k)):
        entry_id = key.removeprefix("enrollment:")
        decisions, evented = by_entry.get(key, []), events.get(key, [])
        for i in range(max(len(decisions), len(evented))):
            decision_row = decisions[i] if i < len(decisions) else None
            seq, recorded = evented[i] if i < len(evented) else (None, _GONE)
            if decision_row is None:
                report.discrepancies.append(Discrepancy(
                    f"{ScreeningEntry._meta.label}:{entry_id}",
                    "a screening decision was deleted without an event", event=seq,
                ))  # fmt: skip
                break
            name = f"{label}:{decision_row.pk}"
            if seq is None:
                report.discrepancies.append(Discrepancy(name, "no event recorded this decision"))
                break
            decision = (decision_row.result or {}).get("decision")
            if recorded is not _GONE and decision != recorded:
                report.discrepancies.append(Discrepancy(
                    name, "differs from the trail (changed without an event)", ("result",), seq,
                ))  # fmt: skip


def reconcile() -> StateReport:
    """Replay the trail and report every tracked row it does not explain."""
    report = StateReport()
    labels = [m._meta.label for m in FIELD_MODELS] + [FormInstance._meta.label]
    state = _replay(labels)
    for model in FIELD_MODELS:
        _field_rows(model, state, report)
    _form_rows(state, report)
    _decision_rows(report)
    return report
