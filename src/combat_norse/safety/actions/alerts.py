"""Lab alerts from entered labs (§10 with the §14 safety rules).

* Tocilizumab: a participant is on tocilizumab when allocated to it or when any tocilizumab
  dose is recorded; each labs instance is checked against the §10 hold/discontinue thresholds.
* DRESS watch (either study drug: randomized, or any study dose recorded): eosinophils
  >= 1500/mm3, a rash recorded as an adverse event (a term containing "rash") and ALT or AST
  > 2 x ULN, the three within 14 days of each other.
* An alert is raised once per finding (a unique key per lab instance, or per DRESS triple), kept
  when the labs are corrected (``cleared_at``), and e-mailed once to the site's treating team
  (never a masked role: the thresholds are drug-specific, so an alert reveals the arm).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from combat_norse.audit.api import SYSTEM, Actor, audited_save, record_event
from combat_norse.audit.vocabulary import AuditAction
from combat_norse.crf.metadata import stored_datetime
from combat_norse.crf.models import FormInstance
from combat_norse.participants.models import Cohort, Participant
from combat_norse.protocol.safety import (
    AlertAction,
    DressSigns,
    dress_matches,
    eosinophilia,
    is_rash,
    tocilizumab_alerts,
    transaminase_rise,
)
from combat_norse.safety.actions.common import (
    ALERT_RECIPIENT_ROLES,
    allocated_arm,
    given_doses,
)
from combat_norse.safety.models import LabAlert, LabAlertKind


def on_tocilizumab(participant: Participant, arm: str | None, doses: list[FormInstance]) -> bool:
    """Allocated to tocilizumab, or any tocilizumab dose recorded (§14 safety rules)."""
    return arm == "tocilizumab" or any(d.values.get("drug") == "tocilizumab" for d in doses)


def on_study_drug(participant: Participant, arm: str | None, doses: list[FormInstance]) -> bool:
    """Randomized to a study drug, or any study dose given (the DRESS watch applies)."""
    return (participant.cohort == Cohort.RANDOMIZED and arm is not None) \
        or bool(given_doses(participant, doses))  # fmt: skip


def _labs(participant: Participant) -> list[FormInstance]:
    return list(FormInstance.unscoped.filter(participant=participant, form="labs")
                .order_by("id"))  # fmt: skip


def _wanted(participant: Participant) -> dict[tuple[str, str, str], tuple[FormInstance, Any, str]]:
    """(kind, item, key) → (source labs instance, value, rule text) for every finding now."""
    out: dict[tuple[str, str, str], tuple[FormInstance, Any, str]] = {}
    labs = _labs(participant)
    arm = allocated_arm(participant)
    doses = list(FormInstance.unscoped.filter(participant=participant, form="dose"))
    if on_tocilizumab(participant, arm, doses):
        for lab in labs:
            v = lab.values
            for alert in tocilizumab_alerts(
                anc=v.get("anc_per_mm3"), platelets=v.get("platelets_per_mm3"),
                alt=v.get("alt_u_l"), alt_uln=v.get("alt_uln_u_l"),
                ast=v.get("ast_u_l"), ast_uln=v.get("ast_uln_u_l"),
            ):  # fmt: skip
                kind = LabAlertKind.TOCILIZUMAB_DISCONTINUE \
                    if alert.action is AlertAction.DISCONTINUE else LabAlertKind.TOCILIZUMAB_HOLD
                item = {"anc": "anc_per_mm3", "platelets": "platelets_per_mm3",
                        "alt": "alt_u_l", "ast": "ast_u_l"}[alert.lab]  # fmt: skip
                out[(kind, item, f"labs#{lab.pk}")] = (lab, v.get(item), alert.message)
    if labs and on_study_drug(participant, arm, doses):
        by_ref = {f"labs#{lab.pk}": lab for lab in labs}
        eos, rises = [], []
        zone = ZoneInfo(participant.zone)
        for lab in labs:
            at = stored_datetime(lab.values.get("collected_at"))
            if at is None:
                continue
            at = at.astimezone(zone)  # the window counts the site's calendar days
            if eosinophilia(lab.values.get("eosinophils_per_mm3")):
                eos.append((at, f"labs#{lab.pk}"))
            if transaminase_rise(lab.values.get("alt_u_l"), lab.values.get("alt_uln_u_l")) or \
                    transaminase_rise(lab.values.get("ast_u_l"), lab.values.get("ast_uln_u_l")):
                rises.append((at, f"labs#{lab.pk}"))
        rashes = []
        for ae in FormInstance.unscoped.filter(participant=participant, form="adverse_event"):
            onset = ae.values.get("onset_date")
            if is_rash(ae.values.get("term")) and isinstance(onset, str):
                rashes.append((date.fromisoformat(onset), f"ae#{ae.pk}"))
        signs = DressSigns(tuple(eos), tuple(rashes), tuple(rises))
        for eos_ref, rash_ref, rise_ref in dress_matches(signs):
            lab = by_ref[eos_ref]
            rule = ("DRESS watch: eosinophils >= 1500/mm3, a rash (adverse event) and ALT or "
                    "AST > 2 x ULN within 14 days: evaluate for DRESS")  # fmt: skip
            out[(LabAlertKind.DRESS_WATCH, "eosinophils_per_mm3",
                 f"{eos_ref}/{rash_ref}/{rise_ref}")] = (
                lab, lab.values.get("eosinophils_per_mm3"), rule)  # fmt: skip
    return out


def evaluate_alerts(participant: Participant, actor: Actor,
                    now: datetime | None = None) -> list[LabAlert]:  # fmt: skip
    """Raise the alerts the participant's labs call for now, clear those they no longer do."""
    from combat_norse.safety.tasks import send_lab_alert

    now = now or timezone.now()
    wanted = _wanted(participant)
    existing = {
        (a.kind, a.item, a.key): a for a in LabAlert.unscoped.filter(participant=participant)
    }
    raised = []
    for key, (source, value, rule) in wanted.items():
        alert = existing.get(key)
        if alert is None:
            alert = LabAlert(participant=participant, source=source, kind=key[0], item=key[1],
                             key=key[2], value=value, rule=rule, raised_at=now)  # fmt: skip
            audited_save(alert, actor=actor, action=AuditAction.LAB_ALERT)
            send_lab_alert.enqueue(alert.pk)  # queued in this transaction: sent once
            raised.append(alert)
        elif alert.cleared_at is not None or alert.value != value:
            alert.cleared_at, alert.value, alert.rule = None, value, rule
            audited_save(alert, actor=actor, action=AuditAction.LAB_ALERT,
                         update_fields=["cleared_at", "value", "rule"])  # fmt: skip
    for key, alert in existing.items():
        if key not in wanted and alert.cleared_at is None:
            alert.cleared_at = now
            audited_save(alert, actor=actor, action=AuditAction.LAB_ALERT,
                         reason="the labs or events no longer meet the rule",
                         update_fields=["cleared_at"])  # fmt: skip
    return raised


