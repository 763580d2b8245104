"""Reads of user accounts for the faces (the command line's ``--as``, later the API's tokens):
a face never queries ``User.objects`` itself (tests/unit/test_architecture.py)."""

from __future__ import annotations

from django.contrib.auth.models import User

from combat_norse.core.errors import NotFound, shown


def access_user(username: str) -> User:
    """The ACTIVE user named ``username``; NotFound (field ``username``) otherwise: an inactive
    account is not told apart from an unknown one."""
    try:
        return User.objects.get(username=username, is_active=True)
    except User.DoesNotExist:
        raise NotFound("username", f"or inactive user {shown(username)!r}") from None
