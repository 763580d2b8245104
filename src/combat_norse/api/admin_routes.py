"""The system administrator's routes (the pages ``/administration/users/`` and ``/sites/``;
the sites are ``GET /sites``): every account with its roles, a grant and a withdrawal, through
the pages' :func:`~combat_norse.accounts.actions.do_admin_grant` and ``do_admin_revoke`` with
the same refusals: nobody grants or withdraws their own roles, an unmasked central role
(statistician, data manager, DSMB member, admin) takes the second person on the server's
command line (``user add``), and a withdrawal that would leave a masked user unmasked is
refused (that is a deliberate unmasking). Refusals are audited by the actions. And the token
user's own tokens (the page ``/me/tokens/``): list and revoke."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers
from ninja import Field, Query, Router

from combat_norse.api import schemas as s
from combat_norse.api.base import In, actor, listing, read_audited, typed
from combat_norse.api.routes import Page

router = Router()
MAX_FIELD = 200  # as the page's form fields


@router.get("/admin/users", **typed(s.Accounts), tags=["administration"])
def users(request: HttpRequest, response: HttpResponse, page: Query[Page],
          role: str | None = None, site: str | None = None,
          active: bool | None = None) -> dict[str, Any]:  # fmt: skip
    """Every account with its memberships (``id`` for a withdrawal), whether it is active and
    has two-factor set up; never a password or a key. ``role``/``site`` keep the accounts
    holding an active membership of that role / at that site."""
    from combat_norse.accounts.access import access_accounts
    from combat_norse.accounts.presenters import present_account

    with read_audited(request):
        accounts = access_accounts(actor(request))
    rows = [present_account(u) for u in accounts]
    for row in rows:
        login = row["last_login"]
        row["last_login"] = login.isoformat() if login is not None else None
    site = site.strip().upper() if site is not None else None
    rows = [r for r in rows
            if (role is None and site is None)
            or any(m["active"] and (role is None or m["role"] == role)
                   and (site is None or m["site"] == site) for m in r["memberships"])]  # fmt: skip
    return listing(response, {"users": rows}, "users", limit=page.limit, offset=page.offset,
                   active=None if active is None else str(active))  # fmt: skip


class GrantIn(In):
    username: str = Field(max_length=MAX_FIELD)
    role: str = Field(max_length=MAX_FIELD)
    sites: list[str] = Field(default_factory=list, max_length=100,
                             description="site codes (a site role needs at least one)")
    email: str = Field("", max_length=MAX_FIELD)


@router.post("/admin/grants", **typed(s.Granted), tags=["administration"])
def grant(request: HttpRequest, response: HttpResponse, body: GrantIn) -> dict[str, Any]:
    """Add a user, or a role to a user (``{"username", "role", "sites"}``, as ``user add``
    prints). A new user's generated one-time password is in ``one_time_password``, on this
    answer only (null for an existing user: their password is left alone)."""
    from combat_norse.accounts.actions import do_admin_grant
    from combat_norse.accounts.presenters import present_new_user

    sites = [c[:MAX_FIELD] for c in body.sites if c.strip()]
    created = do_admin_grant(actor(request), body.username.strip(), body.role.strip(), sites,
                             email=body.email.strip())  # fmt: skip
    shown = present_new_user(created)
    shown["one_time_password"] = created.one_time_password
    add_never_cache_headers(response)  # a one-time password may be on it
    return shown


class RevokeIn(In):
    # strict: a JSON integer only (lax mode read true as 1 and "5" or 5.0 as 5)
    membership: int = Field(ge=1, le=2**63 - 1, strict=True,
                            description="a membership id (GET /admin/users)")


@router.post("/admin/revocations", **typed(s.Revoked), tags=["administration"])
def revoke(request: HttpRequest, body: RevokeIn) -> dict[str, Any]:
    """Withdraw a role: the membership stays, inactive, with its history (``role_revoke``).
    A membership that is not active is bad input."""
    from combat_norse.accounts.actions import do_admin_revoke

    m = do_admin_revoke(actor(request), body.membership)
    return {"membership": m.pk, "username": m.user.username, "role": m.role,
            "site": m.site.code if m.site else None, "active": m.active}  # fmt: skip


# ---------------------------------------------------------------- one's own tokens (/me/tokens/)
@router.get("/me/tokens", **typed(s.Tokens), tags=["tokens"])
def my_tokens(request: HttpRequest) -> dict[str, Any]:
    """The token user's own API tokens, newest first (``token list``): prefixes, dates and
    state, never a token. A new token is made on ``/me/tokens/`` or by the server's operator
    (``token create``), never with a token: a stolen one must not outlive its expiry."""
    from combat_norse.accounts.presenters import present_token
    from combat_norse.accounts.tokens import tokens_of

    return {"tokens": [present_token(t) for t in tokens_of(actor(request))]}


@router.post("/me/tokens/{prefix}/revoke", **typed(s.TokenOut), tags=["tokens"])
def my_token_revoke(request: HttpRequest, prefix: str) -> dict[str, Any]:
    """Revoke one of one's own tokens (``token revoke``; the one in use too: it is refused from
    the next request on). Another user's or an unknown prefix is 404; a revoked token stays
    as it was."""
    from combat_norse.accounts.presenters import present_token
    from combat_norse.accounts.tokens import do_revoke_token

    user = actor(request)
    return present_token(do_revoke_token(user, user, prefix))
