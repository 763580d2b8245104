"""The append-only, hash-chained audit trail (DESIGN.md principle 5; §13).

Events are created only by :func:`combat_norse.audit.api.record_event`. Through the ORM an event
can be neither changed nor removed: ``save()`` of an existing row, ``delete()``, and the
queryset's ``update()``, ``delete()``, ``bulk_update()`` and ``bulk_create()`` raise
:class:`~combat_norse.audit.exceptions.AppendOnlyError`. On PostgreSQL a trigger also refuses
UPDATE, DELETE and TRUNCATE of the table (migration 0002). What is done behind the application's
back (trigger disabled by the table owner) is caught by ``combat-norse audit verify``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from combat_norse.audit.exceptions import AppendOnlyError

# The vocabulary of ``AuditEvent.action`` is the closed enum in audit/vocabulary.py (record_event
# refuses any other value).

APPEND_ONLY_MESSAGE = "the audit trail is append-only: events are created by record_event()"


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    """A queryset that refuses every bulk write."""

    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError(APPEND_ONLY_MESSAGE)

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(APPEND_ONLY_MESSAGE)

    def bulk_update(self, *args: Any, **kwargs: Any) -> int:
        raise AppendOnlyError(APPEND_ONLY_MESSAGE)

    def bulk_create(self, *args: Any, **kwargs: Any) -> list[AuditEvent]:
        raise AppendOnlyError(APPEND_ONLY_MESSAGE)

    def _raw_delete(self, *args: Any, **kwargs: Any) -> int:
        raise AppendOnlyError(APPEND_ONLY_MESSAGE)


AuditEventManager = models.Manager.from_queryset(AuditEventQuerySet)


class AuditEvent(models.Model):
    """One event of the trail. ``seq`` is the primary key and the gap-free chain position."""

    seq = models.PositiveBigIntegerField(primary_key=True, editable=False)
    occurred_at = models.DateTimeField(editable=False, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,  # users who acted are deactivated, never deleted
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    actor_username = models.CharField(max_length=150, blank=True, editable=False)
    # The operating-system user of the command line that wrote the event (``os:<login>``), when
    # it acted ``--as`` a user; "" for the web and tasks (hashed only when set: audit/chain.py).
    operator = models.CharField(
        max_length=150, blank=True, default="", db_default="", editable=False
    )
    action = models.CharField(max_length=40, editable=False, db_index=True)
    object_type = models.CharField(max_length=100, blank=True, editable=False)
    object_id = models.CharField(max_length=64, blank=True, editable=False)
    site_code = models.CharField(max_length=16, blank=True, editable=False)  # "" = none
    participant_ref = models.CharField(max_length=32, blank=True, editable=False)  # "" = none
    changes = models.JSONField(default=dict, blank=True, editable=False)
    reason = models.TextField(blank=True, editable=False)
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, editable=False)

    objects = AuditEventManager()

    class Meta:
        ordering = ("seq",)
        base_manager_name = "objects"
        default_permissions = ("view",)
        indexes = (
            models.Index(fields=["site_code", "occurred_at"], name="audit_site_time"),
            models.Index(fields=["participant_ref", "occurred_at"], name="audit_participant_time"),
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
        )
        constraints = (
            models.CheckConstraint(condition=models.Q(seq__gte=1), name="audit_seq_positive"),
        )

    def __str__(self) -> str:
        who = self.actor_username or "system"
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id} by {who}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        raise AppendOnlyError(APPEND_ONLY_MESSAGE)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(APPEND_ONLY_MESSAGE)

    def _append(self, using: str) -> None:
        """Insert this new event; only record_event() calls it, under the chain lock."""
        if not self._state.adding:
            raise AppendOnlyError(APPEND_ONLY_MESSAGE)
        models.Model.save(self, force_insert=True, using=using)

    def hashed_fields(self) -> dict[str, Any]:
        from combat_norse.audit.chain import ALL_HASHED_FIELDS

        return {name: getattr(self, name) for name in ALL_HASHED_FIELDS}
