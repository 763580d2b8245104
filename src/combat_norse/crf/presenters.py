"""Presenters of data capture (§14 JSON), masking per item from the form metadata: a masked
reader gets no arm-revealing form or item, and free text naming a drug is ``[masked]``."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from combat_norse.core.masking import MASKED, mentions_drug
from combat_norse.crf import catalog
from combat_norse.crf.metadata import FormDef
from combat_norse.crf.models import (
    DataQuery,
    FormInstance,
    FormStatus,
    SdvStatus,
    Signature,
    Visit,
    adverse_event_id,
)
from combat_norse.participants.models import Participant
from combat_norse.sites.access import Scope

if TYPE_CHECKING:
    from combat_norse.crf.access import MissingForm

DICTIONARY_ITEM_KEYS = ("code", "type", "unit", "min", "max", "choices", "required",
                        "arm_revealing")  # fmt: skip


def present_forms(scope: Scope, *, full: bool = False) -> dict[str, Any]:
    """``forms`` (§14): the latest version of every form; a masked user (masked anywhere) gets
    no arm-revealing form or item. ``full`` adds labels, CDASH/SDTM names, SI alternatives
    and the languages the form's words are translated into."""
    masked = scope.masked_anywhere
    out = []
    for form in catalog.LATEST.values():
        if masked and form.arm_revealing:
            continue
        entry = form.as_json(masked=masked)
        if full:  # the languages its participant-facing words come in (labels stay English)
            entry["languages"] = form.languages
        else:
            entry = {k: entry[k] for k in ("code", "version", "title", "arm_revealing", "items")}
            entry["items"] = [{k: i[k] for k in DICTIONARY_ITEM_KEYS} for i in entry["items"]]
        out.append(entry)
    return {"forms": out}


def present_visits(
    participant: Participant,
    visits: Iterable[Visit],
    instances: Iterable[FormInstance],
    scope: Scope,
) -> dict[str, Any]:
    """``visits`` (§14): each visit with its window, status and forms (a form never saved is
    ``not_started``); a masked reader is not told of arm-revealing forms."""
    masked = scope.is_masked_at(participant.site_id)
    saved: dict[int, list[FormInstance]] = {}
    for fi in instances:
        saved.setdefault(fi.visit_id, []).append(fi)
    rows = []
    for v in visits:
        forms: list[dict[str, Any]] = []
        seen = set()
        for fi in saved.get(v.pk, []):
            if masked and catalog.form(fi.form).arm_revealing:
                continue
            entry: dict[str, Any] = {"form": fi.form, "status": fi.status}
            if catalog.form(fi.form).repeating:
                entry["instance"] = fi.number
            forms.append(entry)
            seen.add(fi.form)
        for f in catalog.expected_forms(v.code):
            if f.code not in seen and not (masked and f.arm_revealing):
                forms.append({"form": f.code, "status": FormStatus.NOT_STARTED.value})
        rows.append({
            "visit": v.code,
            "target": _day(v.target),
            "earliest": _day(v.earliest),
            "latest": _day(v.latest),
            "status": v.status,
            "forms": forms,
        })
    return {"study_id": participant.study_id, "visits": rows}


