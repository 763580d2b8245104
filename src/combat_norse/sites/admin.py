"""The admin for the system administrator: sites, users and memberships, every change audited.

Changes made here go through ``audited_save`` / ``audited_delete`` like every ``do_*`` action,
so the trail shows who granted which role when. Nobody grants themselves a role here: a
system administrator who could make themselves statistician or coordinator would reach the
allocation list or participant data that §11 keeps from them.

Two-person rule: an unmasked central role (statistician, data manager, DSMB member, admin: see
:func:`~combat_norse.sites.roles.unmasked_central_roles`) reaches every site's data or the
arms, so the admin alone cannot grant it: the form refuses it and sends the administrator to
the server operators' command line (``combat-norse user add NAME --role ROLE``), run by a
second person who operates the server; that grant is audited as the operating-system user.
(The users' admin, with password resets and the admin's own roles, is in accounts/admin.py.)
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest

from combat_norse.audit.admin import AuditedAdmin
from combat_norse.audit.vocabulary import AuditAction
from combat_norse.sites.models import Membership, Site
from combat_norse.sites.roles import TWO_PERSON_MESSAGE, unmasked_central_roles


@admin.register(Site)
class SiteAdmin(AuditedAdmin):
    list_display = ("code", "name", "city", "country", "timezone", "region", "active")
    list_filter = ("region", "country", "active")
    search_fields = ("code", "name", "city")


class MembershipForm(forms.ModelForm):  # type: ignore[type-arg]
    """Refuses a grant the admin may not make alone: an active unmasked central role (added,
    re-pointed, re-activated or changed into one). A grant to the administrator themselves is
    refused outright (403) by :meth:`MembershipAdmin.save_model`."""

    class Meta:
        model = Membership
        fields = ("user", "role", "site", "active")

    request_user_pk: int | None = None  # set per request by MembershipAdmin.get_form

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        user, role, active = data.get("user"), data.get("role"), data.get("active")
        if user is not None and user.pk == self.request_user_pk:
            return data  # refused with 403 by save_model, whatever the role
        granting = not self.instance.pk or bool(
            {"user", "role", "active", "site"} & set(self.changed_data)
        )
        if active and role in unmasked_central_roles() and granting:
            raise ValidationError(TWO_PERSON_MESSAGE.format(role=role))
        return data


@admin.register(Membership)
class MembershipAdmin(AuditedAdmin):
    form = MembershipForm
    create_action = AuditAction.ROLE_GRANT
    change_action = AuditAction.MEMBERSHIP_CHANGE
    list_display = ("user", "role", "site", "active", "created_at")
    list_filter = ("role", "active", "site")
    search_fields = ("user__username",)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False,
                 **kwargs: Any) -> Any:  # fmt: skip
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"request_user_pk": request.user.pk})

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if obj.user_id == request.user.pk:
            raise PermissionDenied("nobody grants or changes their own roles")
        if obj.active and obj.role in unmasked_central_roles() and (
            not change or {"user", "role", "active", "site"} & set(form.changed_data)
        ):
            raise PermissionDenied(TWO_PERSON_MESSAGE.format(role=obj.role))
        obj.full_clean()
        super().save_model(request, obj, form, change)
