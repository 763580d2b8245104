"""Participant data: the screening log, consent, enrollment, end of follow-up, assessor
assignments and unmasking records (outcome entries are data capture's outcome forms).

Every model here is trial data: it declares ``arm_revealing`` (core.masking) and has no
``objects`` manager; reads go through ``participants.access`` and writes through
``participants.actions`` (``do_*``), which audit in the same transaction.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from combat_norse.audit.history import trial_history
from combat_norse.core.masking import NOT_ARM_REVEALING, ArmRevealing
from combat_norse.sites.models import Site


class Decision(models.TextChoices):
    NOT_ELIGIBLE = "not_eligible"
    INCOMPLETE = "incomplete"
    OBSERVATIONAL = "observational_cohort"
    RANDOMIZED = "randomized_cohort"


class Cohort(models.TextChoices):
    RANDOMIZED = "randomized_cohort", "Randomized cohort"
    OBSERVATIONAL = "observational_cohort", "Observational cohort"


class SiteCounter(models.Model):
    """Per-site sequence (screening numbers, study numbers), advanced under a row lock."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT)
    kind = models.CharField(max_length=16)
    last = models.PositiveIntegerField(default=0)

    arm_revealing = NOT_ARM_REVEALING
    unscoped = models.Manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "kind"], name="sitecounter_unique")]

    def __str__(self) -> str:
        return f"{self.kind} counter of site {self.site_id}: {self.last}"


class ScreeningEntry(models.Model):
    """One patient screened at a site (the CONSORT screening log), with the latest decision."""

    screening_id = models.CharField(max_length=16, unique=True)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="screenings")
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    record = models.JSONField(help_text="the latest screening record (PROTOCOL.md §3)")
    se_onset = models.DateTimeField(null=True, blank=True)
    evaluated_at = models.DateTimeField()
    decision = models.CharField(max_length=24, choices=Decision.choices)
    failed = models.JSONField(default=list)
    unknown = models.JSONField(default=list)
    missing = models.JSONField(default=list)
    study_day = models.IntegerField(null=True, blank=True)
    elapsed_hours = models.FloatField(null=True, blank=True)
    age_years = models.IntegerField(null=True, blank=True)
    fires = models.BooleanField(null=True, blank=True)
    age_group = models.CharField(max_length=16, blank=True)
    onset_window = models.CharField(max_length=16, blank=True)
    rules_version = models.CharField(max_length=16)
    reason_not_enrolled = models.TextField(blank=True)

    history = trial_history()
    arm_revealing = ArmRevealing(text_fields={"reason_not_enrolled"})  # free text may name a drug
    unscoped = models.Manager()

    class Meta:
        ordering = ["site__code", "screening_id"]
        verbose_name_plural = "screening entries"

    def __str__(self) -> str:
        return self.screening_id

    def audit_scope(self) -> tuple[str, str]:
        return self.site.code, self.screening_id

    def result_json(self) -> dict[str, object]:
        """The §5 object of the latest decision."""
        strata = (
            {"age_group": self.age_group, "onset_window": self.onset_window}
            if self.age_group
            else None
        )
        return {
            "decision": self.decision,
            "failed": list(self.failed),
            "unknown": list(self.unknown),
            "missing": list(self.missing),
            "study_day": self.study_day,
            "age_years": self.age_years,
            "fires": self.fires,
            "strata": strata,
        }


class ScreeningDecision(models.Model):
    """Every evaluation of a screening entry, never changed: record, result, rule version."""

    screening = models.ForeignKey(
        ScreeningEntry, on_delete=models.PROTECT, related_name="decisions"
    )
    decided_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    purpose = models.CharField(max_length=16, default="screening")
    evaluated_at = models.DateTimeField()
    rules_version = models.CharField(max_length=16)
    record = models.JSONField()
    result = models.JSONField()

    arm_revealing = NOT_ARM_REVEALING
    history = trial_history()  # row history with the actor (who changed it, why)
    unscoped = models.Manager()

    class Meta:
        ordering = ["screening_id", "decided_at", "id"]

    def __str__(self) -> str:
        return f"{self.screening_id} decision {self.pk} ({self.purpose})"

    def audit_scope(self) -> tuple[str, str]:
        return self.screening.site.code, self.screening.screening_id


class Signer(models.TextChoices):
    PATIENT = "patient", "Patient"
    LAR = "lar", "Legally authorized representative"


class OptionalConsent(models.TextChoices):
    ANNUAL_FOLLOWUP = "annual_followup", "Annual follow-up beyond one year"
    INTERVIEW = "interview", "60-minute interview"
    BIOSAMPLES = "biosamples", "Biosamples (serum/CSF)"


