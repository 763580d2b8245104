"""Dose plans, dose deviations, SAE clocks and lab alerts (§7, §10, §14).

Doses themselves are ``dose`` form instances (data capture); adverse events are
``adverse_event`` form instances. The rows here are what the system derives from them: they are
recomputed on every save of their source form and never edited by hand, except a clock's report.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from combat_norse.audit.history import trial_history
from combat_norse.core.masking import ArmRevealing
from combat_norse.crf.models import FormInstance
from combat_norse.participants.models import Participant


class PlanBasis(models.TextChoices):
    RANDOMIZATION = "randomization"
    WEIGHT_CHANGE = "weight_change"
    FIRST_DOSE = "first_dose"  # observational cohort: the drug of the first dose recorded


class DosePlan(models.Model):
    """The suggested regimen (§7) for a participant's drug at a weight; a new plan supersedes
    the old one on a weight change. Arm-revealing as a whole (§14)."""

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT,
                                    related_name="dose_plans")  # fmt: skip
    drug = models.CharField(max_length=16)
    weight_kg = models.DecimalField(max_digits=6, decimal_places=2)
    basis = models.CharField(max_length=16, choices=PlanBasis.choices)
    suggestion = models.JSONField()  # the §7 object with per-dose and per-day figures and units
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                   blank=True, related_name="+")  # fmt: skip
    reason = models.TextField(blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)

    history = trial_history()
    arm_revealing = ArmRevealing(record=True)
    unscoped = models.Manager()

    class Meta:
        ordering = ["participant_id", "created_at", "id"]

    def __str__(self) -> str:
        return f"dose plan {self.pk} of {self.participant_id}"

    def audit_scope(self) -> tuple[str, str]:
        return self.participant.site.code, self.participant.study_id


class DeviationKind(models.TextChoices):
    DOSE_OFF_PLAN = "dose_off_plan"  # > 10 % from the suggested dose
    LATE_FIRST_DOSE = "late_first_dose"  # first dose > 24 h after randomization
    WRONG_DRUG = "wrong_drug"  # randomized cohort: not the allocated drug


class DoseDeviation(models.Model):
    """A protocol deviation found in a dose record: flagged and listed, never blocking."""

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="+")
    # null: flagged before any dose was recorded (no dose 24 h after randomization)
    dose = models.ForeignKey(FormInstance, on_delete=models.PROTECT, null=True, blank=True,
                             related_name="+")  # fmt: skip
    kind = models.CharField(max_length=20, choices=DeviationKind.choices)
    detail = models.TextField()
    detected_at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)  # the dose record was corrected

    history = trial_history()
    arm_revealing = ArmRevealing(record=True)
    unscoped = models.Manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dose", "kind"], name="one_deviation_per_dose_kind")
        ]
        ordering = ["detected_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} on {self.dose}"

    def audit_scope(self) -> tuple[str, str]:
        return self.participant.site.code, self.participant.study_id


class ClockKind(models.TextChoices):
    COORDINATING_CENTRE = "coordinating_centre_24h"
    REGULATOR = "regulator"


class SafetyClock(models.Model):
    """A reporting deadline of one serious adverse event (§14 clocks). Its status is derived
    from ``due`` and ``reported_at`` (``open``, ``met``, ``met_late``, ``lapsed``); a clock whose
    event is no longer serious (or no longer a SUSAR) is ``withdrawn`` and kept."""

    adverse_event = models.ForeignKey(FormInstance, on_delete=models.PROTECT, related_name="+")
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=24, choices=ClockKind.choices)
    country = models.CharField(max_length=2)
    due = models.DateTimeField()
    opened_at = models.DateTimeField()
    reported_at = models.DateTimeField(null=True, blank=True)  # when the report was sent
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+")  # fmt: skip
    report_recorded_at = models.DateTimeField(null=True, blank=True)
    alert_sent_at = models.DateTimeField(null=True, blank=True)  # the one alert before it lapses
    lapse_recorded_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    history = trial_history()
    arm_revealing = ArmRevealing()  # ids and deadlines only: no term, narrative or drug
    unscoped = models.Manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["adverse_event", "kind"], name="one_clock_per_ae_kind")
        ]
        ordering = ["due", "id"]

    def __str__(self) -> str:
        return f"{self.kind} clock of {self.adverse_event}"

    def audit_scope(self) -> tuple[str, str]:
        return self.participant.site.code, self.participant.study_id


class LabAlertKind(models.TextChoices):
    TOCILIZUMAB_HOLD = "tocilizumab_hold"
    TOCILIZUMAB_DISCONTINUE = "tocilizumab_discontinue"
    DRESS_WATCH = "dress_watch"


class LabAlert(models.Model):
    """An alert to the treating team from entered labs (§10): never an automatic stop.
    Arm-revealing (drug-specific thresholds): never shown or sent to a masked role."""

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="+")
    source = models.ForeignKey(FormInstance, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=24, choices=LabAlertKind.choices)
    item = models.CharField(max_length=40)
    key = models.CharField(max_length=80)  # what makes it one alert (the lab, or DRESS signs)
    value = models.JSONField(null=True)
    rule = models.TextField()
    raised_at = models.DateTimeField()
    notified_at = models.DateTimeField(null=True, blank=True)
    cleared_at = models.DateTimeField(null=True, blank=True)  # the labs were corrected

    history = trial_history()
    arm_revealing = ArmRevealing(record=True)
    unscoped = models.Manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["participant", "kind", "item", "key"],
                                    name="one_lab_alert_per_finding")
        ]
        ordering = ["raised_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.item} of {self.participant_id}"

    def audit_scope(self) -> tuple[str, str]:
        return self.participant.site.code, self.participant.study_id
