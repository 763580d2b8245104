"""The audit trail in the admin: read-only (no add, change or delete, not even for superusers),
and limited to system events (users, memberships, sign-in). The system administrator sees no
participant data (§11): events about participants, screenings, consents and
allocations (which may name the arm) are only in `combat-norse audit export`."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib import admin
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from combat_norse.audit.api import audited_delete, audited_save
from combat_norse.audit.models import AuditEvent
from combat_norse.audit.vocabulary import AuditAction


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "seq",
        "occurred_at",
        "actor_username",
        "operator",
        "action",
        "object_type",
        "object_id",
        "site_code",
        "participant_ref",
    )
    list_filter = ("action", "site_code")
    search_fields = ("=object_id", "=participant_ref", "=actor_username")
    ordering = ("-seq",)
    date_hierarchy = "occurred_at"
    show_full_result_count = False  # no COUNT(*) over the whole trail on every page
    actions = None

    # Query-string filters allowed in the list: the list filters and the date hierarchy. Any
    # other lookup (``?changes__contains=...``, which SQLite cannot run on JSON and which would
    # search values) is refused with 400 by Django's DisallowedModelAdminLookup.
    allowed_lookups = frozenset({"action", "action__exact", "site_code", "site_code__exact"})
    allowed_date_lookups = frozenset({"year", "month", "day", "gte", "lt"})

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        if lookup in self.allowed_lookups:
            return True
        field, _, kind = lookup.partition("__")
        return field == "occurred_at" and kind in self.allowed_date_lookups

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEvent]:
        trial_data = Q(participant_ref__gt="")
        # Apps declare themselves trial data (``trial_data = True`` on their AppConfig), so the
        # audit app, which every other app writes through, imports none of them.
        for config in apps.get_app_configs():
            if getattr(config, "trial_data", False):
                trial_data |= Q(object_type__startswith=f"{config.label}.")
        return super().get_queryset(request).exclude(trial_data)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in AuditEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AuditedAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Saves and deletes through the audit trail; the reason names the admin and the fields."""

    create_action = AuditAction.CREATE
    change_action = AuditAction.UPDATE

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        changed = ", ".join(getattr(form, "changed_data", []) or []) or "no fields"
        with transaction.atomic():
            audited_save(obj, actor=request.user,
                         action=self.change_action if change else self.create_action,
                         reason=f"changed in the admin ({changed})" if change else "")  # fmt: skip

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        with transaction.atomic():
            audited_delete(obj, actor=request.user, reason="deleted in the admin")

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        with transaction.atomic():
            for obj in queryset:
                audited_delete(obj, actor=request.user, reason="deleted in the admin")