def mail_lab_alert(alert_id: int) -> None:
    """E-mail a lab alert once to the site's treating team (unmasked holders only)."""
    from django.core.mail import send_mail

    from combat_norse.safety.actions.recipients import site_team_emails

    alert = LabAlert.unscoped.select_related("participant__site").get(pk=alert_id)
    recipients = site_team_emails(alert.participant, ALERT_RECIPIENT_ROLES)
    if not recipients or alert.notified_at is not None or alert.cleared_at is not None:
        # nobody with an address yet: left unsent, the periodic task tries again
        return
    with transaction.atomic():
        claimed = LabAlert.unscoped.filter(pk=alert_id, notified_at__isnull=True) \
            .update(notified_at=timezone.now())  # fmt: skip
        if claimed != 1:
            return  # sent already (a retried task, another worker)
        record_event(actor=SYSTEM, action=AuditAction.LAB_ALERT_SENT, obj=alert,
                     changes={"kind": [None, alert.kind], "item": [None, alert.item],
                              "recipients": [None, len(recipients)]})  # fmt: skip
    send_mail(
        subject=f"[COMBAT-NORSE] lab alert for {alert.participant.study_id}",
        message=f"{alert.participant.study_id}: {alert.rule}. Never an automatic stop: "
                "the treating clinician decides.",
        from_email=None, recipient_list=recipients,
    )  # fmt: skip


def send_unsent_lab_alerts() -> int:
    """The periodic task's retry: standing alerts no one could be e-mailed yet (no treating
    team member with an address); each is sent once when someone can be."""
    sent = 0
    for alert_id in LabAlert.unscoped.filter(notified_at__isnull=True, cleared_at__isnull=True) \
            .values_list("pk", flat=True):  # fmt: skip
        mail_lab_alert(alert_id)
        sent += LabAlert.unscoped.filter(pk=alert_id, notified_at__isnull=False).count()
    return sent
