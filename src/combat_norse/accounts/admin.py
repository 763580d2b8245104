"""The admin of user accounts and TOTP devices, closed against account takeover (issue 14).

- A TOTP device's secret is never shown: django_otp's own admin (key field, QR code and
  configuration pages) is replaced by a read-only listing; a device can only be removed
  (audited), after which its user enrols a new one at the next sign-in.
- A password set here for another user is a reset: it goes to the audit trail as
  ``password_reset`` (never the password) and the user must change it at the next sign-in. An
  administrator changes their own password on the account page, knowing the current one.
- A user created here is audited ``user_create`` and must change the password at first sign-in.
- Nobody becomes an administrator here: ``is_staff``, ``is_superuser``, groups and permissions
  are read-only (the ``admin`` role is granted with ``combat-norse user add`` on the server).
"""

from __future__ import annotations

import contextvars
from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django_otp.plugins.otp_totp import admin as _otp_totp_admin  # noqa: F401  (registers first)
from django_otp.plugins.otp_totp.models import TOTPDevice

from combat_norse.accounts.actions import do_reset_password
from combat_norse.accounts.models import PasswordState
from combat_norse.audit.admin import AuditedAdmin
from combat_norse.audit.api import audited_delete, audited_save
from combat_norse.audit.vocabulary import AuditAction

# The administrator of the request being served (for the password form's save()).
_admin_actor: contextvars.ContextVar[Any] = contextvars.ContextVar("admin_actor", default=None)

SECRET_FIELDS = ("key", "bin_key")


class AuditedPasswordResetForm(AdminPasswordChangeForm):  # type: ignore[type-arg]
    """Django's admin password form, saved as a reset through ``do_reset_password``."""

    def save(self, commit: bool = True) -> Any:
        actor = _admin_actor.get()
        if actor is None:  # only user_change_password below builds this form
            raise PermissionDenied("password resets go through the audited admin view")
        usable = self.cleaned_data.get("set_usable_password", True)
        do_reset_password(actor, self.user, self.cleaned_data.get("password1") if usable else None,
                          usable=usable)  # fmt: skip
        return self.user


class AuditedUserAdmin(AuditedAdmin, UserAdmin):  # type: ignore[type-arg]
    """Django's user admin: audited creation and changes (password hashes are recorded as
    "<redacted>"), resets audited and forced to change, no grant of admin powers."""

    change_password_form = AuditedPasswordResetForm
    readonly_fields = ("is_staff", "is_superuser", "groups", "user_permissions", "last_login",
                       "date_joined")  # fmt: skip

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        with transaction.atomic():
            if change:
                changed = ", ".join(getattr(form, "changed_data", []) or []) or "no fields"
                audited_save(obj, actor=request.user, action=AuditAction.UPDATE,
                             reason=f"changed in the admin ({changed})")  # fmt: skip
                return
            obj.is_staff = obj.is_superuser = False
            audited_save(obj, actor=request.user, action=AuditAction.USER_CREATE,
                         reason="created in the admin")  # fmt: skip
            # The administrator chose (or disabled) the password: the user replaces it.
            PasswordState.objects.update_or_create(user=obj, defaults={"must_change": True})

    def user_change_password(self, request: HttpRequest, id: str,
                             form_url: str = "") -> HttpResponse:  # fmt: skip
        if str(request.user.pk) == str(id):
            raise PermissionDenied("change your own password on the account page")
        token = _admin_actor.set(request.user)
        try:
            return super().user_change_password(request, id, form_url)
        finally:
            _admin_actor.reset(token)


class TOTPDeviceAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Authenticators, without their secrets: list, inspect, remove (audited). No add and no
    change: a device made or edited by an administrator would let them pass someone's second
    factor."""

    list_display = ("user", "name", "confirmed", "created_at", "last_used_at")
    list_filter = ("confirmed",)
    search_fields = ("user__username",)
    fields = ("user", "name", "confirmed", "created_at", "last_used_at",
              "throttling_failure_count")  # fmt: skip
    readonly_fields = fields
    actions = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        with transaction.atomic():
            audited_delete(obj, actor=request.user, reason="authenticator removed in the admin",
                           redact=SECRET_FIELDS)  # fmt: skip


admin.site.unregister(User)
admin.site.register(User, AuditedUserAdmin)
admin.site.unregister(TOTPDevice)
admin.site.register(TOTPDevice, TOTPDeviceAdmin)
