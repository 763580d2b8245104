"""Sign-in events go to the audit trail (username only; never the password tried)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.dispatch import receiver


def _record(action: str, user: Any, username: str) -> None:
    from combat_norse.audit.api import record_event

    with transaction.atomic():
        record_event(
            actor=user if getattr(user, "pk", None) else None,
            action=action,
            object_type="auth.User",
            object_id=str(getattr(user, "pk", "") or ""),
            changes={"username": [None, username]},
        )


@receiver(user_logged_in)
def _on_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    _record("login", user, user.get_username())


@receiver(user_logged_out)
def _on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        _record("logout", user, user.get_username())


@receiver(user_login_failed)
def _on_login_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    _record("login_failed", None, str(credentials.get("username", ""))[:150])
