"""Sign-in hardening: lockout per username, the audit of sign-in events, Argon2 and the
password rules, TOTP for unblinded roles, expiry of idle sessions, security headers and CSRF."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db.models import F
from django.forms.models import model_to_dict
from django.test import Client, override_settings
from django_otp.plugins.otp_totp.models import TOTPDevice

from combat_norse.accounts.actions import do_add_user
from combat_norse.accounts.policy import needs_two_factor
from combat_norse.audit.models import AuditEvent
from combat_norse.sites.roles import SITE_ROLES, Role, is_masked

pytestmark = [pytest.mark.django_db, pytest.mark.req("#3")]

LOGIN = "/accounts/login/"
SETUP = "/accounts/2fa/setup/"
VERIFY = "/accounts/2fa/verify/"
PASSPHRASE = "a long sign-in passphrase 19"
WRONG = "Tr0ub4dor&3-not-it"


@pytest.fixture
def passphrase(personas: Any) -> str:
    """Every persona signs in with PASSPHRASE."""
    for user in personas.users.values():
        user.set_password(PASSPHRASE)
        user.save()
    return PASSPHRASE


def sign_in(client: Client, username: str, password: str, **extra: Any) -> Any:
    return client.post(LOGIN, {"username": username, "password": password}, **extra)


def signed_in_as(client: Client) -> str | None:
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id).username if user_id else None


def text_of(event: AuditEvent) -> str:
    return repr(model_to_dict(event)) + repr(event.changes) + event.reason


# ------------------------------------------------------------------------------ lockout
def test_five_failures_lock_the_username_even_against_the_right_password(
    passphrase: str,
) -> None:  # fmt: skip
    limit = settings.AXES_FAILURE_LIMIT
    assert limit == 5  # LOGIN_FAILURE_LIMIT's default
    client = Client()
    answers = [sign_in(client, "coord", WRONG).status_code for _ in range(limit)]
    assert answers == [200] * (limit - 1) + [429]  # the 5th failure locks
    locked = sign_in(client, "coord", passphrase)
    assert locked.status_code == 429
    assert "Account locked" in locked.content.decode()
    assert signed_in_as(client) is None
    # The lock is on the username, not the address: a whole hospital shares one NAT address.
    elsewhere = sign_in(Client(), "coord", passphrase, REMOTE_ADDR="10.20.30.40")
    assert elsewhere.status_code == 429
    colleague = Client()
    assert sign_in(colleague, "investigator", passphrase).status_code == 302
    assert signed_in_as(colleague) == "investigator"


@pytest.mark.parametrize("command", [["axes_reset"], ["axes_reset_username", "coord"]])
def test_an_administrator_unlocks_a_locked_username(command: list[str], passphrase: str) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "coord", WRONG)
    assert sign_in(client, "coord", passphrase).status_code == 429
    call_command(*command, stdout=io.StringIO())
    assert sign_in(client, "coord", passphrase).status_code == 302
    assert signed_in_as(client) == "coord"


def test_the_lock_lifts_after_the_cool_off_period_counted_from_the_lockout(
    passphrase: str,
) -> None:  # fmt: skip
    cool_off = timedelta(hours=settings.AXES_COOLOFF_TIME)
    assert cool_off == timedelta(minutes=30)  # LOGIN_LOCKOUT_MINUTES' default

    def age_attempts(by: timedelta) -> None:
        AccessAttempt.objects.filter(username="coord").update(attempt_time=F("attempt_time") - by)

    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "coord", WRONG)
    age_attempts(cool_off - timedelta(minutes=1))
    assert sign_in(client, "coord", passphrase).status_code == 429  # still locked at 29 min
    assert sign_in(client, "coord", WRONG).status_code == 429  # a try now restarts nothing
    age_attempts(timedelta(minutes=2))
    assert sign_in(client, "coord", passphrase).status_code == 302
    assert signed_in_as(client) == "coord"


def test_a_success_before_the_limit_starts_the_count_again(passphrase: str) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "coord", WRONG)
    assert sign_in(client, "coord", passphrase).status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, "coord", WRONG).status_code == 200
    assert sign_in(client, "coord", passphrase).status_code == 302


def test_failed_sign_ins_are_audited_without_the_password(passphrase: str) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "coord", WRONG)
    sign_in(client, "coord", passphrase)  # refused: locked
    sign_in(client, "nobody-here", WRONG)
    failed = list(AuditEvent.objects.filter(action="login_failed"))
    assert [e.changes["username"][1] for e in failed].count("coord") == \
        settings.AXES_FAILURE_LIMIT + 1  # fmt: skip
    assert any(e.changes["username"][1] == "nobody-here" for e in failed)
    for event in failed:
        assert event.actor_id is None
        assert WRONG not in text_of(event) and passphrase not in text_of(event)
    for attempt in AccessAttempt.objects.all():  # the lockout's own records
        assert WRONG not in attempt.post_data and passphrase not in attempt.post_data


def test_sign_in_and_sign_out_are_audited(passphrase: str) -> None:
    client = Client()
    sign_in(client, "assessor", passphrase)
    client.post("/accounts/logout/")
    actions = list(AuditEvent.objects.filter(actor_username="assessor")
                   .values_list("action", flat=True))  # fmt: skip
    assert actions[-2:] == ["login", "logout"]
    assert all(passphrase not in text_of(e) for e in AuditEvent.objects.all())


# ------------------------------------------------------------------------------ passwords
@pytest.mark.real_password_hashing
def test_new_passwords_are_hashed_with_argon2() -> None:
    user = do_add_user("newcomer", Role.MONITOR, ["YNH"]).user
    assert user.password.startswith("argon2")  # the one-time password
    user.set_password(PASSPHRASE)
    assert user.password.startswith("argon2$argon2id$")
    assert user.check_password(PASSPHRASE)


@pytest.mark.real_password_hashing
def test_an_older_hash_is_upgraded_to_argon2_at_sign_in() -> None:
    user = User.objects.create(username="legacy")
    user.password = PBKDF2PasswordHasher().encode(PASSPHRASE, "legacysalt", iterations=1000)
    user.save()
    assert sign_in(Client(), "legacy", PASSPHRASE).status_code == 302
    user.refresh_from_db()
    assert user.password.startswith("argon2")


def test_password_validators_reject_password123() -> None:
    with pytest.raises(ValidationError) as rejected:
        validate_password("password123")
    codes = {e.code for e in rejected.value.error_list}
    assert {"password_too_short", "password_too_common"} <= codes
    with pytest.raises(ValidationError):
        validate_password("123456789012")  # long enough but entirely numeric
    validate_password(PASSPHRASE)


# ------------------------------------------------------------------------------ two factor
def test_unblinded_roles_and_administrators_need_two_factor_and_masked_roles_do_not() -> None:
    for role in Role:
        user = do_add_user(f"r-{role.replace('_', '-')}", role,
                           ["YNH"] if role in SITE_ROLES else []).user  # fmt: skip
        assert needs_two_factor(user) is (not is_masked(role)), role
    staff = User.objects.create(username="staffer", is_staff=True)
    assert needs_two_factor(staff)


def test_coordinator_without_a_device_must_enrol_totp_before_any_page(
    passphrase: str, authenticator: Any,
) -> None:  # fmt: skip
    client = Client()
    assert sign_in(client, "coord", passphrase).status_code == 302
    gate = client.get("/me/")
    assert (gate.status_code, gate["Location"]) == (302, f"{SETUP}?next=%2Fme%2F")
    page = client.get(gate["Location"])
    assert page.status_code == 200
    device = TOTPDevice.objects.get(user__username="coord")
    assert not device.confirmed
    enrolled = client.post(SETUP, {"token": authenticator.token(device), "next": "/me/"})
    assert (enrolled.status_code, enrolled["Location"]) == (302, "/me/")
    assert client.get("/me/").status_code == 200
    device.refresh_from_db()
    assert device.confirmed
    assert AuditEvent.objects.filter(action="two_factor_enrolled",
                                     actor_username="coord").exists()  # fmt: skip


def test_coordinator_with_a_device_reaches_pages_only_after_the_current_code(
    passphrase: str, authenticator: Any,
) -> None:  # fmt: skip
    device = authenticator.device(User.objects.get(username="coord"))
    client = Client()
    sign_in(client, "coord", passphrase)
    for page in ("/me/", "/"):
        gate = client.get(page)
        assert gate.status_code == 302 and gate["Location"].startswith(f"{VERIFY}?next=")
    verified = client.post(VERIFY, {"token": authenticator.token(device), "next": "/me/"})
    assert (verified.status_code, verified["Location"]) == (302, "/me/")
    assert client.get("/me/").status_code == 200


def test_a_wrong_code_keeps_the_coordinator_out(passphrase: str, authenticator: Any) -> None:
    device = authenticator.device(User.objects.get(username="coord"))
    client = Client()
    sign_in(client, "coord", passphrase)
    refused = client.post(VERIFY, {"token": authenticator.wrong(device), "next": "/me/"})
    assert refused.status_code == 200
    assert "did not match" in refused.content.decode()
    assert client.get("/me/")["Location"].startswith(VERIFY)
    assert AuditEvent.objects.filter(action="two_factor_failed", actor_username="coord").exists()
    malformed = client.post(VERIFY, {"token": "12ab56"})
    assert malformed.status_code == 200 and client.get("/me/").status_code == 302


def test_a_code_cannot_send_the_user_to_another_site(passphrase: str, authenticator: Any) -> None:
    device = authenticator.device(User.objects.get(username="coord"))
    client = Client()
    sign_in(client, "coord", passphrase)
    answer = client.post(VERIFY, {"token": authenticator.token(device),
                                  "next": "https://evil.example/phish"})  # fmt: skip
    assert answer.status_code == 302 and answer["Location"] == "/"


def test_outcome_assessor_reaches_pages_without_a_second_factor(passphrase: str) -> None:
    client = Client()
    assert sign_in(client, "assessor", passphrase).status_code == 302
    assert client.get("/me/").status_code == 200
    assert not TOTPDevice.objects.filter(user__username="assessor").exists()


def test_the_two_factor_pages_need_a_signed_in_user() -> None:
    for page in (SETUP, VERIFY):
        answer = Client().get(page)
        assert answer.status_code == 302 and answer["Location"].startswith(f"{LOGIN}?next=")


def test_signing_out_ends_the_second_factor_too(
    personas: Any, client_for: Any,
) -> None:  # fmt: skip
    client = client_for(personas.coord)
    assert client.get("/me/").status_code == 200
    client.post("/accounts/logout/")
    client.force_login(personas.coord)
    assert client.get("/me/")["Location"].startswith(VERIFY)


# ------------------------------------------------------------------------------ idle sessions
def test_a_session_expires_after_the_idle_time_and_each_request_extends_it(
    personas: Any, client_for: Any, clock: Any,
) -> None:  # fmt: skip
    idle = settings.SESSION_COOKIE_AGE
    assert idle == 30 * 60 and settings.SESSION_SAVE_EVERY_REQUEST
    clock.set(0)
    client = client_for(personas.coord)  # with the second factor
    clock.set(idle - 60)
    assert client.get("/me/").status_code == 200
    clock.set(2 * idle - 120)  # longer than the idle time since sign-in, not since the last use
    assert client.get("/me/").status_code == 200
    clock.set(3 * idle - 119)  # the idle time plus one second since the last request
    expired = client.get("/me/")
    assert (expired.status_code, expired["Location"]) == (302, f"{LOGIN}?next=/me/")


def test_an_idle_masked_users_session_expires_too(
    personas: Any, client_for: Any, clock: Any,
) -> None:  # fmt: skip
    clock.set(0)
    client = client_for(personas.assessor)
    clock.set(settings.SESSION_COOKIE_AGE + 1)
    assert client.get("/me/")["Location"].startswith(LOGIN)


# ------------------------------------------------------------------------------ headers, CSRF
@pytest.mark.parametrize("page", ["/", LOGIN, "/me/"])
def test_responses_carry_the_security_headers(page: str) -> None:
    answer = Client().get(page)
    assert answer["Content-Security-Policy"] == settings.CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in answer["Content-Security-Policy"]
    assert answer["X-Frame-Options"] == "DENY"
    assert answer["X-Content-Type-Options"] == "nosniff"
    assert answer["Referrer-Policy"] == "same-origin"
    assert "no-store" in answer["Cache-Control"]
    assert "Strict-Transport-Security" not in answer  # plain HTTP


def test_strict_transport_security_is_sent_only_on_https() -> None:
    with override_settings(SECURE_HSTS_SECONDS=3600):
        assert "Strict-Transport-Security" not in Client().get("/")
        secure = Client().get("/", secure=True)
    assert secure["Strict-Transport-Security"] == "max-age=3600; includeSubDomains"


def test_a_sign_in_post_without_the_csrf_token_is_refused(passphrase: str) -> None:
    client = Client(enforce_csrf_checks=True)
    assert sign_in(client, "coord", passphrase).status_code == 403
    assert signed_in_as(client) is None
    form = client.get(LOGIN)
    token = form.cookies["csrftoken"].value
    answer = client.post(LOGIN, {"username": "coord", "password": passphrase,
                                 "csrfmiddlewaretoken": token})  # fmt: skip
    assert answer.status_code == 302 and signed_in_as(client) == "coord"
    assert client.cookies[settings.SESSION_COOKIE_NAME]["httponly"]
