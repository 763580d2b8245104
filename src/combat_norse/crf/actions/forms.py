"""Saving, verifying, locking and unlocking forms (§14).

Life cycle: ``not_started`` → ``in_progress`` (a required item missing) → ``complete`` →
``locked`` (data manager) → ``unlock`` back to ``complete`` (reason). SDV apart: ``not_verified``
→ ``verified`` (monitor, complete forms only) → ``changed_after_sdv`` when verified data change.
A change to a complete form needs a reason; saving to a locked form is refused ``locked``; every
accepted save increments ``version``; ``if_version`` refuses ``conflict`` (naming the items
changed since) when the stored version is another. One event per save lists each changed item
(old → new); failing cross-item rules open queries, which close when the data are corrected.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from combat_norse.audit.api import audited_save, record_event, save_with_history
from combat_norse.audit.vocabulary import AuditAction
from combat_norse.core import events
from combat_norse.core.errors import BadInput, Reason, Refused, require_reason
from combat_norse.core.refusals import Attempt, refusals_audited
from combat_norse.crf import catalog, rules
from combat_norse.crf.actions import signatures
from combat_norse.crf.actions.visits import event_or_day_visit, local_date, refresh_status
from combat_norse.crf.metadata import FormDef, ItemError, check_not_future
from combat_norse.crf.models import (
    DataQuery,
    FormInstance,
    FormStatus,
    FormVersionSeal,
    QueryOrigin,
    QueryStatus,
    SdvStatus,
    Visit,
    VisitStatus,
)
from combat_norse.participants.access import access_participant
from combat_norse.participants.actions.common import CLOCK_SKEW
from combat_norse.participants.actions.consent import valid_consent
from combat_norse.participants.lookups import participant_by_study_id
from combat_norse.participants.models import Participant, ParticipantStatus, Unmasking
from combat_norse.sites.access import AccessDenied, scope_for
from combat_norse.sites.roles import Role

SITE_ENTRY_ROLES = frozenset({Role.SITE_COORDINATOR, Role.SITE_INVESTIGATOR, Role.DATA_MANAGER})
DOSE_ROLES = SITE_ENTRY_ROLES | {Role.PHARMACIST}
OUTCOME_ROLES = frozenset({Role.OUTCOME_ASSESSOR})
VERIFY_ROLES = frozenset({Role.MONITOR})
LOCK_ROLES = frozenset({Role.DATA_MANAGER})


def form_def(code: str, version: int | None = None) -> FormDef:
    try:
        return catalog.form(code, version)
    except KeyError:
        raise BadInput("form", f"unknown form {code[:40]!r}") from None


def _writer_roles(form: FormDef) -> frozenset[str]:
    if form.outcome:
        return OUTCOME_ROLES
    if form.code == "dose":
        return DOSE_ROLES
    return SITE_ENTRY_ROLES


def _check_writer(actor: User, participant: Participant, form: FormDef) -> None:
    scope = scope_for(actor)
    roles = _writer_roles(form)
    scope.require(participant.site_id, roles=roles, action=f"save the {form.code} form")
    if form.outcome:  # an assessor enters outcomes of the participants assigned to them
        access_participant(scope, participant.study_id, roles=roles)
    if form.arm_revealing and scope.is_masked_at(participant.site_id):
        raise AccessDenied(Reason.MASKED)


def _changed_since(instance: FormInstance, version: int) -> list[str]:
    """Items whose values differ between version ``version`` and now (from the row history)."""
    old = instance.history.filter(version=version).order_by("-history_id").first()
    before: Mapping[str, Any] = old.values if old is not None else {}
    keys = set(before) | set(instance.values)
    return sorted(k for k in keys if before.get(k) != instance.values.get(k))


def _instance(
    participant: Participant, visit: Visit, form: FormDef, number: int | None
) -> FormInstance | None:
    qs = FormInstance.unscoped.select_for_update(no_key=True).filter(visit=visit, form=form.code)
    if number is not None:
        found = qs.filter(number=number).first()
        if found is None:
            raise BadInput("instance", f"no instance {number} of {form.code} at {visit.code}")
        return found
    if form.repeating and visit.code == "unscheduled":
        return None  # a new instance each time
    return qs.first()


def _seal(form: FormDef, now: datetime) -> None:
    FormVersionSeal.unscoped.get_or_create(
        form=form.code, version=form.version,
        defaults={"fingerprint": form.fingerprint(), "first_used_at": now},
    )  # fmt: skip


def _age_years(participant: Participant) -> int | None:
    age = participant.screening.age_years
    return int(age) if age is not None else None


def _sync_queries(instance: FormInstance, participant: Participant, actor: User) -> list[DataQuery]:
    """Open a query for each failing rule; close the rule queries that now pass."""
    ctx = rules.RuleContext(
        form=instance.form,
        visit=instance.visit.code,
        values=instance.values,
        se_onset=participant.screening.se_onset,
        enrolled_at=participant.enrolled_at,
        age_years=_age_years(participant),
        visit_window=(instance.visit.earliest, instance.visit.latest),
        death_recorded=FormInstance.unscoped.filter(participant=participant, form="death")
        .exclude(status=FormStatus.IN_PROGRESS).exists(),
        enrolled_on=local_date(participant.enrolled_at, participant.zone),
        item_codes=frozenset(catalog.form(instance.form, instance.form_version).item_map),
    )  # fmt: skip
    failing = rules.findings(ctx)
    now = timezone.now()
    open_rule_queries = {
        (q.rule, q.item): q
        for q in DataQuery.unscoped.select_for_update(no_key=True).filter(
            form_instance=instance, origin=QueryOrigin.RULE
        ).exclude(status=QueryStatus.CLOSED)
    }
    for key, query in open_rule_queries.items():
        if key not in failing:  # corrected: the rule closes its own query
            query.status = QueryStatus.CLOSED
            query.closed_at = now
            save_with_history(query, actor=actor, reason="closed by the rule: data corrected",
                              update_fields=["status", "closed_at"])  # fmt: skip
            record_event(actor=actor, action=AuditAction.QUERY_CLOSE, obj=query,
                         changes={"status": [QueryStatus.OPEN, QueryStatus.CLOSED]})  # fmt: skip
    opened = []
    for (code, item), text in failing.items():
        if (code, item) in open_rule_queries:
            continue
        query = DataQuery(form_instance=instance, item=item, rule=code, origin=QueryOrigin.RULE,
                          text=text, opened_at=now)  # fmt: skip
        audited_save(query, actor=actor, action=AuditAction.QUERY_OPEN)
        opened.append(query)
    return list(
        DataQuery.unscoped.filter(form_instance=instance).exclude(status=QueryStatus.CLOSED)
    )


def do_save_form(
    actor: User,
    participant: Participant | str,
    visit_code: str,
    form_code: str,
    data: Mapping[str, Any] | object,
    *,
    instance: int | None = None,
    reason: str = "",
    if_version: int | None = None,
) -> tuple[FormInstance, list[DataQuery]]:
    """Save ``data`` (item code → value) into a form of a visit; see the module docstring."""
    if not isinstance(data, Mapping):
        raise BadInput("file", "expected a JSON object of item codes and values")
    form = form_def(form_code)
    if catalog.visit_kind(visit_code) not in form.visits:
        raise BadInput("visit", f"form {form.code} is not collected at visit {visit_code[:40]}")
    participant = participant_by_study_id(participant)
    attempt = Attempt.on(AuditAction.FORM_SAVE, participant)
    with refusals_audited(actor, attempt), transaction.atomic():
        _check_writer(actor, participant, form)
        participant = Participant.unscoped.select_for_update(of=("self",), no_key=True) \
            .select_related("site", "screening").get(pk=participant.pk)  # fmt: skip
        if participant.status != ParticipantStatus.ACTIVE and form.code != "death":
            raise Refused.state(f"follow-up ended ({participant.status})")
        needed = catalog.CONSENT_FOR.get(form.code)
        if needed and valid_consent(participant.screening, purpose=needed) is None:
            raise Refused(Reason.NO_VALID_CONSENT, f"the optional {needed} consent")
        visit = event_or_day_visit(participant, visit_code, actor)
        if visit.status == VisitStatus.NOT_APPLICABLE:
            raise Refused.state(f"the {visit.code} visit is not applicable")
        current = _instance(participant, visit, form, instance)
        if current is not None and current.status == FormStatus.LOCKED:
            raise Refused(Reason.LOCKED)
        if if_version is not None:
            stored = current.version if current is not None else 0
            if stored != if_version:
                changed = _changed_since(current, if_version) if current is not None else []
                raise Refused(Reason.CONFLICT, f"version {stored}, not {if_version}; changed: "
                              + (", ".join(changed) or "none"))  # fmt: skip
        if current is not None and current.form_version != form.version:
            form = form_def(form.code, current.form_version)  # kept on its own version
        try:
            values = form.validate(data, current.values if current is not None else None)
            check_not_future(form, {k: values.get(k) for k in data if k in values},
                             timezone.now(), CLOCK_SKEW)  # only what this save submits
        except ItemError as exc:
            raise BadInput(exc.item, exc.problem) from None
        before = dict(current.values) if current is not None else {}
        changes = {
            k: [before.get(k), values.get(k)]
            for k in sorted(set(before) | set(values))
            if before.get(k) != values.get(k)
        }
        if current is not None and current.status == FormStatus.COMPLETE and changes:
            reason = require_reason(reason, what="changing a complete form")
        now = timezone.now()
        if current is None:
            number = 1 + max(
                FormInstance.unscoped.filter(visit=visit, form=form.code)
                .values_list("number", flat=True), default=0,
            )  # fmt: skip
            current = FormInstance(participant=participant, visit=visit, form=form.code,
                                   form_version=form.version, number=number, values={},
                                   status=FormStatus.IN_PROGRESS, saved_at=now,
                                   saved_by=actor)  # fmt: skip
        elif not changes:
            return current, list(current.queries.exclude(status=QueryStatus.CLOSED))
        missing = form.missing_required(values)
        current.values = values
        current.status = FormStatus.IN_PROGRESS if missing else FormStatus.COMPLETE
        if current.sdv == SdvStatus.VERIFIED and changes:
            current.sdv = SdvStatus.CHANGED_AFTER_SDV
        current.version += 1
        current.saved_at, current.saved_by = now, actor
        if form.outcome:
            current.assessed_by = actor
            current.assessed_unmasked = Unmasking.unscoped.filter(
                participant=participant, user=actor, occurred_at__lte=now
            ).exists()
        save_with_history(current, actor=actor, reason=reason)
        record_event(actor=actor, action=AuditAction.FORM_SAVE, obj=current, reason=reason,
                     changes={"form": [None, f"{visit.code}/{form.code}#{current.number}"],
                              "version": [current.version - 1, current.version],
                              **{f"item:{k}": v for k, v in changes.items()}})  # fmt: skip
        _seal(form, now)
        queries = _sync_queries(current, participant, actor)
        refresh_status(visit, local_date(now, participant.zone), actor)
        if form.code == "death" and current.status == FormStatus.COMPLETE \
                and participant.status == ParticipantStatus.ACTIVE:  # fmt: skip
            _end_by_death(actor, participant, values)
        signatures.note_invalidated(actor, participant)  # records a signature this change broke
        # safety reacts inside this transaction: dose deviations, SAE clocks, lab alerts
        events.form_saved.send(sender=FormInstance, participant=participant, instance=current,
                               before=before, actor=actor)  # fmt: skip
    return current, queries


def _end_by_death(actor: User, participant: Participant, values: Mapping[str, Any]) -> None:
    """Saving the death form ends follow-up with status died (§14)."""
    from datetime import date, time
    from zoneinfo import ZoneInfo

    from combat_norse.participants.actions import do_end_follow_up

    died_on = date.fromisoformat(values["died_on"])
    at = datetime.combine(died_on, time(12), tzinfo=ZoneInfo(participant.zone))
    do_end_follow_up(actor, participant, status="died", reason="death form saved",
                     at=min(at, timezone.now()))  # fmt: skip


def _transition(
    actor: User,
    participant: Participant | str,
    visit_code: str,
    form_code: str,
    instance: int | None,
    action: AuditAction,
    roles: frozenset[str],
) -> tuple[Participant, FormInstance]:
    participant = participant_by_study_id(participant)
    form = form_def(form_code)
    scope = scope_for(actor)  # one read of the memberships for both checks
    scope.require(participant.site_id, roles=roles,
                  action=action.value.replace("form_", "") + " a form")  # fmt: skip
    if form.arm_revealing and scope.is_masked_at(participant.site_id):
        raise AccessDenied(Reason.MASKED)
    visit = Visit.unscoped.filter(participant=participant, code=visit_code).first()
    qs = FormInstance.unscoped.select_for_update(no_key=True).filter(
        visit=visit, form=form.code, number=instance or 1
    )
    found = qs.first() if visit is not None else None
    if found is None:
        raise Refused.state(f"{form.code} at {visit_code[:40]} was never saved")
    return participant, found


def do_verify_form(actor: User, participant: Participant | str, visit_code: str,
                   form_code: str, *, instance: int | None = None) -> FormInstance:  # fmt: skip
    """Source data verified by a monitor (a complete or locked form only)."""
    p = participant_by_study_id(participant)
    with refusals_audited(actor, Attempt.on(AuditAction.FORM_VERIFY, p)), transaction.atomic():
        p, found = _transition(actor, p, visit_code, form_code, instance,
                               AuditAction.FORM_VERIFY, VERIFY_ROLES)  # fmt: skip
        if found.status not in (FormStatus.COMPLETE, FormStatus.LOCKED):
            raise Refused.state(f"the form is {found.status}: only a complete form is verified")
        if found.sdv != SdvStatus.VERIFIED:
            found.sdv = SdvStatus.VERIFIED
            audited_save(found, actor=actor, action=AuditAction.FORM_VERIFY,
                         update_fields=["sdv"])  # fmt: skip
    return found


def do_lock_form(actor: User, participant: Participant | str, visit_code: str, form_code: str,
                 *, instance: int | None = None) -> FormInstance:  # fmt: skip
    """Lock a complete form (data manager), whatever its SDV state."""
    p = participant_by_study_id(participant)
    with refusals_audited(actor, Attempt.on(AuditAction.FORM_LOCK, p)), transaction.atomic():
        p, found = _transition(actor, p, visit_code, form_code, instance,
                               AuditAction.FORM_LOCK, LOCK_ROLES)  # fmt: skip
        if found.status == FormStatus.LOCKED:
            return found
        if found.status != FormStatus.COMPLETE:
            raise Refused.state(f"the form is {found.status}: only a complete form is locked")
        found.status = FormStatus.LOCKED
        audited_save(found, actor=actor, action=AuditAction.FORM_LOCK, update_fields=["status"])
    return found


def do_unlock_form(actor: User, participant: Participant | str, visit_code: str,
                   form_code: str, *, reason: str,
                   instance: int | None = None) -> FormInstance:  # fmt: skip
    """Unlock a locked form back to complete (data manager; reason required)."""
    p = participant_by_study_id(participant)
    with refusals_audited(actor, Attempt.on(AuditAction.FORM_UNLOCK, p)), transaction.atomic():
        p, found = _transition(actor, p, visit_code, form_code, instance,
                               AuditAction.FORM_UNLOCK, LOCK_ROLES)  # fmt: skip
        reason = require_reason(reason, what="unlocking a form")
        if found.status != FormStatus.LOCKED:
            raise Refused.state(f"the form is {found.status}, not locked")
        found.status = FormStatus.COMPLETE
        audited_save(found, actor=actor, action=AuditAction.FORM_UNLOCK, reason=reason,
                     update_fields=["status"])  # fmt: skip
    return found
