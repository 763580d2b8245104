"""State changes of user accounts and memberships (``do_*``: validate, change, audit).

Passwords are never logged or stored in clear; a password set by anyone but its user (a new
account's one-time password, an administrator's reset) must be changed at the next sign-in.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from combat_norse.accounts.models import PasswordState
from combat_norse.audit.api import REDACTED, Actor, audited_save, record_event
from combat_norse.audit.vocabulary import AuditAction
from combat_norse.core.errors import BadInput, Reason, Refused
from combat_norse.core.reauth import reauthenticate
from combat_norse.core.refusals import Attempt, refusals_audited
from combat_norse.sites.access import scope_for
from combat_norse.sites.models import Membership, Site
from combat_norse.sites.roles import (
    CENTRAL_ROLES,
    SITE_ROLES,
    TWO_PERSON_MESSAGE,
    Role,
    any_masked,
    unmasked_central_roles,
)

USERNAME_PATTERN = re.compile(r"^[a-z][a-z0-9_.-]{2,39}$")
MAX_PASSWORD_LENGTH = 4096  # longer is bad input, unhashed (a hash of megabytes is a DoS)


class UserSetupError(BadInput):
    """Bad input for a user or membership; ``field`` names what is wrong (a :class:`BadInput`,
    kept under this name for its callers)."""


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


def check_password(password: str, user: User | None = None) -> None:
    """Django's password validators (AUTH_PASSWORD_VALIDATORS); BadInput ``password`` naming
    every problem."""
    if not password:
        raise BadInput("password", "empty")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise BadInput("password", f"longer than {MAX_PASSWORD_LENGTH} characters")
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise BadInput("password", " ".join(exc.messages)) from None


def check_new_password(user: User, current: str, new: str) -> None:
    """The rules of a user's own change: the new password differs from the current one (a
    one-time password cannot be "changed" to itself) and passes the validators."""
    if new == current or user.check_password(new):
        raise BadInput("password", "the new password must differ from the current one")
    check_password(new, user)


def _must_change(user: User, must: bool) -> None:
    PasswordState.objects.update_or_create(
        user=user,
        defaults={"must_change": must, "changed_at": None if must else timezone.now()},
    )


def do_add_user(
    username: str,
    role: str,
    site_codes: Sequence[str] = (),
    *,
    actor: Actor = None,
    email: str = "",
    password: str | None = None,
) -> NewUser:
    """Create a user (or add a membership to an existing one) with a one-time password.

    ``password`` is the one-time password chosen by the operator (validated); without it one is
    generated. It is returned once for the caller to hand over; it is never logged or stored in
    clear. The user must change it at first sign-in, and unblinded roles enrol TOTP then. For
    an existing user the role is added and the password is left alone.
    """
    if not USERNAME_PATTERN.fullmatch(username):  # not .match: "$" matches before a final \n
        raise UserSetupError(
            "username", "3–40 characters: lower-case letters, digits, _ . - starting with a letter"
        )
    sites = check_membership(role, site_codes)
    with transaction.atomic():
        user, created = User.objects.get_or_create(username=username, defaults={"email": email})
        one_time = None
        if created:
            if password is not None:
                check_password(password, user)
            one_time = password if password is not None else secrets.token_urlsafe(12)
            user.set_password(one_time)
            user.is_staff = role == Role.ADMIN
            user.is_superuser = role == Role.ADMIN
            user.save()
            _must_change(user, True)
            record_event(
                actor=actor, action=AuditAction.USER_CREATE, obj=user,
                changes={"username": [None, username], "password": [None, REDACTED]},
            )  # fmt: skip
        targets: list[Site | None] = list(sites) if sites else [None]
        for site in targets:
            membership = Membership.objects.filter(user=user, role=role, site=site).first()
            if membership is not None and membership.active:
                continue  # held already: nothing changes
            if membership is None:
                membership = Membership(user=user, role=role, site=site)
            else:
                # a revoked grant comes back: the second person's way to re-activate a role
                # the admin may not (README), so it is a grant like a new one
                membership.active = True
            # the row, its history with the actor, and one role_grant event
            fields = None if membership._state.adding else ["active"]
            audited_save(membership, actor=actor, action=AuditAction.ROLE_GRANT,
                         site_code=site.code if site else None, update_fields=fields)
    return NewUser(
        user=user, role=role, sites=tuple(s.code for s in sites), one_time_password=one_time
    )


def do_change_password(user: User, current: str, new: str) -> User:
    """A user replaces their own password (a one-time one included): ``current`` must be right
    (else refused ``password``, audited), ``new`` must differ from it and pass the validators
    (bad input). Clears the must-change flag; audited ``password_changed`` (never the password).
    """
    attempt = Attempt(AuditAction.PASSWORD_CHANGED, "auth.User", str(user.pk))
    if len(current) > MAX_PASSWORD_LENGTH:
        raise BadInput("password", f"longer than {MAX_PASSWORD_LENGTH} characters")
    with refusals_audited(user, attempt), transaction.atomic():
        reauthenticate(user, current, AuditAction.PASSWORD_CHANGED)
        check_new_password(user, current, new)
        user.set_password(new)
        user.save(update_fields=["password"])
        _must_change(user, False)
        record_event(actor=user, action=AuditAction.PASSWORD_CHANGED, obj=user,
                     changes={"password": [REDACTED, REDACTED]})  # fmt: skip
    return user


def do_reset_password(
    actor: Actor, user: User, new: str | None = None, *, usable: bool = True
) -> str | None:
    """Someone else sets ``user``'s password (an administrator's reset): validated, audited
    ``password_reset`` (never the password), and the user must change it at the next sign-in.
    Nobody resets their own password this way (they change it, knowing the current one).
    Returns the one-time password (generated when ``new`` is None); ``usable=False`` disables
    password sign-in instead (returns None)."""
    attempt = Attempt(AuditAction.PASSWORD_RESET, "auth.User", str(user.pk))
    with refusals_audited(actor, attempt), transaction.atomic():
        if getattr(actor, "pk", None) is not None and actor.pk == user.pk:  # type: ignore[union-attr]
            raise Refused(Reason.ROLE, "change your own password with the current one instead")
        one_time: str | None = None
        if not usable:
            user.set_unusable_password()
        else:
            one_time = new if new is not None else secrets.token_urlsafe(12)
            if new is not None:
                check_password(new, user)
            user.set_password(one_time)
        user.save(update_fields=["password"])
        _must_change(user, usable)
        record_event(actor=actor, action=AuditAction.PASSWORD_RESET, obj=user,
                     changes={"password": [REDACTED, REDACTED],
                              "usable": [None, usable], "must_change": [None, usable]})  # fmt: skip
    return one_time


# ------------------------------------------------------------------ the administrator's pages
def _require_admin(actor: User) -> None:
    if Role.ADMIN not in scope_for(actor).central_roles:
        raise Refused(Reason.ROLE, "needs admin")


def do_admin_grant(
    actor: User, username: str, role: str, site_codes: Sequence[str] = (), *, email: str = ""
) -> NewUser:
    """A system administrator adds a user, or a role to a user, from the pages: the same
    :func:`do_add_user` as ``combat-norse user add`` (generated one-time password), behind the
    rules of the admin's own form: nobody grants themselves a role, and an unmasked central
    role (statistician, data manager, DSMB member, admin) takes a second person on the
    server's command line. Refusals are audited ``role_grant_refused``."""
    attempt = Attempt(AuditAction.ROLE_GRANT, "auth.User")
    with refusals_audited(actor, attempt):
        _require_admin(actor)
        if username == actor.get_username():
            raise Refused(Reason.ROLE, "nobody grants or changes their own roles")
        if role in unmasked_central_roles():
            raise Refused(Reason.ROLE, TWO_PERSON_MESSAGE.format(role=role))
    return do_add_user(username, role, site_codes, actor=actor, email=email)


