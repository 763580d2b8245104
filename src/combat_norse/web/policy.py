"""Every view declares who may reach it (``@view_policy``); the persona-matrix test walks the
URL resolver and fails on any view without a declaration, then checks each persona against it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponseBase

from combat_norse.sites.access import AccessDenied, scope_for

V = TypeVar("V", bound=Callable[..., HttpResponseBase])


@dataclass(frozen=True)
class ViewPolicy:
    public: bool = False
    roles: frozenset[str] | None = None  # None: any signed-in user
    scoped_object: bool = False  # the URL names one participant-scoped object (site checked)
    keeps_drafts: bool = False  # a POST after the session expired is kept (web/drafts.py)

    def allows_roles(self, held: Iterable[str]) -> bool:
        return self.public or self.roles is None or bool(self.roles & frozenset(held))


def view_policy(
    *, public: bool = False, roles: Iterable[str] | None = None, scoped_object: bool = False,
    keeps_drafts: bool = False,
) -> Callable[[V], V]:
    policy = ViewPolicy(
        public=public,
        roles=None if roles is None else frozenset(roles),
        scoped_object=scoped_object,
        keeps_drafts=keeps_drafts,
    )

    def decorate(view: V) -> V:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not policy.public:
                if not request.user.is_authenticated:
                    if policy.keeps_drafts and request.method == "POST":
                        from combat_norse.web import drafts

                        drafts.keep(request)
                    return redirect_to_login(request.get_full_path())
                if not policy.allows_roles(scope_for(request.user).roles):
                    raise AccessDenied("role", "this page is not for your role")
            return view(request, *args, **kwargs)

        wrapper.view_policy = policy  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate
