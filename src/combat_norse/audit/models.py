"""The append-only audit trail and its Merkle tree (DESIGN.md principle 5; §13; issue 19).

Events are created only by :func:`combat_norse.audit.api.record_event`, in the change's own
transaction and without a shared lock; :mod:`combat_norse.audit.seal` later gives each
committed event one leaf (:class:`AuditLeaf`) of the trail's tree (:class:`AuditTrail`).
Through the ORM an event can be neither changed nor removed: ``save()`` of an existing row,
``delete()``, and the queryset's ``update()``, ``delete()``, ``bulk_update()`` and
``bulk_create()`` raise :class:`~combat_norse.audit.exceptions.AppendOnlyError`. On PostgreSQL
a trigger also refuses UPDATE, DELETE and TRUNCATE of the tables (migrations 0002 and 0004).
What is done behind the application's back (trigger disabled by the table owner) is caught by
``combat-norse audit verify``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models.expressions import Func

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


class CurrentTransactionId(Func):
    """The writing transaction's id (PostgreSQL ``pg_current_xact_id()``, 64 bits, never
    wraps): the sealer orders events by it. SQLite has one writer at a time and no id: NULL."""

    output_field = models.BigIntegerField()

    def as_sql(  # type: ignore[override]  # no arguments to render
        self, compiler: Any, connection: Any, **extra: Any
    ) -> tuple[str, list[Any]]:
        return "NULL", []

    def as_postgresql(
        self, compiler: Any, connection: Any, **extra: Any
    ) -> tuple[str, list[Any]]:
        return "(pg_current_xact_id()::text::bigint)", []


class AuditEvent(models.Model):
    """One event of the trail. ``seq`` is its id, given by the database on insert (it grows,
    but a rolled-back transaction leaves a gap); its place in the trail is its leaf's position.
    ``xid`` is the writing transaction's id on PostgreSQL (the sealer's order), NULL on SQLite.
    Events of the legacy chain (before issue 19) keep ``prev_hash``; later ones have ``""``."""

    seq = models.BigAutoField(primary_key=True, editable=False)
    xid = models.BigIntegerField(
        null=True, editable=False, db_default=CurrentTransactionId(), db_index=True
    )
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
        """Insert this new event; only record_event() calls it."""
        if not self._state.adding:
            raise AppendOnlyError(APPEND_ONLY_MESSAGE)
        models.Model.save(self, force_insert=True, using=using)

    def hashed_fields(self) -> dict[str, Any]:
        from combat_norse.audit.chain import ALL_HASHED_FIELDS

        return {name: getattr(self, name) for name in ALL_HASHED_FIELDS}


class AppendOnlyQuerySet(models.QuerySet[Any]):
    """A queryset that refuses updates and deletes (the sealer's tables)."""

    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError(APPEND_ONLY_MESSAGE)

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(APPEND_ONLY_MESSAGE)

    def bulk_update(self, *args: Any, **kwargs: Any) -> int:
        raise AppendOnlyError(APPEND_ONLY_MESSAGE)


class AuditTrail(models.Model):
    """The one trail of this database: its id names its checkpoint folder, so a copy of the
    database verifies against the same checkpoints. Created by the first seal."""

    trail_id = models.UUIDField(unique=True, editable=False)
    created_at = models.DateTimeField(editable=False)

    objects = models.Manager.from_queryset(AppendOnlyQuerySet)()

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"audit trail {self.trail_id}"


class AuditLeaf(models.Model):
    """The place of one event in the Merkle tree: ``position`` counts from 0 without a gap;
    ``leaf_hash`` is the RFC 9162 hash of the event's leaf document (audit/chain.py)."""

    position = models.PositiveBigIntegerField(primary_key=True, editable=False)
    event = models.OneToOneField(
        AuditEvent, on_delete=models.PROTECT, related_name="leaf", editable=False
    )
    leaf_hash = models.CharField(max_length=64, editable=False)

    objects = models.Manager.from_queryset(AppendOnlyQuerySet)()

    class Meta:
        ordering = ("position",)
        default_permissions = ()

    def __str__(self) -> str:
        return f"leaf {self.position}: event {self.event_id}"
