"""Visits (§8, §14): created at enrollment from the schedule, anchored to the SE onset's local
date; annual visits only with the annual follow-up consent; recomputed (with history) when the
onset is corrected; ``not_applicable`` after death or withdrawal of follow-up; ``missed``
declared with a reason; ``due``/``overdue`` moved by an idempotent clock in the site's time
zone (a site's day, not UTC's)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from combat_norse.audit.api import SYSTEM, Actor, audited_save, save_with_history
from combat_norse.audit.vocabulary import AuditAction
from combat_norse.core.errors import BadInput, Refused, require_reason
from combat_norse.core.refusals import Attempt, refusals_audited
from combat_norse.crf.access import DAY_VISIT_PREFIX, check_visit_code, is_event_or_day_code
from combat_norse.crf.models import FormInstance, FormStatus, Visit, VisitStatus
from combat_norse.participants.actions.consent import valid_consent
from combat_norse.participants.lookups import participant_by_study_id
from combat_norse.participants.models import Participant, ParticipantStatus
from combat_norse.protocol import visit_schedule
from combat_norse.sites.access import scope_for
from combat_norse.sites.roles import Role

VISIT_WRITER_ROLES = frozenset({Role.SITE_COORDINATOR, Role.SITE_INVESTIGATOR, Role.DATA_MANAGER})
ANNUAL_YEARS = 5  # annual_2 … annual_5 with the annual follow-up consent (§14)
CLOSED = (VisitStatus.DONE, VisitStatus.MISSED, VisitStatus.NOT_APPLICABLE)


def local_date(moment: datetime, zone: str) -> date:
    return moment.astimezone(ZoneInfo(zone)).date()


def _onset_date(participant: Participant) -> date | None:
    onset = participant.screening.se_onset
    return None if onset is None else local_date(onset, participant.zone)


def create_visits(participant: Participant, actor: Actor) -> list[Visit]:
    """The baseline visit and the windowed visits of a newly enrolled participant (the rows
    and their history; the enrollment's own event covers them)."""
    enrolled_on = local_date(participant.enrolled_at, participant.zone)
    made = [Visit(participant=participant, code="baseline", target=enrolled_on,
                  earliest=enrolled_on, latest=enrolled_on)]  # fmt: skip
    onset = _onset_date(participant)
    if onset is not None:
        years = ANNUAL_YEARS if valid_consent(
            participant.screening, purpose="annual_followup", at=participant.enrolled_at
        ) else 1  # fmt: skip
        for w in visit_schedule(onset, years=years):
            made.append(Visit(participant=participant, code=w.visit, target=w.target,
                              earliest=w.earliest, latest=w.latest))  # fmt: skip
    # one insert for the visits and one for their history rows (with the actor)
    user = actor if isinstance(actor, User) else None
    return list(bulk_create_with_history(made, Visit, default_user=user,
                                         default_change_reason="scheduled at enrollment"))


def recompute_windows(participant: Participant, actor: Actor, reason: str) -> int:
    """After an onset correction: move the windows of visits not yet closed (history kept)."""
    onset = _onset_date(participant)
    if onset is None:
        return 0
    windows = {w.visit: w for w in visit_schedule(onset, years=ANNUAL_YEARS)}
    moved = 0
    for visit in Visit.unscoped.select_for_update(no_key=True).filter(participant=participant):
        w = windows.get(visit.code)
        if w is None or visit.status in CLOSED:
            continue
        if (visit.target, visit.earliest, visit.latest) != (w.target, w.earliest, w.latest):
            visit.target, visit.earliest, visit.latest = w.target, w.earliest, w.latest
            save_with_history(visit, actor=actor, reason=reason,
                              update_fields=["target", "earliest", "latest"])  # fmt: skip
            moved += 1
    return moved


def close_after_end(participant: Participant, actor: Actor, ended_on: date) -> int:
    """Visits after death or withdrawal of follow-up become ``not_applicable``."""
    closed = 0
    for visit in Visit.unscoped.select_for_update(no_key=True).filter(
        participant=participant, earliest__gt=ended_on
    ).exclude(status__in=CLOSED):
        visit.status = VisitStatus.NOT_APPLICABLE
        save_with_history(visit, actor=actor, reason="follow-up ended before the visit",
                          update_fields=["status"])  # fmt: skip
        closed += 1
    return closed


def event_or_day_visit(participant: Participant, code: str, actor: Actor) -> Visit:
    """The visit ``code``: a scheduled one that exists, or an event / daily / unscheduled visit
    created now (when its form is saved); BadInput for a code the protocol does not know."""
    existing = Visit.unscoped.filter(participant=participant, code=check_visit_code(code)).first()
    if existing is not None:
        return existing
    today = local_date(timezone.now(), participant.zone)
    target: date | None = None
    if not is_event_or_day_code(code):
        raise BadInput("visit", f"unknown visit {code[:40]!r}")
    if code.startswith(DAY_VISIT_PREFIX):
        day = code.removeprefix(DAY_VISIT_PREFIX)
        onset = _onset_date(participant)
        if onset is not None:
            from datetime import timedelta

            target = onset + timedelta(days=int(day))
            if target > today:
                raise BadInput("visit", f"{code} is in the future (study day {day})")
    visit = Visit(participant=participant, code=code, target=target, earliest=target,
                  latest=target)  # fmt: skip
    save_with_history(visit, actor=actor, reason="visit opened by a form")
    return visit


def refresh_status(visit: Visit, today: date, actor: Actor = SYSTEM) -> bool:
    """The clock's rule for one visit: done when its required forms are complete (or locked);
    otherwise due inside the window, overdue after it, upcoming before it. Closed visits keep
    their status. Returns whether it changed."""
    if visit.status in (VisitStatus.MISSED, VisitStatus.NOT_APPLICABLE):
        return False
    forms = list(FormInstance.unscoped.filter(visit=visit).values_list("status", flat=True))
    if forms and all(s in (FormStatus.COMPLETE, FormStatus.LOCKED) for s in forms):
        new = VisitStatus.DONE
    elif visit.latest is not None and today > visit.latest:
        new = VisitStatus.OVERDUE
    elif visit.earliest is not None and today >= visit.earliest:
        new = VisitStatus.DUE
    else:
        new = VisitStatus.UPCOMING
    if new == visit.status:
        return False
    visit.status = new
    save_with_history(visit, actor=actor, reason="visit clock", update_fields=["status"])
    return True


def run_visit_clock(now: datetime | None = None) -> int:
    """Move every open visit to its status for the site's local date; idempotent (run it with
    ``combat-norse clocks``, e.g. hourly from cron)."""
    now = now or timezone.now()
    changed = 0
    with transaction.atomic():
        for visit in (
            Visit.unscoped.select_related("participant__site", "participant__screening")
            .exclude(status__in=(VisitStatus.MISSED, VisitStatus.NOT_APPLICABLE))
            .filter(participant__status=ParticipantStatus.ACTIVE)
        ):
            today = local_date(now, visit.participant.zone)
            changed += refresh_status(visit, today)
    return changed


def do_mark_visit_missed(
    actor: User, participant: Participant | str, visit_code: str, *, reason: str
) -> Visit:
    """Declare a visit missed, with a reason (site team or data manager)."""
    participant = participant_by_study_id(participant)
    attempt = Attempt.on(AuditAction.VISIT_MISSED, participant)
    with refusals_audited(actor, attempt), transaction.atomic():
        scope_for(actor).require(participant.site_id, roles=VISIT_WRITER_ROLES,
                                 action="declare a visit missed")  # fmt: skip
        reason = require_reason(reason, what="a missed visit")  # after site and role (§13)
        visit = Visit.unscoped.select_for_update(no_key=True).filter(
            participant=participant, code=check_visit_code(visit_code)
        ).first()
        if visit is None:
            raise BadInput("visit", f"no visit {visit_code[:40]!r} for {participant.study_id}")
        if visit.status in (VisitStatus.DONE, VisitStatus.NOT_APPLICABLE):
            raise Refused.state(f"the visit is {visit.status}")
        visit.status = VisitStatus.MISSED
        visit.missed_reason = reason
        audited_save(visit, actor=actor, action=AuditAction.VISIT_MISSED, reason=reason,
                     update_fields=["status", "missed_reason"])  # fmt: skip
    return visit
