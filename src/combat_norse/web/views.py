"""Pages of the sites app: the public home page and "my access"."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode

from combat_norse.core.errors import Reason
from combat_norse.sites.access import AccessDenied, access_memberships, access_sites, scope_for
from combat_norse.web.policy import view_policy


@view_policy(public=True)
def home(request: HttpRequest) -> HttpResponse:
    sites = access_sites()
    return render(request, "web/home.html", {"site_count": len(sites), "sites": sites})


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
