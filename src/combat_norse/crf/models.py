"""Visits and form instances (§14). A form's items are declared in :mod:`crf.catalog`; an
instance stores its values as one validated JSON document with the form version it was entered
on, its status, its SDV state and a version number that every accepted save increments.

Masking is per item: the catalog tags arm-revealing items and forms, and the presenters apply
the tags (the model declaration below covers only the free-text reasons).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from combat_norse.audit.history import trial_history
from combat_norse.core.masking import ArmRevealing
from combat_norse.participants.models import Participant


class VisitStatus(models.TextChoices):
    UPCOMING = "upcoming"
    DUE = "due"
    OVERDUE = "overdue"
    DONE = "done"
    MISSED = "missed"
    NOT_APPLICABLE = "not_applicable"


class FormStatus(models.TextChoices):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    COMPLETE = "complete"
    LOCKED = "locked"


class SdvStatus(models.TextChoices):
    NOT_VERIFIED = "not_verified"
    VERIFIED = "verified"
    CHANGED_AFTER_SDV = "changed_after_sdv"


class Visit(models.Model):
    """One visit of a participant: scheduled (windowed, anchored to SE onset), daily inpatient,
    an event visit (exists once its form is saved), or ``unscheduled``."""

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="visits")
    code = models.CharField(max_length=32)
    target = models.DateField(null=True, blank=True)
    earliest = models.DateField(null=True, blank=True)
    latest = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=VisitStatus.choices,
                              default=VisitStatus.UPCOMING)  # fmt: skip
    missed_reason = models.TextField(blank=True)

    history = trial_history()
    arm_revealing = ArmRevealing(text_fields={"missed_reason"})  # free text may name a drug
    unscoped = models.Manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["participant", "code"], name="one_visit_per_code")
        ]
        ordering = ["participant_id", "target", "id"]

    def __str__(self) -> str:
        return f"{self.participant_id}/{self.code}"

    def audit_scope(self) -> tuple[str, str]:
        return self.participant.site.code, self.participant.study_id


class FormInstance(models.Model):
    """A form of a visit (one per visit and form; repeating forms at ``unscheduled`` add one per
    save, numbered by ``instance``)."""

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="form_instances"
    )
    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="forms")
    form = models.CharField(max_length=40)
    form_version = models.PositiveIntegerField()
    number = models.PositiveIntegerField(default=1)  # the instance id of §14 (a repeating form)
    values = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=FormStatus.choices)
    sdv = models.CharField(max_length=20, choices=SdvStatus.choices,
                           default=SdvStatus.NOT_VERIFIED)  # fmt: skip
    version = models.PositiveIntegerField(default=0)
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    assessed_unmasked = models.BooleanField(default=False)
    saved_at = models.DateTimeField()
    saved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    history = trial_history()
    # item-level tags live in crf.catalog (the dose form is wholly arm-revealing; AE text may
    # name a drug); the presenters apply them, so the model marks nothing itself
    arm_revealing = ArmRevealing()
    unscoped = models.Manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["visit", "form", "number"], name="one_instance_number_per_visit_form"
            )
        ]
        ordering = ["visit_id", "form", "number"]

    def __str__(self) -> str:
        return f"{self.visit}/{self.form}#{self.number}"

    def audit_scope(self) -> tuple[str, str]:
        return self.participant.site.code, self.participant.study_id


def adverse_event_id(instance: FormInstance) -> str:
    """An adverse event's id across the trial: its participant's study id and its instance
    number (``YNH-001-AE2``)."""
    return f"{instance.participant.study_id}-AE{instance.number}"


class FormVersionSeal(models.Model):
    """The fingerprint of a form version when it was first used: the version is immutable from
    then on (system check combat_norse.E301)."""

    form = models.CharField(max_length=40)
    version = models.PositiveIntegerField()
    fingerprint = models.CharField(max_length=64)
    first_used_at = models.DateTimeField()

    arm_revealing = ArmRevealing()  # metadata only
    unscoped = models.Manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["form", "version"], name="one_seal_per_form_version")
        ]

    def __str__(self) -> str:
        return f"{self.form} v{self.version} sealed {self.fingerprint[:12]}"


class QueryStatus(models.TextChoices):
    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"


class QueryOrigin(models.TextChoices):
    RULE = "rule"
    MANUAL = "manual"


class DataQuery(models.Model):
    """A question about one item of a form instance: opened by an edit-check rule (closed by the
    rule when the data is corrected) or by a data manager or monitor."""

    form_instance = models.ForeignKey(
        FormInstance, on_delete=models.PROTECT, related_name="queries"
    )
    item = models.CharField(max_length=40)
    rule = models.CharField(max_length=60, blank=True)  # the rule's code when origin is rule
    origin = models.CharField(max_length=8, choices=QueryOrigin.choices)
    status = models.CharField(max_length=10, choices=QueryStatus.choices,
                              default=QueryStatus.OPEN)  # fmt: skip
    text = models.TextField()
    opened_at = models.DateTimeField()
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    closed_at = models.DateTimeField(null=True, blank=True)

    history = trial_history()
    arm_revealing = ArmRevealing(text_fields={"text"})  # a query's text may name a drug
    unscoped = models.Manager()

    class Meta:
        ordering = ["opened_at", "id"]

    def __str__(self) -> str:
        return f"query {self.pk} on {self.form_instance}/{self.item}"

    def audit_scope(self) -> tuple[str, str]:
        p = self.form_instance.participant
        return p.site.code, p.study_id


class QueryMessageKind(models.TextChoices):
    ANSWER = "answer"
    CLOSE = "close"
    REOPEN = "reopen"


class QueryMessage(models.Model):
    """The text given with a query's answer, close or reopen (the thread of a query; the query's
    own ``text`` is what was raised).

    A row per message rather than a JSON list on :class:`DataQuery`: messages are appended, never
    edited, so each is one insert with its own history row (author and time) instead of a
    rewrite of the whole thread on every answer; a JSON list would also put every earlier message
    into each ``DataQuery`` history row and each audit event's old → new values. The query's
    status change and its message are written in one transaction and one audit event.
    """

    query = models.ForeignKey(DataQuery, on_delete=models.PROTECT, related_name="messages")
    kind = models.CharField(max_length=8, choices=QueryMessageKind.choices)
    text = models.TextField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                               related_name="+")  # fmt: skip
    at = models.DateTimeField()

    history = trial_history()
    arm_revealing = ArmRevealing(text_fields={"text"})  # an answer may name a drug
    unscoped = models.Manager()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} on query {self.query_id}"

    def audit_scope(self) -> tuple[str, str]:
        return self.query.audit_scope()

class SignatureMeaning(models.TextChoices):
    ELIGIBILITY = "eligibility"  # the investigator confirms the participant's eligibility
    CASEBOOK = "casebook"  # the investigator approves the participant's case report forms


class Signature(models.Model):
    """An electronic signature (21 CFR 11.50, 11.200) of a site investigator over what existed
    when they signed: for ``eligibility`` the screening entry (its latest decision and record)
    and the consents, for ``casebook`` every form instance. ``covers`` lists the records (kind,
    id, version) and ``digest`` is the SHA-256 over them and their values; the signature is
    valid while the same digest over the same records still comes out (computed on read, in
    :mod:`crf.actions.signatures`). ``invalidated_at`` records when a change was first noticed at
    save time (a form save or an onset correction); it is a record, never the test of validity.
    """

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="signatures"
    )
    meaning = models.CharField(max_length=16, choices=SignatureMeaning.choices)
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                               related_name="+")  # fmt: skip
    signer_name = models.CharField(max_length=300)  # the printed name when signed (11.50)
    signed_at = models.DateTimeField()
    covers = models.JSONField(default=list)
    digest = models.CharField(max_length=64)
    invalidated_at = models.DateTimeField(null=True, blank=True)

    history = trial_history()
    # ``covers`` may list dose forms (wholly arm-revealing) and the digest runs over their
    # values: a masked reader gets neither (the presenters drop the dose entries from covers)
    arm_revealing = ArmRevealing(fields={"covers", "digest"})
    unscoped = models.Manager()

    class Meta:
        ordering = ["participant_id", "signed_at", "id"]

    def __str__(self) -> str:
        return f"{self.meaning} signature {self.pk} of {self.participant_id}"

    def audit_scope(self) -> tuple[str, str]:
        return self.participant.site.code, self.participant.study_id
