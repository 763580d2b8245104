"""The one access layer (DESIGN.md principle 3): every read or write of participant data starts
from a :class:`Scope` built here, so site scoping, role checks and masking are decided in one
place.

- ``scope_for(user)`` collects the user's active memberships.
- ``Scope.require(site_id, roles=..., action=...)`` raises :class:`AccessDenied` with a stable
  reason: ``"other site"`` (the user holds no role at that site) or ``"role"`` (a role there,
  but not one that may do this).
- ``Scope.is_masked_at(site_id)`` asks the masking policy (``roles.is_masked``) for every role
  the user holds at that site, central roles included; one masked role masks (fail closed).

Participant apps expose ``access_*`` functions that call these; no view, API or command queries
a participant table directly (their default manager is named ``unscoped`` to make any such use
visible, and a test scans the code for it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q

from combat_norse.core.errors import NotFound, Reason, Refused, shown
from combat_norse.sites.models import Membership, Site
from combat_norse.sites.roles import (
    CENTRAL_ROLES,
    PARTICIPANT_ROLES,
    WRITER_ROLES,
    any_masked,
)


class AccessDenied(Refused):
    """Refused by a permission: :attr:`Reason.OTHER_SITE`, :attr:`Reason.ROLE` or
    :attr:`Reason.MASKED` (``reason`` reads ``"other site"``, ``"role"``, ``"masked"``)."""

    def __init__(self, code: Reason | str, detail: str = "") -> None:
        super().__init__(Reason(str(code).replace(" ", "_")), detail)


class UnknownSite(NotFound):
    """No site with that code."""

    def __init__(self, code: str) -> None:
        super().__init__("site", f"site code {shown(code)}")


@dataclass(frozen=True)
class Scope:
    """What one user may do, by site. ``central_roles`` apply to every site."""

    user_id: int | None
    username: str
    central_roles: frozenset[str] = frozenset()
    roles_by_site: dict[int, frozenset[str]] = field(default_factory=dict)

    @property
    def roles(self) -> frozenset[str]:
        out = set(self.central_roles)
        for roles in self.roles_by_site.values():
            out |= roles
        return frozenset(out)

    def roles_at(self, site_id: int) -> frozenset[str]:
        return self.central_roles | self.roles_by_site.get(site_id, frozenset())

    def has_role(self, roles: Iterable[str], site_id: int | None = None) -> bool:
        held = self.roles if site_id is None else self.roles_at(site_id)
        return bool(held & frozenset(roles))

    def site_ids_with(self, roles: Iterable[str]) -> frozenset[int] | None:
        """Site ids where the user holds one of ``roles``; ``None`` means every site."""
        wanted = frozenset(roles)
        if self.central_roles & wanted:
            return None
        return frozenset(s for s, held in self.roles_by_site.items() if held & wanted)

    def site_q(self, roles: Iterable[str] = PARTICIPANT_ROLES, lookup: str = "site_id") -> Q:
        """A filter limiting a queryset to the sites where the user holds one of ``roles``."""
        ids = self.site_ids_with(roles)
        if ids is None:
            return Q()
        return Q(**{f"{lookup}__in": sorted(ids)})

    def is_masked_at(self, site_id: int) -> bool:
        return any_masked(self.roles_at(site_id))

    @property
    def masked_anywhere(self) -> bool:
        return any_masked(self.roles)

    def require(self, site_id: int, *, roles: Iterable[str], action: str) -> None:
        """Raise AccessDenied unless the user holds one of ``roles`` at ``site_id``."""
        held = self.roles_at(site_id)
        if not held:  # before any role check, and naming nothing of the other site
            raise AccessDenied(Reason.OTHER_SITE)
        if not held & frozenset(roles):
            raise AccessDenied(Reason.ROLE, needs(roles, action, site_id))

    def can_read_participants_at(self, site_id: int) -> bool:
        return bool(self.roles_at(site_id) & PARTICIPANT_ROLES)

    def can_write_participants_at(self, site_id: int) -> bool:
        return bool(self.roles_at(site_id) & WRITER_ROLES)


def needs(roles: Iterable[str], action: str, site_id: int | None = None) -> str:
    """What a refused user would need: ``needs site_coordinator or site_investigator at YNH to
    randomize`` (the site is one where the user holds a role, so naming it leaks nothing; no
    site is named when every role that would do is central)."""
    wanted = sorted(str(r) for r in roles)
    where = ""
    if site_id is not None and not set(wanted) <= {str(r) for r in CENTRAL_ROLES}:
        code = Site.objects.filter(pk=site_id).values_list("code", flat=True).first()
        where = f" at {code}" if code else ""
    return f"needs {' or '.join(wanted) or 'no role'}{where}" + (f" to {action}" if action else "")


ANONYMOUS = Scope(user_id=None, username="")


def scope_for(user: AbstractBaseUser | AnonymousUser | None) -> Scope:
    """The user's scope from their active memberships (inactive users get none)."""
    if not isinstance(user, User) or not user.is_authenticated or not user.is_active:
        return ANONYMOUS
    central: set[str] = set()
    by_site: dict[int, set[str]] = {}
    for role, site_id in Membership.objects.filter(user=user, active=True).values_list(
        "role", "site_id"
    ):
        if site_id is None:
            central.add(role)
        else:
            by_site.setdefault(site_id, set()).add(role)
    return Scope(
        user_id=user.pk,
        username=user.get_username(),
        central_roles=frozenset(central),
        roles_by_site={k: frozenset(v) for k, v in by_site.items()},
    )


def access_memberships(user: AbstractBaseUser | AnonymousUser | None) -> list[Membership]:
    """The user's active memberships with their sites ("my access"; none when signed out)."""
    if not isinstance(user, User) or not user.is_authenticated or not user.is_active:
        return []
    return list(
        Membership.objects.filter(user=user, active=True).select_related("site").order_by("pk")
    )


def access_sites() -> list[Site]:
    """All active sites (names, cities and zones are public in the registration)."""
    return list(Site.objects.filter(active=True).order_by("code"))


def access_site(code: str) -> Site:
    """The site with ``code`` (case-insensitive); UnknownSite otherwise."""
    try:
        return Site.objects.get(code=code.strip().upper())
    except Site.DoesNotExist:
        raise UnknownSite(code) from None
