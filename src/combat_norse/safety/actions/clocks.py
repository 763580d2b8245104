"""SAE reporting clocks (§10, §14 Clocks).

* Saving an ``adverse_event`` form that is serious opens the coordinating-centre clock, due 24
  elapsed hours after ``awareness_at``; a SUSAR (serious, related, unexpected, not expected in
  the disease) also opens the regulator clock of the site's country, due 7 (fatal or
  life-threatening) or 15 calendar days after awareness at the same local time in the site's
  zone (the per-country table: ``ProtocolParameters.regulator_days``). Saving the form is not a
  report. A correction moves an open clock's due time, and an event no longer serious (or no
  longer a SUSAR) withdraws its clock (kept, never deleted).
* :func:`do_report_safety` records that a report was sent: by the due time the clock is
  ``met``, after it ``met_late``.
* :func:`run_safety_clocks` (the periodic task, idempotent) sends the one alert of each clock
  (6 hours before the 24-hour clock lapses, 2 days before a regulator clock lapses) and records
  each lapse once. "Once" holds with two workers at once: a clock is claimed by a conditional
  UPDATE (``alert_sent_at IS NULL``), which one transaction wins.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from combat_norse.audit.api import SYSTEM, Actor, audited_save, record_event
from combat_norse.audit.vocabulary import AuditAction
from combat_norse.core.conf import trial_settings
from combat_norse.core.errors import BadInput, NotFound, Refused, shown
from combat_norse.core.refusals import Attempt, refusals_audited
from combat_norse.crf.metadata import stored_datetime
from combat_norse.crf.models import FormInstance, adverse_event_id
from combat_norse.participants.actions.common import CLOCK_SKEW
from combat_norse.participants.lookups import participant_by_study_id
from combat_norse.participants.models import Participant
from combat_norse.protocol import RecordError, parse_aware_datetime
from combat_norse.protocol.parameters import DEFAULT
from combat_norse.protocol.safety import (
    coordinating_centre_due,
    fatal_or_life_threatening,
    is_susar,
    local_same_time,
    regulator_deadline_days,
)
from combat_norse.safety.actions.common import REPORT_ROLES
from combat_norse.safety.models import ClockKind, SafetyClock
from combat_norse.sites.access import scope_for
from combat_norse.sites.roles import Role

AE_ID = re.compile(r"^(?P<study_id>[A-Z0-9]{2,8}-\d{1,6})-AE(?P<number>\d{1,6})$")


ae_id = adverse_event_id


def parse_ae_id(raw: object) -> tuple[str, int]:
    """(study id, instance number) of an AE id; BadInput naming ``ae_id`` otherwise."""
    m = AE_ID.match(raw.strip().upper()) if isinstance(raw, str) else None
    if m is None:
        raise BadInput("ae_id", f"expected an AE id like YNH-001-AE1, got {shown(raw)}")
    return m["study_id"], int(m["number"])


def adverse_event_of(participant: Participant, number: int, raw: str) -> FormInstance:
    """The participant's adverse event ``number`` (unchecked: the caller checked scope)."""
    found = FormInstance.unscoped.select_related("participant__site", "participant__screening") \
        .filter(participant=participant, visit__code="unscheduled", form="adverse_event",
                number=number).first()  # fmt: skip
    if found is None:
        raise NotFound("ae_id", f"adverse event {shown(raw)}")
    return found


def _wanted(ae: FormInstance, participant: Participant) -> dict[str, tuple[datetime, str]]:
    """Clock kind → (due, country) that the event's current values call for."""
    v = ae.values
    awareness = stored_datetime(v.get("awareness_at"))
    if v.get("serious") is not True or awareness is None:
        return {}
    country = participant.site.country_code.upper()
    out = {ClockKind.COORDINATING_CENTRE.value: (coordinating_centre_due(awareness), country)}
    term = v.get("term") if isinstance(v.get("term"), str) else ""
    if is_susar(serious=True, related_to_study_drug=v.get("related_to_study_drug"),
                expected=v.get("expected"), term=term,
                in_disease=v.get("expected_in_disease")):  # fmt: skip
        fatal = fatal_or_life_threatening(v.get("seriousness") or [], v.get("outcome"),
                                          v.get("grade"))  # fmt: skip
        days = regulator_deadline_days(country, fatal, table=regulator_table())
        if days is not None:  # a country with no entry: named by the system check E401
            due = local_same_time(awareness, participant.zone, days)
            out[ClockKind.REGULATOR.value] = (due, country)
    return out


