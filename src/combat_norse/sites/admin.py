"""The admin for the system administrator: sites, users and memberships, every change audited.

Changes made here go through ``audited_save`` / ``audited_delete`` like every ``do_*`` action,
so the trail shows who granted which role when. Nobody grants themselves a role here: a
system administrator who could make themselves statistician or coordinator would reach the
allocation list or participant data that PROTOCOL.md §11 keeps from them.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from combat_norse.audit.api import audited_delete, audited_save
from combat_norse.audit.vocabulary import AuditAction
from combat_norse.sites.models import Membership, Site


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


@admin.register(Site)
class SiteAdmin(AuditedAdmin):
    list_display = ("code", "name", "city", "country", "timezone", "region", "active")
    list_filter = ("region", "country", "active")
    search_fields = ("code", "name", "city")


@admin.register(Membership)
class MembershipAdmin(AuditedAdmin):
    create_action = AuditAction.ROLE_GRANT
    change_action = AuditAction.MEMBERSHIP_CHANGE
    list_display = ("user", "role", "site", "active", "created_at")
    list_filter = ("role", "active", "site")
    search_fields = ("user__username",)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if obj.user_id == request.user.pk:
            raise PermissionDenied("nobody grants or changes their own roles")
        obj.full_clean()
        super().save_model(request, obj, form, change)


class AuditedUserAdmin(AuditedAdmin, UserAdmin):  # type: ignore[type-arg]
    """Django's user admin, audited (password hashes are recorded as "<redacted>")."""


admin.site.unregister(User)
admin.site.register(User, AuditedUserAdmin)
