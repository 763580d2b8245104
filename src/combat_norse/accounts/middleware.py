"""Security middleware: response headers and the two-factor gate for unblinded roles."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode

from combat_norse.accounts.policy import has_confirmed_device, needs_two_factor


class SecurityHeadersMiddleware:
    """Content-Security-Policy and Permissions-Policy on every response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = getattr(settings, "CONTENT_SECURITY_POLICY", "")
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        response.setdefault("Cache-Control", "no-store")  # trial data never sits in caches
        return response


# Paths a signed-in user may reach before completing two-factor authentication.
_OPEN_URL_NAMES = ("accounts:login", "accounts:logout", "accounts:2fa_setup", "accounts:2fa_verify")


def _api(request: HttpRequest) -> bool:
    """The API authenticates each request by its token (never the session) and answers 401,
    never a redirect (issue 18)."""
    return request.path.startswith("/api/")


class RequireTwoFactorMiddleware:
    """Users who hold an unblinded role (or administer the system) must pass TOTP before
    anything else; the others go straight through. Needs django_otp's OTPMiddleware first."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        verified = getattr(user, "is_verified", lambda: False)
        if _api(request):
            return self.get_response(request)
        if user.is_authenticated and needs_two_factor(user) and not verified():
            open_paths = {reverse(name) for name in _OPEN_URL_NAMES}
            static = "/" + getattr(settings, "STATIC_URL", "static/").lstrip("/")
            if request.path not in open_paths and not request.path.startswith(static):
                enrolled = has_confirmed_device(user)
                target = "accounts:2fa_verify" if enrolled else "accounts:2fa_setup"
                query = urlencode({"next": request.get_full_path()})
                return HttpResponseRedirect(f"{reverse(target)}?{query}")
        return self.get_response(request)


class RequirePasswordChangeMiddleware:
    """A user still on a one-time password changes it before anything else (after two-factor,
    so the change is made by the verified person)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from combat_norse.accounts.models import must_change_password

        user = request.user
        if not _api(request) and user.is_authenticated and must_change_password(user):
            open_paths = {reverse(name) for name in (*_OPEN_URL_NAMES, "accounts:password_change")}
            if request.path not in open_paths:
                query = urlencode({"next": request.get_full_path()})
                return HttpResponseRedirect(f"{reverse('accounts:password_change')}?{query}")
        return self.get_response(request)