class Consent(models.Model):
    """A signed consent (initial, or re-consent when a patient regains capacity)."""

    screening = models.ForeignKey(ScreeningEntry, on_delete=models.PROTECT, related_name="consents")
    signer = models.CharField(max_length=8, choices=Signer.choices)
    form_version = models.CharField(max_length=32)
    signed_at = models.DateTimeField()
    obtained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    is_reconsent = models.BooleanField(default=False)
    optional = models.JSONField(default=list, help_text="optional consents given")
    recorded_at = models.DateTimeField()

    history = trial_history()
    arm_revealing = NOT_ARM_REVEALING
    unscoped = models.Manager()

    class Meta:
        ordering = ["screening_id", "signed_at", "id"]

    def __str__(self) -> str:
        return f"consent {self.pk} ({self.signer}, form {self.form_version})"

    def audit_scope(self) -> tuple[str, str]:
        return self.screening.site.code, self.screening.screening_id


class ParticipantStatus(models.TextChoices):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"
    LOST_TO_FOLLOW_UP = "lost_to_follow_up"
    DIED = "died"


class Participant(models.Model):
    """An enrolled participant. ``study_id`` = site code + "-" + 3-digit site sequence."""

    study_id = models.CharField(max_length=16, unique=True)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="participants")
    screening = models.OneToOneField(
        ScreeningEntry, on_delete=models.PROTECT, related_name="participant"
    )
    cohort = models.CharField(max_length=24, choices=Cohort.choices)
    cohort_reason = models.TextField(blank=True)
    enrolled_at = models.DateTimeField()
    enrolled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        max_length=20, choices=ParticipantStatus.choices, default=ParticipantStatus.ACTIVE
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.TextField(blank=True)

    history = trial_history()
    arm_revealing = ArmRevealing(
        text_fields={"cohort_reason", "end_reason"}
    )  # free text may name a drug
    unscoped = models.Manager()

    class Meta:
        ordering = ["study_id"]

    def __str__(self) -> str:
        return self.study_id

    def audit_scope(self) -> tuple[str, str]:
        return self.site.code, self.study_id

    @property
    def zone(self) -> str:
        """The IANA zone the participant's dates and clocks are read in: the screening record's
        ``site_timezone``, else the site's."""
        return str(self.screening.record.get("site_timezone") or self.site.timezone)

    @property
    def is_randomized(self) -> bool:
        """Whether an allocation exists (through the reverse relation, so this app imports
        nothing from the allocation app; the arm itself is read through access_allocation)."""
        from django.core.exceptions import ObjectDoesNotExist

        try:
            return getattr(self, "allocation", None) is not None
        except ObjectDoesNotExist:
            return False


class WithdrawalScope(models.TextChoices):
    STOP_TREATMENT = "stop_treatment", "Stop study treatment, keep follow-up"
    STOP_FOLLOW_UP = "stop_follow_up", "Stop follow-up, keep data collected so far"
    STOP_ALL_DATA = "stop_all_data", "Stop all further data collection"


class Withdrawal(models.Model):
    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="withdrawals"
    )
    scope = models.CharField(max_length=16, choices=WithdrawalScope.choices)
    effective_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField()

    history = trial_history()
    arm_revealing = ArmRevealing(text_fields={"reason"})  # free text may name a drug
    unscoped = models.Manager()

    def __str__(self) -> str:
        return f"withdrawal {self.pk} ({self.scope})"

    def audit_scope(self) -> tuple[str, str]:
        return self.participant.site.code, self.participant.study_id


class AssessorAssignment(models.Model):
    """An outcome assessor sees only the participants assigned to them (§11)."""

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="assessor_assignments"
    )
    assessor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assessor_assignments"
    )
    assigned_at = models.DateTimeField()
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    active = models.BooleanField(default=True)

    arm_revealing = NOT_ARM_REVEALING
    history = trial_history()  # row history with the actor (who changed it, why)
    unscoped = models.Manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "assessor"], name="assessor_assignment_unique"
            )
        ]

    def __str__(self) -> str:
        return f"assessor {self.assessor_id} for participant {self.participant_id}"

    def audit_scope(self) -> tuple[str, str]:
        return self.participant.site.code, self.participant.study_id


class UnmaskingKind(models.TextChoices):
    INCIDENTAL = "incidental", "Assessor learned the arm (told, saw a chart)"
    DELIBERATE = "deliberate", "Deliberate unmasking (safety need)"


class Unmasking(models.Model):
    """A masked user learned a participant's arm. Later outcome entries by that user for that
    participant are flagged ``assessed_unmasked``. The record itself names no arm."""

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="unmaskings"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="unmaskings"
    )
    kind = models.CharField(max_length=12, choices=UnmaskingKind.choices)
    occurred_at = models.DateTimeField(help_text="when the user learned (or was told) the arm")
    how = models.TextField(help_text="how the arm became known / why it was revealed")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField()
    notified_at = models.DateTimeField(null=True, blank=True)

    arm_revealing = ArmRevealing(text_fields={"how"})  # free text may name a drug
    history = trial_history()  # row history with the actor (who changed it, why)
    unscoped = models.Manager()

    class Meta:
        ordering = ["recorded_at", "id"]

    def __str__(self) -> str:
        return f"unmasking {self.pk} ({self.kind})"

    def audit_scope(self) -> tuple[str, str]:
        return self.participant.site.code, self.participant.study_id
