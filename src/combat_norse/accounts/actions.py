"""State changes of user accounts and memberships (``do_*``: validate, change, audit)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction

from combat_norse.accounts.models import PasswordState
from combat_norse.audit.api import record_event
from combat_norse.audit.vocabulary import AuditAction
from combat_norse.sites.models import Membership, Site
from combat_norse.sites.roles import CENTRAL_ROLES, SITE_ROLES, Role

USERNAME_PATTERN = re.compile(r"^[a-z][a-z0-9_.-]{2,39}$")


class UserSetupError(ValueError):
    """Bad input for a user or membership; ``field`` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True)
class NewUser:
    user: User
    role: str
    sites: tuple[str, ...]
    one_time_password: str | None  # None when the user existed already


def check_membership(role: str, site_codes: Sequence[str]) -> list[Site]:
    """Validate a role and its sites; return the Site rows."""
    if role not in {r.value for r in Role}:
        known = sorted(r.value for r in Role)
        raise UserSetupError("role", f"unknown role {role!r}; one of {known}")
    codes = [c.strip().upper() for c in site_codes]
    if role in SITE_ROLES and not codes:
        raise UserSetupError("site", f"role {role} needs at least one --site")
    if role in CENTRAL_ROLES and codes:
        raise UserSetupError("site", f"role {role} is central (all sites); give no --site")
    sites = list(Site.objects.filter(code__in=codes))
    unknown = sorted(set(codes) - {s.code for s in sites})
    if unknown:
        raise UserSetupError("site", f"unknown site code(s) {', '.join(unknown)}")
    return sites


def do_add_user(
    username: str,
    role: str,
    site_codes: Sequence[str] = (),
    *,
    actor: User | None = None,
    email: str = "",
) -> NewUser:
    """Create a user (or add a membership to an existing one) with a random one-time password.

    The password is returned once for the caller to hand over; it is never logged or stored in
    clear. The user must change it, and unblinded roles enrol TOTP at first sign-in.
    """
    if not USERNAME_PATTERN.match(username):
        raise UserSetupError(
            "username", "3–40 characters: lower-case letters, digits, _ . - starting with a letter"
        )
    sites = check_membership(role, site_codes)
    with transaction.atomic():
        user, created = User.objects.get_or_create(username=username, defaults={"email": email})
        password = None
        if created:
            password = secrets.token_urlsafe(12)
            user.set_password(password)
            user.is_staff = role == Role.ADMIN
            user.is_superuser = role == Role.ADMIN
            user.save()
            PasswordState.objects.update_or_create(user=user, defaults={"must_change": True})
            record_event(
                actor=actor, action=AuditAction.USER_CREATE, obj=user,
                changes={"username": [None, username]},
            )
        targets: list[Site | None] = list(sites) if sites else [None]
        for site in targets:
            membership, made = Membership.objects.get_or_create(user=user, role=role, site=site)
            if made:
                record_event(
                    actor=actor,
                    action=AuditAction.ROLE_GRANT,
                    obj=membership,
                    site_code=site.code if site else None,
                    changes={
                        "user": [None, username],
                        "role": [None, role],
                        "site": [None, site.code if site else None],
                    },
                )
    return NewUser(
        user=user, role=role, sites=tuple(s.code for s in sites), one_time_password=password
    )