def regulator_table() -> list[tuple[str, int, int]]:
    """The protocol's per-country table with ``COMBAT_NORSE_REGULATOR_DAYS`` over it."""
    table = {code: (fatal, other) for code, fatal, other in DEFAULT.regulator_days}
    table.update(trial_settings().regulator_days)
    return [(code, fatal, other) for code, (fatal, other) in sorted(table.items())]


def sync_clocks(participant: Participant, ae: FormInstance, actor: Actor,
                now: datetime | None = None) -> list[SafetyClock]:  # fmt: skip
    """Open, move or withdraw the clocks of one adverse event after its form was saved."""
    now = now or timezone.now()
    wanted = _wanted(ae, participant)
    existing = {c.kind: c for c in SafetyClock.unscoped.filter(adverse_event=ae)}
    out = []
    for kind, (due, country) in wanted.items():
        clock = existing.get(kind)
        if clock is None:
            clock = SafetyClock(adverse_event=ae, participant=participant, kind=kind,
                                country=country, due=due, opened_at=now)  # fmt: skip
            audited_save(clock, actor=actor, action=AuditAction.SAFETY_CLOCK,
                         extra_changes={"ae_id": [None, ae_id(ae)]})  # fmt: skip
        elif clock.reported_at is None and (clock.due != due or clock.withdrawn_at is not None):
            clock.due, clock.country, clock.withdrawn_at = due, country, None
            if clock.alert_sent_at is not None and now < _alert_at(clock):
                clock.alert_sent_at = None  # moved later: the alert is owed again
            audited_save(clock, actor=actor, action=AuditAction.SAFETY_CLOCK,
                         reason="the adverse event was corrected",
                         update_fields=["due", "country", "withdrawn_at", "alert_sent_at"])
        out.append(clock)
    for kind, clock in existing.items():
        if kind not in wanted and clock.withdrawn_at is None and clock.reported_at is None:
            clock.withdrawn_at = now
            audited_save(clock, actor=actor, action=AuditAction.SAFETY_CLOCK,
                         reason="no longer serious" if kind == ClockKind.COORDINATING_CENTRE
                         else "no longer a SUSAR", update_fields=["withdrawn_at"])  # fmt: skip
    return out


def do_report_safety(actor: User, raw_ae_id: str, *, to: str, at: datetime | str) -> SafetyClock:
    """Record that the report of an adverse event was sent (``to``: coordinating_centre or
    regulator) at ``at``, which meets its clock (``met_late`` after the due time)."""
    kinds = {"coordinating_centre": ClockKind.COORDINATING_CENTRE, "regulator": ClockKind.REGULATOR}
    if to not in kinds:
        raise BadInput("to", "coordinating_centre or regulator")
    kind = kinds[to]
    study_id, number = parse_ae_id(raw_ae_id)
    participant = participant_by_study_id(study_id)
    attempt = Attempt.on(AuditAction.SAFETY_REPORT, participant)
    with refusals_audited(actor, attempt), transaction.atomic():
        # the site and role first: another site learns nothing of the participant's events
        scope_for(actor).require(participant.site_id, roles=REPORT_ROLES[kind],
                                 action=f"record a report to the {to.replace('_', ' ')}")
        ae = adverse_event_of(participant, number, raw_ae_id)
        sent_at = _moment("at", at)
        now = timezone.now()
        if sent_at > now + CLOCK_SKEW:
            raise BadInput("at", "in the future")
        clock = SafetyClock.unscoped.select_for_update().filter(adverse_event=ae, kind=kind).first()
        if clock is None or clock.withdrawn_at is not None:
            raise Refused.state(f"no {kind} clock is open for {ae_id(ae)}")
        if clock.reported_at is not None:
            raise Refused.state(f"already reported at {clock.reported_at.isoformat()}")
        awareness = stored_datetime(ae.values.get("awareness_at"))
        if awareness is not None and sent_at < awareness:
            raise BadInput("at", "before the site became aware of the event")
        clock.reported_at, clock.reported_by, clock.report_recorded_at = sent_at, actor, now
        audited_save(clock, actor=actor, action=AuditAction.SAFETY_REPORT,
                     extra_changes={"ae_id": [None, ae_id(ae)]},
                     update_fields=["reported_at", "reported_by", "report_recorded_at"])
    return clock


