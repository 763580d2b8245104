"""Who must use two-factor authentication (a setting, read at call time)."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser, User
from django_otp.plugins.otp_totp.models import TOTPDevice

from combat_norse.sites.roles import two_factor_roles


def needs_two_factor(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Superusers, staff, and holders of any role in COMBAT_NORSE_TWO_FACTOR_ROLES."""
    if not isinstance(user, User) or not user.is_authenticated:
        return False
    if user.is_superuser or user.is_staff:
        return True
    roles = set(user.memberships.filter(active=True).values_list("role", flat=True))
    return bool(roles & two_factor_roles())


def has_confirmed_device(user: AbstractBaseUser | AnonymousUser) -> bool:
    return isinstance(user, User) and TOTPDevice.objects.filter(user=user, confirmed=True).exists()