def do_admin_revoke(actor: User, membership_id: int) -> Membership:
    """A system administrator withdraws a role (the membership stays, inactive, with its
    history; ``role_revoke``). Not their own roles, and not a masked role that leaves its holder
    with an unmasked one: that would unmask them, which takes a reason, re-authentication and
    notification (§11, ``combat-norse unmask``), not a page. Refusals audited."""
    attempt = Attempt(AuditAction.ROLE_REVOKE, "sites.Membership", str(membership_id))
    with refusals_audited(actor, attempt), transaction.atomic():
        _require_admin(actor)
        # the row only: PostgreSQL locks no nullable side of an outer join (a central role's site)
        membership = (Membership.objects.select_for_update(of=("self",))
                      .select_related("user", "site")
                      .filter(pk=membership_id, active=True).first())  # fmt: skip
        if membership is None:
            raise BadInput("membership", f"no active membership {membership_id}")
        if membership.user_id == actor.pk:
            raise Refused(Reason.ROLE, "nobody grants or changes their own roles")
        others = Membership.objects.filter(user_id=membership.user_id, active=True) \
            .exclude(pk=membership.pk).values_list("role", flat=True)  # fmt: skip
        if any_masked([membership.role]) and others and not any_masked(others):
            raise Refused(Reason.ROLE, "withdrawing this masked role would unmask the user: "
                          "that is a deliberate unmasking (combat-norse unmask), not a page")
        membership.active = False
        audited_save(membership, actor=actor, action=AuditAction.ROLE_REVOKE,
                     site_code=membership.site.code if membership.site else None,
                     update_fields=["active"])  # fmt: skip
    return membership
