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


def present_token(row: Any, token: str | None = None) -> dict[str, Any]:
    """An API token as ``token create|list|revoke`` print it and ``/me/tokens/`` shows it: the
    whole token only at creation (``token``), never again."""
    from combat_norse.accounts.tokens import token_state

    out: dict[str, Any] = {
        "prefix": row.prefix,
        "username": row.user.username,
        "created_at": row.created_at.isoformat(),
        "expires_at": row.expires_at.isoformat(),
        "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
        "last_used_at": row.last_used_at.isoformat() if row.last_used_at else None,
        "state": token_state(row),
    }
    if token is not None:
        out["token"] = token
    return out


def present_account(user: User) -> dict[str, Any]:
    """One row of the administrator's user list (never a password, never a TOTP key)."""
    return {
        "username": user.username,
        "email": user.email,
        "active": user.is_active,
        "last_login": user.last_login,
        "two_factor": bool(getattr(user, "has_authenticator", False)),
        "memberships": [
            {"id": m.pk, "role": m.role, "site": m.site.code if m.site else None,
             "active": m.active}
            for m in user.memberships.all()
        ],
    }  # fmt: skip
