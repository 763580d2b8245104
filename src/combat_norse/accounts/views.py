"""Sign-in, sign-out and TOTP two-factor pages (thin: the work is django-otp's).

The web layer wires them with their ``@view_policy`` declarations (web/account_urls.py: sign-in
and sign-out public, the others for a signed-in user), which the persona matrix checks; this app
sits below ``web`` and does not import it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString, mark_safe
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from combat_norse.accounts.actions import check_new_password, do_change_password
from combat_norse.audit.api import record_event
from combat_norse.audit.vocabulary import AuditAction
from combat_norse.core.errors import BadInput


class TokenForm(forms.Form):
    token = forms.RegexField(
        regex=r"^\d{6}$",
        max_length=6,
        label="6-digit code",
        error_messages={"invalid": "Enter the 6-digit code."},
    )


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("home")


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


class OwnPasswordChangeForm(PasswordChangeForm):
    """Django's form (current password, validators) plus the core's rule: the new password
    differs from the current one (a one-time password cannot be "changed" to itself)."""

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        current, new = data.get("old_password"), data.get("new_password1")
        if current and new and "old_password" not in self.errors:
            try:
                check_new_password(self.user, current, new)
            except BadInput as exc:
                self.add_error("new_password1", exc.message)
        return data


class PasswordChangeView(auth_views.PasswordChangeView):
    """The user's own password change, through ``do_change_password`` (which clears the
    one-time flag and audits ``password_changed``, never the password)."""

    template_name = "accounts/password_change.html"
    form_class = OwnPasswordChangeForm

    def get_success_url(self) -> str:
        return _next_url(self.request)

    def form_valid(self, form: Any) -> HttpResponse:
        user = self.request.user
        if not isinstance(user, User):  # the view requires a signed-in user
            return HttpResponseRedirect(reverse("accounts:login"))
        do_change_password(user, form.cleaned_data["old_password"],
                           form.cleaned_data["new_password1"])  # fmt: skip
        update_session_auth_hash(self.request, user)
        return HttpResponseRedirect(self.get_success_url())


@login_required
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    """Enrol a TOTP authenticator: show the secret once, confirm with a first code."""
    user = request.user
    if not isinstance(user, User):  # login_required guarantees a signed-in user
        return HttpResponseRedirect(reverse("accounts:login"))
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        return HttpResponseRedirect(reverse("accounts:2fa_verify"))
    device, _ = TOTPDevice.objects.get_or_create(
        user=user, confirmed=False, defaults={"name": "authenticator"}
    )
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            with transaction.atomic():
                device.confirmed = True
                device.save()
                # an audit action starts with a letter ("2fa_..." was refused: a 500)
                record_event(
                    actor=user,
                    action=AuditAction.TWO_FACTOR_ENROLLED,
                    object_type="otp_totp.TOTPDevice",
                    object_id=str(device.pk),
                )
            otp_login(request, device)
            return HttpResponseRedirect(_next_url(request))
        form.add_error("token", "That code did not match; check the clock of your device.")
    return render(
        request,
        "accounts/2fa_setup.html",
        {
            "form": form,
            "secret": _base32(device.bin_key),
            "config_url": device.config_url,
            "qr_svg": qr_svg(device.config_url),
            "next": _next_url(request),
        },
    )


@login_required
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not isinstance(user, User):  # login_required guarantees a signed-in user
        return HttpResponseRedirect(reverse("accounts:login"))
    devices = list(TOTPDevice.objects.filter(user=user, confirmed=True))
    if not devices:
        return HttpResponseRedirect(reverse("accounts:2fa_setup"))
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        for device in devices:
            if device.verify_token(form.cleaned_data["token"]):
                otp_login(request, device)
                return HttpResponseRedirect(_next_url(request))
        with transaction.atomic():
            record_event(
                actor=user,
                action=AuditAction.TWO_FACTOR_FAILED,
                object_type="auth.User",
                object_id=str(user.pk),
            )
        form.add_error("token", "That code did not match.")
    return render(request, "accounts/2fa_verify.html", {"form": form, "next": _next_url(request)})


def qr_svg(uri: str) -> SafeString:
    """The ``otpauth://`` URI as an inline SVG QR code (segno; no image file, no Pillow), for an
    authenticator app's camera. Error correction M; dark on white whatever the page's colours."""
    import segno

    svg = segno.make(uri, error="m").svg_inline(scale=5, border=4, dark="#000", light="#fff",
                                                 omitsize=False, svgclass="cn-qr")  # fmt: skip
    return mark_safe(svg)  # noqa: S308 — segno writes the SVG; the URI is encoded, not inserted


def _base32(raw: bytes) -> str:
    import base64

    return base64.b32encode(raw).decode("ascii").rstrip("=")
