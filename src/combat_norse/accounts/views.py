"""Sign-in, sign-out and TOTP two-factor pages (thin: the work is django-otp's)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from combat_norse.audit.api import record_event


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


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change (old password, validators), then the one-time flag is cleared
    and the change is audited (never the password)."""

    template_name = "accounts/password_change.html"

    def get_success_url(self) -> str:
        return _next_url(self.request)

    def form_valid(self, form: Any) -> HttpResponse:
        from django.utils import timezone

        from combat_norse.accounts.models import PasswordState

        with transaction.atomic():
            response = super().form_valid(form)
            user = self.request.user
            PasswordState.objects.update_or_create(
                user=user, defaults={"must_change": False, "changed_at": timezone.now()}
            )
            record_event(actor=user, action="password_changed", object_type="auth.User",
                         object_id=str(user.pk))  # fmt: skip
        return response


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
                    action="two_factor_enrolled",
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
                action="two_factor_failed",
                object_type="auth.User",
                object_id=str(user.pk),
            )
        form.add_error("token", "That code did not match.")
    return render(request, "accounts/2fa_verify.html", {"form": form, "next": _next_url(request)})


def _base32(raw: bytes) -> str:
    import base64

    return base64.b32encode(raw).decode("ascii").rstrip("=")