def _moment(field: str, raw: datetime | str) -> datetime:
    if not isinstance(raw, datetime):
        try:
            return parse_aware_datetime(field, raw.strip() if isinstance(raw, str) else raw)
        except RecordError as exc:
            raise BadInput(exc.field, exc.problem) from None
    if raw.tzinfo is None:
        raise BadInput(field, "must carry a UTC offset")
    return raw


# ------------------------------------------------------------------------ the periodic task
def _alert_at(clock: SafetyClock) -> datetime:
    if clock.kind == ClockKind.COORDINATING_CENTRE:
        return clock.due - timedelta(hours=DEFAULT.sae_alert_hours_before)
    return clock.due - timedelta(days=DEFAULT.regulator_alert_days_before)


def run_safety_clocks(now: datetime | None = None) -> dict[str, int]:
    """Send each clock's one alert when its time has come, and record each lapse once.
    Idempotent; two runs at once send nothing twice (see the module docstring)."""
    from combat_norse.safety.tasks import send_clock_alert

    now = now or timezone.now()
    sent = lapsed = 0
    pending = SafetyClock.unscoped.filter(reported_at__isnull=True, withdrawn_at__isnull=True)
    for clock in pending.filter(alert_sent_at__isnull=True).order_by("due", "id"):
        if now < _alert_at(clock):
            continue
        with transaction.atomic():
            claimed = SafetyClock.unscoped.filter(
                pk=clock.pk, alert_sent_at__isnull=True, reported_at__isnull=True,
                withdrawn_at__isnull=True,
            ).update(alert_sent_at=now)  # fmt: skip
            if claimed != 1:
                continue  # another worker sent it, or it was reported meanwhile
            clock.alert_sent_at = now
            record_event(actor=SYSTEM, action=AuditAction.SAFETY_CLOCK_ALERT, obj=clock,
                         changes={"alert_sent_at": [None, now.isoformat()],
                                  "due": [None, clock.due.isoformat()]})  # fmt: skip
            send_clock_alert.enqueue(clock.pk)  # queued in this transaction
            sent += 1
    for clock in pending.filter(lapse_recorded_at__isnull=True, due__lt=now):
        with transaction.atomic():
            if SafetyClock.unscoped.filter(pk=clock.pk, lapse_recorded_at__isnull=True,
                                           reported_at__isnull=True) \
                    .update(lapse_recorded_at=now) != 1:  # fmt: skip
                continue
            record_event(actor=SYSTEM, action=AuditAction.SAFETY_CLOCK_LAPSED, obj=clock,
                         changes={"due": [None, clock.due.isoformat()]})  # fmt: skip
            lapsed += 1
    return {"clock_alerts_sent": sent, "clocks_lapsed": lapsed}


def mail_clock_alert(clock_id: int) -> None:
    """E-mail the site's team and the coordinating centre that a clock is about to lapse. The
    message names the AE id and the due time only: no term, narrative or drug (§11)."""
    from django.conf import settings
    from django.core.mail import send_mail

    from combat_norse.safety.actions.common import CLOCK_READ_ROLES
    from combat_norse.safety.actions.recipients import site_team_emails

    clock = SafetyClock.unscoped.select_related("adverse_event__participant__site",
                                                "adverse_event__participant__screening") \
        .get(pk=clock_id)  # fmt: skip
    participant = clock.adverse_event.participant
    zone = participant.zone
    local_due = clock.due.astimezone(ZoneInfo(zone))
    recipients = site_team_emails(participant, CLOCK_READ_ROLES - {Role.DATA_MANAGER, Role.MONITOR})
    cc = [settings.COORDINATING_CENTRE_EMAIL] if settings.COORDINATING_CENTRE_EMAIL else []
    if not recipients and not cc:
        return
    what = "coordinating centre (24 h)" if clock.kind == ClockKind.COORDINATING_CENTRE \
        else f"regulator ({clock.country})"  # fmt: skip
    send_mail(
        subject=f"[COMBAT-NORSE] SAE report due: {ae_id(clock.adverse_event)}",
        message=(f"The report of adverse event {ae_id(clock.adverse_event)} to the {what} "
                 + ("was due by" if clock.due < timezone.now() else "is due by")
                 + f" {local_due.isoformat()} ({zone}). Record it with `combat-norse "
                 f"safety report {ae_id(clock.adverse_event)} --to ...` once sent."),
        from_email=None, recipient_list=sorted(set(recipients + cc)),
    )  # fmt: skip
