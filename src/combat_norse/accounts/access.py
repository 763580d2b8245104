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


def access_accounts(actor: User) -> list[User]:
    """Every account with its memberships (site preloaded) and whether it has a confirmed
    authenticator, for a system administrator only (refused ``role`` otherwise). Accounts, not
    participant data: nothing here reads a trial record."""
    from django.db.models import Exists, OuterRef, Prefetch
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from combat_norse.core.errors import Reason, Refused
    from combat_norse.sites.access import scope_for
    from combat_norse.sites.models import Membership
    from combat_norse.sites.roles import Role

    if Role.ADMIN not in scope_for(actor).central_roles:
        raise Refused(Reason.ROLE, "needs admin")
    devices = TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
    memberships = Membership.objects.select_related("site").order_by("-active", "role",
                                                                    "site__code")
    return list(User.objects.order_by("username")
                .annotate(has_authenticator=Exists(devices))
                .prefetch_related(Prefetch("memberships", queryset=memberships)))  # fmt: skip
