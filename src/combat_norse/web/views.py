"""Pages of the sites app: the public home page and "my access"."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views.i18n import set_language

from combat_norse.core.errors import Reason
from combat_norse.participants.access import access_participants
from combat_norse.participants.presenters import present_participant
from combat_norse.safety.access import access_due_work
from combat_norse.safety.presenters import present_due_work
from combat_norse.sites.access import AccessDenied, access_memberships, access_sites, scope_for
from combat_norse.sites.roles import PARTICIPANT_ROLES, Role
from combat_norse.web.context import page_scope
from combat_norse.web.policy import view_policy

# Headings of the due-work list's sections (safety.presenters.present_due_work); a section added
# there later is shown under its own key until it is named here.
DUE_SECTIONS = {
    "overdue_visits": _("Overdue visits"),
    "incomplete_forms": _("Forms in progress"),
    "open_queries": _("Open queries"),
    "unsigned_casebooks": _("Casebooks to sign"),
    "open_clocks": _("Open SAE clocks"),
    "overdue_safety_labs": _("Overdue safety labs"),
}


def due_sections(due: dict[str, Any]) -> list[dict[str, Any]]:
    """The due list's sections in order, each with its rows and their columns."""
    out = []
    for key, rows in due.items():
        if not isinstance(rows, list):
            continue
        columns: list[str] = []
        for row in rows:
            columns += [k for k in row if k not in columns]
        out.append({"key": key, "heading": str(DUE_SECTIONS.get(key, key.replace("_", " "))),
                    "columns": columns, "rows": [[(c, row.get(c)) for c in columns]
                                                 for row in rows]})  # fmt: skip
    return out


@view_policy(public=True)
def home(request: HttpRequest) -> HttpResponse:
    """Signed out: the trial and its sites. Signed in: the reader's work: the due-work list
    (site team, data manager, monitor), an assessor's assigned participants."""
    scope = page_scope(request)
    roles = scope.roles
    if roles and roles <= {Role.OUTCOME_ASSESSOR}:
        found = access_participants(scope).select_related("screening").order_by("study_id")
        rows = [present_participant(p, scope) for p in found[:500]]
        return render(request, "web/pages/assessor_home.html", {"rows": rows})
    if roles & (PARTICIPANT_ROLES - {Role.STATISTICIAN, Role.PHARMACIST}):
        now = timezone.now()  # the same call as `combat-norse due` (cli/safety_cmds.py)
        due = present_due_work(access_due_work(scope, now=now), None, now)
        return render(request, "web/pages/due.html", {"sections": due_sections(due)})
    sites = access_sites()
    return render(request, "web/home.html", {"site_count": len(sites), "sites": sites})


@view_policy(public=True)
def language(request: HttpRequest) -> HttpResponse:
    """Choose the pages' language: a form (GET) posting to Django's ``set_language`` (the
    choice is kept in a cookie holding only the language code)."""
    if request.method == "POST":
        return set_language(request)
    return render(request, "web/language.html", {"next": request.GET.get("next", "/")})


@view_policy()
def my_access(request: HttpRequest) -> HttpResponse:
    """The signed-in user's memberships and what they mean (site scope, masking)."""
    if not request.user.is_authenticated:  # view_policy admits signed-in users only
        raise AccessDenied(Reason.ROLE, "sign in")
    scope = scope_for(request.user)
    memberships = access_memberships(request.user)
    rows = [
        {
            "role": m.get_role_display(),
            "site": m.site.code if m.site else "all sites",
            "masked": scope.is_masked_at(m.site_id) if m.site_id else scope.masked_anywhere,
        }
        for m in memberships
    ]
    return render(request, "web/my_access.html", {"rows": rows})


@view_policy(public=True)
def admin_login_redirect(request: HttpRequest) -> HttpResponse:
    """The admin signs in through the same hardened page (lockout, two-factor). A signed-in
    user who is not staff is refused here: the sign-in page would send them straight back to
    /admin/, which sends them here again (an endless redirect loop)."""
    if request.user.is_authenticated and not request.user.is_staff:
        raise AccessDenied("role", "the admin is for system administrators")
    next_url = request.GET.get("next", "/admin/")
    return HttpResponseRedirect(f"{reverse('accounts:login')}?{urlencode({'next': next_url})}")


@view_policy()
def my_tokens(request: HttpRequest) -> HttpResponse:
    """The signed-in user's API tokens: create one (shown once, on this answer only), revoke
    one; the list shows prefixes and dates, never a token."""
    from django.shortcuts import redirect

    from combat_norse.accounts.presenters import present_token
    from combat_norse.accounts.tokens import do_create_token, do_revoke_token, tokens_of
    from combat_norse.core.errors import BadInput

    user = request.user
    if not user.is_authenticated:  # view_policy admits signed-in users only
        raise AccessDenied(Reason.ROLE, "sign in")
    new_token = None
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            do_revoke_token(user, user, request.POST.get("prefix", "")[:16])
            return redirect("my_tokens")
        raw = request.POST.get("expires_days", "").strip()
        if raw and not (raw.isdigit() and len(raw) <= 4):
            raise BadInput("expires_days", str(_("expires_days: a whole number of days")))
        new_token = do_create_token(user, user, expires_days=int(raw) if raw else None).token
    rows = [present_token(t) for t in tokens_of(user)]
    response = render(request, "web/my_tokens.html", {"rows": rows, "new_token": new_token})
    response["Cache-Control"] = "no-store"  # the token is on this answer only
    return response