def _day(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def shown_values(form: FormDef, values: Mapping[str, Any], *, masked: bool) -> dict[str, Any]:
    """A form's values as the reader sees them (item-level masking)."""
    items = form.item_map
    out: dict[str, Any] = {}
    for code, value in values.items():
        item = items.get(code)
        if item is None:
            continue
        if masked and item.arm_revealing:
            continue
        if masked and item.names_drug and mentions_drug(value):
            value = MASKED
        out[code] = value
    return out


def present_form(
    form: FormDef, found: FormInstance | None, participant: Participant, scope: Scope
) -> dict[str, Any]:
    """``form show`` (§14); never saved: ``not_started``, ``{}``, version 0."""
    masked = scope.is_masked_at(participant.site_id)
    if found is None:
        return {"values": {}, "version": 0, "status": FormStatus.NOT_STARTED.value,
                "sdv": SdvStatus.NOT_VERIFIED.value, "signature": None,
                "assessed_unmasked": False}  # fmt: skip
    version_def = catalog.form(found.form, found.form_version)
    return {
        "values": shown_values(version_def, found.values, masked=masked),
        "version": found.version,
        "status": found.status,
        "sdv": found.sdv,
        "signature": present_form_signature(found),
        "assessed_unmasked": found.assessed_unmasked,
    }


def present_query(query: DataQuery, *, masked: bool) -> dict[str, Any]:
    text = MASKED if masked and mentions_drug(query.text) else query.text
    return {"id": query.pk, "item": query.item, "text": text}


def present_form_save(
    found: FormInstance, queries: Iterable[DataQuery], scope: Scope
) -> dict[str, Any]:
    """``form save`` (§14)."""
    masked = scope.is_masked_at(found.participant.site_id)
    return {
        "study_id": found.participant.study_id,
        "visit": found.visit.code,
        "form": found.form,
        "instance": found.number,
        "form_version": found.form_version,
        "version": found.version,
        "status": found.status,
        "queries": [present_query(q, masked=masked) for q in queries],
        # an adverse event's id, which ``safety clocks`` and ``safety report`` use
        **({"ae_id": adverse_event_id(found)} if found.form == "adverse_event" else {}),
    }


def present_form_state(found: FormInstance) -> dict[str, Any]:
    """``form verify|lock|unlock`` (§14)."""
    return {"status": found.status, "sdv": found.sdv}


def present_queries(queries: Iterable[DataQuery], scope: Scope) -> dict[str, Any]:
    """``queries`` (§14); the rows come from ``access_queries`` (no query on an arm-revealing
    form or item reaches a masked reader), and text naming a drug reads ``[masked]`` for a
    reader masked at the participant's site."""
    rows = []
    for q in queries:
        fi = q.form_instance
        masked = scope.is_masked_at(fi.participant.site_id)
        rows.append({
            "id": q.pk,
            "study_id": fi.participant.study_id,
            "visit": fi.visit.code,
            "form": fi.form,
            "instance": fi.number,
            "item": q.item,
            "status": q.status,
            "origin": q.origin,
            "text": MASKED if masked and mentions_drug(q.text) else q.text,
            "opened_at": q.opened_at.isoformat(),
        })
    return {"queries": rows}


def present_query_state(query: DataQuery) -> dict[str, Any]:
    """``query raise|answer|close|reopen`` (§14)."""
    return {"id": query.pk, "status": query.status}

# ---------------------------------------------------------------- signatures (§14 sign)
def _signature_brief(sig: Signature, valid: bool) -> dict[str, Any]:
    return {
        "signature_id": sig.pk,
        "meaning": sig.meaning,
        "signer": sig.signer.get_username(),
        "signer_name": sig.signer_name,
        "signed_at": sig.signed_at.isoformat(),
        "valid": valid,
    }


def shown_covers(covers: Iterable[Mapping[str, Any]], *, masked: bool) -> list[dict[str, Any]]:
    """A signature's covered records as the reader sees them: a masked reader is not told of
    arm-revealing forms (the dose form)."""
    out = []
    for entry in covers:
        if masked and entry.get("kind") == "form" and _arm_revealing_form(str(entry["form"])):
            continue
        out.append(dict(entry))
    return out


def _arm_revealing_form(code: str) -> bool:
    try:
        return catalog.form(code).arm_revealing
    except KeyError:  # a form no longer in the catalog: hide it rather than guess
        return True


def present_signed(sig: Signature, scope: Scope) -> dict[str, Any]:
    """``sign`` (§14)."""
    masked = scope.is_masked_at(sig.participant.site_id)
    return {
        "signature_id": sig.pk,
        "meaning": sig.meaning,
        "signed_at": sig.signed_at.isoformat(),
        "covers": shown_covers(sig.covers, masked=masked),
    }


def present_signatures(
    participant: Participant, signatures: Iterable[Signature], scope: Scope
) -> dict[str, Any]:
    """``signatures`` (an addition to §14): every signature of a participant, oldest first, with
    its validity computed now and what it covers."""
    from combat_norse.crf.actions.signatures import validity

    masked = scope.is_masked_at(participant.site_id)
    found = list(signatures)
    valid = validity(participant, found)
    return {
        "study_id": participant.study_id,
        "signatures": [
            {**_signature_brief(s, valid[s.pk]), "covers": shown_covers(s.covers, masked=masked)}
            for s in found
        ],
    }


def present_form_signature(found: FormInstance) -> dict[str, Any] | None:
    """``form show``'s ``signature``: the latest casebook signature covering the instance, or
    None, with whether it is still valid."""
    from combat_norse.crf.actions.signatures import covering_signature

    covering = covering_signature(found)
    return _signature_brief(*covering) if covering is not None else None


def present_assessed_unmasked_entry(found: FormInstance) -> dict[str, Any]:
    """One outcome entry assessed unmasked, as the unmasking report lists it (no values)."""
    return {
        "type": "assessed_unmasked",
        "study_id": found.participant.study_id,
        "user": found.assessed_by.get_username() if found.assessed_by else None,
        "visit": found.visit.code,
        "instrument": found.form,
        "instance": found.number,
        "occurred_at": found.saved_at.isoformat(),
    }


def present_due(due: Mapping[str, list[Any]], site: str | None) -> dict[str, Any]:
    """``due`` (§14): the site's due-work list (what the reader may see; see ``access_due``).
    The safety app adds ``open_clocks`` and ``overdue_safety_labs`` (``safety.presenters``)."""
    return {
        "site": site,
        "overdue_visits": [
            {"study_id": v.participant.study_id, "visit": v.code, "latest": _day(v.latest),
             "status": v.status}
            for v in due["overdue_visits"]
        ],
        "incomplete_forms": [
            {"study_id": fi.participant.study_id, "visit": fi.visit.code, "form": fi.form,
             "instance": fi.number, "status": fi.status}
            for fi in due["incomplete_forms"]
        ],
        "open_queries": [
            {"id": q.pk, "study_id": q.form_instance.participant.study_id,
             "visit": q.form_instance.visit.code, "form": q.form_instance.form,
             "item": q.item, "opened_at": q.opened_at.isoformat()}
            for q in due["open_queries"]
        ],
        "unsigned_casebooks": [{"study_id": p.study_id} for p in due["unsigned_casebooks"]],
    }  # fmt: skip


def present_missing_forms(found: Iterable[MissingForm]) -> dict[str, Any]:
    """The missing forms (``access_missing_forms``): one row per expected form never started,
    with its visit's target day, the last day of its window (the site's local dates) and the
    days since then."""
    return {"forms": [
        {"study_id": m.visit.participant.study_id, "site": m.visit.participant.site.code,
         "visit": m.visit.code, "form": m.form.code, "target": _day(m.visit.target),
         "window_closed_on": _day(m.visit.latest), "days_overdue": m.days_overdue}
        for m in found
    ]}  # fmt: skip


def present_review_forms(found: Iterable[FormInstance]) -> dict[str, Any]:
    """The review worklist (``access_review_forms``): one row per saved form."""
    return {"forms": [
        {"study_id": fi.participant.study_id, "site": fi.participant.site.code,
         "visit": fi.visit.code, "form": fi.form, "instance": fi.number, "status": fi.status,
         "sdv": fi.sdv, "version": fi.version, "saved_at": fi.saved_at.isoformat(),
         "zone": fi.participant.zone}
        for fi in found
    ]}  # fmt: skip


_FORM_REF = re.compile(r"^[a-z0-9_]+/(?P<form>[a-z0-9_]+)#\d+$")


def _shown_change(key: str, value: Any, form_code: str | None, *, masked: bool) -> Any:
    """One change of an audit event as the reader sees it; ``None``: left out."""
    if not masked:
        return value
    if key.startswith("item:") and form_code is not None:
        try:
            item = catalog.form(form_code).item_map.get(key[5:])
        except KeyError:
            item = None
        if item is None or item.arm_revealing:
            return None
    if mentions_drug(json_text(value)):
        return MASKED
    return value


def json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def present_audit_trail(participant: Participant, events: Iterable[Any],
                        scope: Scope) -> dict[str, Any]:  # fmt: skip
    """A participant's audit trail (``access_participant_audit``): who, when (in the site's
    zone), what and why. A masked reader's rows carry no arm-revealing item, and any value
    naming a drug is ``[masked]``."""
    from zoneinfo import ZoneInfo

    masked = scope.is_masked_at(participant.site_id)
    zone = ZoneInfo(participant.zone)
    rows = []
    for e in events:
        changes = e.changes if isinstance(e.changes, dict) else {}
        ref = changes.get("form")
        found = _FORM_REF.match(ref[-1]) if isinstance(ref, list) and ref and isinstance(
            ref[-1], str) else None  # fmt: skip
        form_code = found["form"] if found else None
        shown = {}
        for key, value in sorted(changes.items()):
            kept = _shown_change(str(key), value, form_code, masked=masked)
            if kept is not None:
                shown[str(key)] = kept
        rows.append({
            "seq": e.seq, "occurred_at": e.occurred_at.astimezone(zone).isoformat(),
            "actor": e.actor_username, "action": e.action, "object": e.object_type,
            "changes": shown,
            "reason": MASKED if masked and mentions_drug(e.reason) else e.reason,
        })  # fmt: skip
    return {"study_id": participant.study_id, "zone": participant.zone, "events": rows}
