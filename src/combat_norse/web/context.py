"""What every page shows: the signed-in user, their sites, and the navigation of their roles.

The navigation is a view of the roles (which pages exist for whom); it decides nothing: each
page's ``@view_policy`` and the ``access_*``/``do_*`` it calls do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from combat_norse.allocation.access import CLOSED_REPORT_ROLES
from combat_norse.crf.access import REVIEW_ROLES  # the review worklist (SDV, locks)
from combat_norse.participants.access import ENROLLMENT_AGGREGATE_ROLES
from combat_norse.sites.access import ANONYMOUS, Scope, access_memberships, scope_for
from combat_norse.sites.roles import PARTICIPANT_ROLES, Role

if TYPE_CHECKING:
    from django.contrib.auth.models import User

SITE_TEAM = frozenset({Role.SITE_COORDINATOR, Role.SITE_INVESTIGATOR})
QUERY_READERS = PARTICIPANT_ROLES
DUE_ROLES = frozenset({Role.MONITOR, Role.DATA_MANAGER})  # missing and overdue forms by site


def page_scope(request: HttpRequest) -> Scope:
    """The reader's scope, read once per request."""
    cached = getattr(request, "_combat_norse_scope", None)
    if isinstance(cached, Scope):
        return cached
    scope = scope_for(request.user) if request.user.is_authenticated else ANONYMOUS
    request._combat_norse_scope = scope  # type: ignore[attr-defined]
    return scope


def page_actor(request: HttpRequest) -> User:
    """The signed-in user (every non-public page has one: ``view_policy`` sees to it)."""
    if not request.user.is_authenticated:
        raise TypeError("a signed-in user is required")
    return request.user


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    name: str


def _items(scope: Scope, site_codes: list[str]) -> list[NavItem]:
    roles = scope.roles
    items = [NavItem(str(_("Home")), reverse("home"), "home")]
    if roles & SITE_TEAM:
        for code in site_codes:
            items.append(NavItem(str(_("Screen a patient")) + (f" ({code})" if len(site_codes) > 1
                                 else ""), reverse("web:screen", args=[code]), "screen"))
    if roles & PARTICIPANT_ROLES:
        label = _("My participants") if roles <= {Role.OUTCOME_ASSESSOR} else _("Participants")
        items.append(NavItem(str(label), reverse("web:participants"), "participants"))
    if roles & QUERY_READERS and not roles <= {Role.OUTCOME_ASSESSOR}:
        items.append(NavItem(str(_("Queries")), reverse("web:queries"), "queries"))
    if Role.PHARMACIST in roles:
        items.append(NavItem(str(_("Allocations and doses")), reverse("web:pharmacy"),
                             "pharmacy"))  # fmt: skip
    if roles & REVIEW_ROLES:
        items.append(NavItem(str(_("Review (SDV, locks)")), reverse("web:review"), "review"))
    if roles & DUE_ROLES:
        items.append(NavItem(str(_("Missing forms")), reverse("web:missing"), "missing"))
    if roles & ENROLLMENT_AGGREGATE_ROLES:
        items.append(NavItem(str(_("Enrollment")), reverse("web:enrollment"), "enrollment"))
    if roles & CLOSED_REPORT_ROLES and not scope.masked_anywhere:
        items.append(NavItem(str(_("Closed report")), reverse("web:closed_report"),
                             "closed_report"))  # fmt: skip
    if Role.STATISTICIAN in roles:
        items.append(NavItem(str(_("Randomization")), reverse("web:randomization"),
                             "randomization"))  # fmt: skip
    items.append(NavItem(str(_("My access")), reverse("my_access"), "my_access"))
    if Role.ADMIN in roles:
        items.append(NavItem(str(_("Users and roles")), reverse("web:admin_users"), "users"))
        items.append(NavItem(str(_("Sites")), reverse("web:admin_sites"), "sites"))
        items.append(NavItem(str(_("Administration")), "/admin/", "admin"))
    return items


def navigation(request: HttpRequest) -> dict[str, Any]:
    """Template context: ``nav`` (links of the reader's roles), ``identity`` (who and where)."""
    if not request.user.is_authenticated:
        return {"nav": [], "identity": None}
    scope = page_scope(request)
    memberships = access_memberships(request.user)
    site_codes = sorted({m.site.code for m in memberships
                         if m.site is not None and m.role in SITE_TEAM})  # fmt: skip
    where = sorted({m.site.code if m.site is not None else str(_("all sites"))
                    for m in memberships})  # fmt: skip
    roles = sorted({m.get_role_display() for m in memberships})
    return {
        "nav": _items(scope, site_codes),
        "identity": {
            "username": request.user.get_username(),
            "roles": ", ".join(str(r) for r in roles) or str(_("no role yet")),
            "sites": ", ".join(where) or "—",
            "masked": scope.masked_anywhere,
        },
    }
