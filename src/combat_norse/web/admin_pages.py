"""The system administrator's pages: accounts and their roles, and the sites (§11: users,
sites, settings; no participant data). Each calls the accounts app's actions, the same ones
as ``combat-norse user add``: :func:`~combat_norse.accounts.actions.do_admin_grant` (which
refuses a grant to oneself and an unmasked central role, like the admin's own form) and
:func:`~combat_norse.accounts.actions.do_admin_revoke`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _

from combat_norse.accounts.access import access_accounts
from combat_norse.accounts.actions import do_admin_grant, do_admin_revoke
from combat_norse.accounts.presenters import present_account, present_new_user
from combat_norse.core.errors import BadInput, Refused
from combat_norse.sites.access import access_sites
from combat_norse.sites.presenters import present_site
from combat_norse.sites.roles import SITE_ROLES, Role, unmasked_central_roles
from combat_norse.web.context import page_actor
from combat_norse.web.policy import view_policy

if TYPE_CHECKING:
    from django.contrib.auth.models import User

MAX_FIELD = 200


def _grantable_roles() -> list[tuple[str, str, bool]]:
    """(code, label, is a site role) of the roles this page may grant (the others take the
    second person's command line, and the action refuses them anyway)."""
    blocked = unmasked_central_roles()
    return [(r.value, str(r.label), r.value in SITE_ROLES) for r in Role if r.value not in blocked]


def _grant(actor: User, posted: Any) -> tuple[dict[str, Any] | None, str]:
    username = str(posted.get("username", "")).strip()[:MAX_FIELD]
    role = str(posted.get("role", "")).strip()[:MAX_FIELD]
    sites = [str(c)[:MAX_FIELD] for c in posted.getlist("site") if str(c).strip()]
    email = str(posted.get("email", "")).strip()[:MAX_FIELD]
    created = do_admin_grant(actor, username, role, sites, email=email)
    shown = present_new_user(created)
    shown["one_time_password"] = created.one_time_password
    return shown, ""


@view_policy(roles={Role.ADMIN})
def users(request: HttpRequest) -> HttpResponse:
    """GET: every account with its roles; POST ``action=grant``: add a user or a role to one
    (the one-time password is shown once, on this answer only); POST ``action=revoke``
    withdraws a membership."""
    actor = page_actor(request)
    created: dict[str, Any] | None = None
    revoked = ""
    problem = ""
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "grant":
                created, problem = _grant(actor, request.POST)
            elif action == "revoke":
                raw = str(request.POST.get("membership", ""))
                if not raw.isdigit() or len(raw) > 12:
                    raise BadInput("membership", "a membership number")
                m = do_admin_revoke(actor, int(raw))
                revoked = _("%(role)s of %(user)s withdrawn") % {"role": m.role,
                                                                    "user": m.user.username}
            else:
                raise BadInput("action", "grant or revoke")
        except BadInput as exc:
            problem, status = str(exc), 400
        except Refused as exc:
            problem, status = exc.text, 403
    response = render(request, "web/pages/admin_users.html", {
        "accounts": [present_account(u) for u in access_accounts(actor)],
        "roles": _grantable_roles(),
        "sites": [present_site(s) for s in access_sites()],
        "created": created, "revoked": revoked, "problem": problem,
        "posted": request.POST if problem else {},
    }, status=status)  # fmt: skip
    add_never_cache_headers(response)  # a one-time password may be on it
    return response


@view_policy(roles={Role.ADMIN})
def sites(request: HttpRequest) -> HttpResponse:
    """The sites with code, city, country, zone and region (``combat-norse sites``)."""
    return render(request, "web/pages/admin_sites.html",
                  {"sites": [present_site(s) for s in access_sites()]})  # fmt: skip
