"""Randomization lists, their slots, allocations and list alerts (§6, §11).

Concealment: list rows and the design's parameters reach only the statistician (``access``);
allocations are arm-revealing records that masked roles never receive.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from combat_norse.audit.history import trial_history
from combat_norse.core.masking import ArmRevealing
from combat_norse.participants.models import Participant


class Design(models.TextChoices):
    PERMUTED_BLOCKS = "permuted_blocks", "Stratified permuted blocks"
    MINIMIZATION = "minimization", "Pocock–Simon minimization"


class Environment(models.TextChoices):
    PRODUCTION = "production", "Production"
    TEST = "test", "Test (training and validation only)"


class RandomizationList(models.Model):
    """A generated list (or minimization set-up) with its recorded seed and algorithm."""

    design = models.CharField(max_length=16, choices=Design.choices)
    environment = models.CharField(max_length=12, choices=Environment.choices)
    # decimal digits: production seeds have 128 bits (more than a database integer holds)
    seed = models.CharField(max_length=48)
    algorithm_version = models.CharField(max_length=32)
    parameters = models.JSONField(default=dict)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    active = models.BooleanField(default=True)

    arm_revealing = ArmRevealing(record=True)  # seed and design parameters predict allocations
    unscoped = models.Manager()
    history = trial_history()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["environment"],
                condition=models.Q(active=True),
                name="one_active_list_per_environment",
            ),
        ]

    def __str__(self) -> str:
        return f"list {self.pk} ({self.design}, {self.environment})"

    @property
    def seed_value(self) -> int:
        """The seed as the integer the algorithms take."""
        return int(self.seed)

    def lock_key(self) -> int:
        """Key of the PostgreSQL advisory lock that serializes minimization on this list."""
        return 0x434E_4D49_0000_0000 + int(self.pk)


class ListSlot(models.Model):
    """One row of a permuted-block list; ``participant`` is set when it is used."""

    randomization_list = models.ForeignKey(
        RandomizationList, on_delete=models.PROTECT, related_name="slots"
    )
    stratum = models.CharField(max_length=32)
    sequence = models.PositiveIntegerField()
    block_number = models.PositiveIntegerField()
    block_size = models.PositiveSmallIntegerField()
    position_in_block = models.PositiveSmallIntegerField()
    arm = models.CharField(max_length=16)
    code = models.CharField(max_length=16)
    participant = models.OneToOneField(
        Participant, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    used_at = models.DateTimeField(null=True, blank=True)

    arm_revealing = ArmRevealing(record=True)
    history = trial_history()  # row history with the actor (who changed it, why)
    unscoped = models.Manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["randomization_list", "stratum", "sequence"], name="slot_unique_sequence"
            ),
            models.UniqueConstraint(fields=["randomization_list", "code"], name="slot_unique_code"),
        ]
        indexes = [
            models.Index(
                fields=["randomization_list", "stratum", "participant", "sequence"],
                name="slot_next_free",
            )
        ]

    def __str__(self) -> str:
        return f"slot {self.stratum}#{self.sequence}"


class Allocation(models.Model):
    """A participant's randomized arm. One per participant and per slot, never deleted; an
    allocation made in error is marked (it stays in the intention-to-treat population)."""

    participant = models.OneToOneField(
        Participant, on_delete=models.PROTECT, related_name="allocation"
    )
    randomization_list = models.ForeignKey(
        RandomizationList, on_delete=models.PROTECT, related_name="allocations"
    )
    slot = models.OneToOneField(
        ListSlot, on_delete=models.PROTECT, null=True, blank=True, related_name="allocation"
    )
    sequence_number = models.PositiveIntegerField(
        null=True, blank=True, help_text="minimization: order within the list (replay)"
    )
    stratum = models.CharField(max_length=32)
    factors = models.JSONField(default=dict)
    arm = models.CharField(max_length=16)
    code = models.CharField(max_length=16)
    randomized_at = models.DateTimeField()
    randomized_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    study_day = models.IntegerField()
    in_error = models.BooleanField(default=False)
    error_reason = models.TextField(blank=True)
    error_marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    error_marked_at = models.DateTimeField(null=True, blank=True)

    arm_revealing = ArmRevealing(record=True)
    unscoped = models.Manager()
    history = trial_history()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["randomization_list", "sequence_number"],
                condition=models.Q(sequence_number__isnull=False),
                name="allocation_unique_sequence",
            ),
        ]

    def __str__(self) -> str:
        return f"allocation of {self.participant_id}"

    def audit_scope(self) -> tuple[str, str]:
        return self.participant.site.code, self.participant.study_id


class ListAlert(models.Model):
    """A stratum's list ran low: the statistician was alerted (once per stratum and level)."""

    randomization_list = models.ForeignKey(
        RandomizationList, on_delete=models.PROTECT, related_name="alerts"
    )
    stratum = models.CharField(max_length=32)
    remaining = models.PositiveIntegerField()
    capacity = models.PositiveIntegerField(help_text="slots in the stratum when alerted")
    raised_at = models.DateTimeField()

    arm_revealing = ArmRevealing(record=True)  # counts per stratum hint at list structure
    history = trial_history()  # row history with the actor (who changed it, why)
    unscoped = models.Manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["randomization_list", "stratum", "capacity"], name="one_alert_per_capacity"
            )
        ]

    def __str__(self) -> str:
        return f"alert {self.stratum} ({self.remaining} left)"
