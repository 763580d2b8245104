"""Issue 14's administrator findings: the admin cannot take over an account.

No TOTP secret is shown; a password set for another user is an audited reset that must be
changed; a user created in the admin must change the password; the admin grants no unmasked
central role alone (the server's command line does) and no administrator powers; the audit
list answers unknown lookups with 400; the account views are CSP-clean."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from combat_norse.accounts.models import PasswordState, must_change_password
from combat_norse.audit.models import AuditEvent
from combat_norse.sites.models import Membership, Site

pytestmark = [pytest.mark.django_db, pytest.mark.req("#3")]

STRONG = "marble kettle 93 saffron dune"


@pytest.fixture
def admin_client(client: Client, personas: Any, verified_login: Callable[..., None]) -> Client:
    verified_login(client, personas.sysadmin)
    return client


def secrets_of(device: TOTPDevice) -> list[str]:
    raw = device.bin_key
    return [device.key, base64.b32encode(raw).decode().rstrip("=")]


# ------------------------------------------------------------------------------ TOTP secrets
def test_no_admin_page_shows_a_totp_secret(admin_client: Client, personas: Any) -> None:
    device = TOTPDevice.objects.create(user=personas.coord, name="phone", confirmed=True)
    pages = [
        "/admin/otp_totp/totpdevice/",
        f"/admin/otp_totp/totpdevice/{device.pk}/change/",
        f"/admin/otp_totp/totpdevice/{device.pk}/config/",
        f"/admin/otp_totp/totpdevice/{device.pk}/qrcode/",
    ]
    for url in pages:
        response = admin_client.get(url, follow=True)
        text = response.content.decode()
        assert all(secret not in text for secret in secrets_of(device)), url
        assert "otpauth://" not in text, url
    assert admin_client.get("/admin/otp_totp/totpdevice/add/").status_code == 403


def test_the_admin_cannot_edit_a_device_key(admin_client: Client, personas: Any) -> None:
    device = TOTPDevice.objects.create(user=personas.coord, name="phone", confirmed=True)
    key = device.key
    response = admin_client.post(f"/admin/otp_totp/totpdevice/{device.pk}/change/", {
        "user": personas.coord.pk, "name": "phone", "confirmed": "on", "key": "00" * 20,
        "step": 30, "t0": 0, "digits": 6, "tolerance": 1, "drift": 0,
    })  # fmt: skip
    assert response.status_code == 403
    device.refresh_from_db()
    assert device.key == key


def test_removing_a_device_is_audited_without_its_secret(
    admin_client: Client, personas: Any
) -> None:
    device = TOTPDevice.objects.create(user=personas.coord, name="phone", confirmed=True)
    key = device.key
    response = admin_client.post(f"/admin/otp_totp/totpdevice/{device.pk}/delete/",
                                 {"post": "yes"})  # fmt: skip
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="delete", object_type="otp_totp.TOTPDevice")
    assert event.actor_username == "sysadmin" and key not in str(event.changes)


# ------------------------------------------------------------------------------ passwords
def test_a_password_set_in_the_admin_is_an_audited_reset_that_must_be_changed(
    admin_client: Client, personas: Any
) -> None:
    target = personas.monitor
    response = admin_client.post(f"/admin/auth/user/{target.pk}/password/", {
        "password1": STRONG, "password2": STRONG, "usable_password": "true",
    })  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:800]
    target.refresh_from_db()
    assert target.check_password(STRONG)
    assert must_change_password(target)
    event = AuditEvent.objects.get(action="password_reset")
    assert (event.actor_username, event.object_id) == ("sysadmin", str(target.pk))
    assert STRONG not in str(event.changes) and target.password not in str(event.changes)


def test_the_admin_cannot_reset_their_own_password_in_the_admin(
    admin_client: Client, personas: Any
) -> None:
    response = admin_client.post(f"/admin/auth/user/{personas.sysadmin.pk}/password/", {
        "password1": STRONG, "password2": STRONG, "usable_password": "true",
    })  # fmt: skip
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action="password_reset").exists()


def test_a_user_created_in_the_admin_must_change_the_password(admin_client: Client) -> None:
    response = admin_client.post("/admin/auth/user/add/", {
        "username": "newbie", "password1": STRONG, "password2": STRONG, "usable_password": "true",
    })  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:800]
    user = User.objects.get(username="newbie")
    assert must_change_password(user)
    assert not (user.is_staff or user.is_superuser)
    event = AuditEvent.objects.get(action="user_create", object_id=str(user.pk))
    assert event.actor_username == "sysadmin"
    assert user.password not in str(event.changes) and STRONG not in str(event.changes)


def test_the_admin_cannot_make_another_administrator(admin_client: Client, personas: Any) -> None:
    target = personas.monitor
    response = admin_client.post(f"/admin/auth/user/{target.pk}/change/", {
        "username": target.username, "email": target.email, "is_active": "on",
        "is_staff": "on", "is_superuser": "on",
    })  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:800]
    target.refresh_from_db()
    assert not (target.is_staff or target.is_superuser)


# ------------------------------------------------------------------------------ role grants
@pytest.mark.parametrize("role", ["statistician", "data_manager", "dsmb_member", "admin"])
def test_an_unmasked_central_role_is_not_granted_in_the_admin(
    role: str, admin_client: Client, personas: Any
) -> None:
    before = AuditEvent.objects.count()
    response = admin_client.post("/admin/trial_sites/membership/add/", {
        "user": personas.monitor.pk, "role": role, "site": "", "active": "on",
    })  # fmt: skip
    assert response.status_code == 200
    assert "combat-norse user add" in response.content.decode()
    assert not Membership.objects.filter(user=personas.monitor, role=role).exists()
    assert AuditEvent.objects.count() == before


def test_a_membership_cannot_be_changed_into_an_unmasked_central_role(
    admin_client: Client, personas: Any
) -> None:
    grant = Membership.objects.get(user=personas.sponsor, role="sponsor_viewer")
    response = admin_client.post(f"/admin/trial_sites/membership/{grant.pk}/change/", {
        "user": personas.sponsor.pk, "role": "statistician", "site": "", "active": "on",
    })  # fmt: skip
    assert response.status_code == 200
    grant.refresh_from_db()
    assert grant.role == "sponsor_viewer"


def test_a_masked_central_role_or_a_site_role_is_still_granted_in_the_admin(
    admin_client: Client, personas: Any
) -> None:
    response = admin_client.post("/admin/trial_sites/membership/add/", {
        "user": personas.monitor.pk, "role": "sponsor_viewer", "site": "", "active": "on",
    })  # fmt: skip
    assert response.status_code == 302
    event = AuditEvent.objects.filter(action="role_grant").latest("seq")
    assert event.actor_username == "sysadmin"
    assert event.changes["role"] == [None, "sponsor_viewer"]


def test_an_unmasked_central_role_can_be_revoked_in_the_admin(
    admin_client: Client, personas: Any
) -> None:
    grant = Membership.objects.get(user=personas.statistician, role="statistician")
    response = admin_client.post(f"/admin/trial_sites/membership/{grant.pk}/change/", {
        "user": personas.statistician.pk, "role": "statistician", "site": "",
    })  # fmt: skip
    assert response.status_code == 302
    grant.refresh_from_db()
    assert not grant.active
    assert AuditEvent.objects.filter(action="membership_change",
                                     object_id=str(grant.pk)).exists()  # fmt: skip


def test_the_admin_still_cannot_grant_itself_a_site_role(
    admin_client: Client, personas: Any
) -> None:
    response = admin_client.post("/admin/trial_sites/membership/add/", {
        "user": personas.sysadmin.pk, "role": "monitor",
        "site": Site.objects.get(code="YNH").pk, "active": "on",
    })  # fmt: skip
    assert response.status_code == 403
    assert not Membership.objects.filter(user=personas.sysadmin, role="monitor").exists()


# ------------------------------------------------------------------------------ audit list
@pytest.mark.parametrize("query", ["changes__contains=anakinra", "reason__icontains=x",
                                   "actor__password__startswith=a", "seq__gt=abc"])
def test_the_audit_list_answers_an_unknown_lookup_with_400(
    query: str, admin_client: Client
) -> None:
    response = admin_client.get(f"/admin/audit/auditevent/?{query}")
    assert response.status_code == 400


def test_the_audit_list_keeps_its_filters(admin_client: Client) -> None:
    for query in ["action__exact=login", "site_code__exact=YNH", "occurred_at__year=2025", ""]:
        assert admin_client.get(f"/admin/audit/auditevent/?{query}").status_code == 200, query


# ------------------------------------------------------------------------------ CSP
def test_pages_carry_no_inline_style_the_csp_would_block(
    client: Client, personas: Any, verified_login: Callable[..., None]
) -> None:
    verified_login(client, personas.coord)
    response = client.get("/me/")
    policy = response["Content-Security-Policy"]
    assert "style-src 'self'" in policy and "unsafe-inline" not in policy
    html = response.content.decode()
    assert "Sign out" in html
    assert "style=" not in html and "<style" not in html
    assert '/static/web/site.css' in html


def test_the_web_password_change_refuses_the_one_time_password_itself(
    client: Client, verified_login: Callable[..., None], db: Any
) -> None:
    from combat_norse.accounts.actions import do_add_user

    created = do_add_user("new.coord", "site_coordinator", ["YNH"], password=STRONG)
    verified_login(client, created.user)
    response = client.post("/accounts/password/", {
        "old_password": STRONG, "new_password1": STRONG, "new_password2": STRONG,
    })  # fmt: skip
    assert response.status_code == 200
    assert "must differ" in response.content.decode()
    assert PasswordState.objects.get(user=created.user).must_change
    assert not AuditEvent.objects.filter(action="password_changed").exists()
