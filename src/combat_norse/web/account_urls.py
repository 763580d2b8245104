"""The account pages (sign-in, sign-out, two-factor, password change) with their
``@view_policy`` declarations: the views live in the accounts app, which sits below ``web``, so
the declarations are made here, where the pages are wired (namespace ``accounts``)."""

from __future__ import annotations

from django.urls import path

from combat_norse.accounts import views
from combat_norse.web.policy import view_policy

app_name = "accounts"

login = view_policy(public=True)(views.LoginView.as_view())
logout = view_policy(public=True)(views.LogoutView.as_view())  # POST only (405 for GET)
two_factor_setup = view_policy()(views.two_factor_setup)
two_factor_verify = view_policy()(views.two_factor_verify)
password_change = view_policy()(views.PasswordChangeView.as_view())

urlpatterns = [
    path("login/", login, name="login"),
    path("logout/", logout, name="logout"),
    path("2fa/setup/", two_factor_setup, name="2fa_setup"),
    path("2fa/verify/", two_factor_verify, name="2fa_verify"),
    path("password/", password_change, name="password_change"),
]
