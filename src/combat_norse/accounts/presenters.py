"""Presenters of the accounts app (never a password, never a TOTP key)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User

from combat_norse.accounts.actions import NewUser


def present_new_user(created: NewUser) -> dict[str, Any]:
    """What ``user add`` prints (§13); the one-time password goes to stderr, not here."""
    return {"username": created.user.username, "role": created.role, "sites": list(created.sites)}


def present_password_changed(user: User) -> dict[str, Any]:
    """What ``user password`` prints (§13)."""
    return {"username": user.username, "changed": True}
