"""Helpers for the access-control and sign-in tests: signing a persona in (with or without a
completed TOTP step), the codes of an authenticator app, and a movable clock. (Passwords are
hashed with MD5 here by tests/conftest.py unless a test is marked ``real_password_hashing``.)"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from combat_norse.accounts.policy import needs_two_factor


def confirmed_device(user: User) -> TOTPDevice:
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)


def current_token(device: TOTPDevice) -> str:
    """The 6-digit code the user's authenticator shows now."""
    device.refresh_from_db()
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits,
                drift=device.drift)  # fmt: skip
    return f"{code:0{device.digits}d}"


def wrong_token(device: TOTPDevice) -> str:
    """A 6-digit code that matches none of the windows the device tolerates around now."""
    valid = set()
    for offset in range(-device.tolerance - 1, device.tolerance + 2):
        valid.add(totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits,
                       drift=device.drift + offset))  # fmt: skip
    return f"{next(n for n in range(10**6) if n not in valid):06d}"


def sign_in(client: Client, user: User, *, second_factor: bool = True) -> Client:
    """Sign ``user`` in; when they must use two-factor and ``second_factor`` is set, the
    session is marked as verified by a confirmed TOTP device (what ``django_otp.login`` does)."""
    client.force_login(user)
    if second_factor and needs_two_factor(user):
        device = confirmed_device(user)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


@pytest.fixture
def client_for() -> Callable[..., Client]:
    """client_for(user | None, second_factor=True, **Client kwargs) -> a signed-in Client."""

    def _client(user: User | None, *, second_factor: bool = True, **kwargs: Any) -> Client:
        client = Client(**kwargs)
        if user is not None:
            sign_in(client, user, second_factor=second_factor)
        return client

    return _client


class Totp:
    """The user's authenticator app: a confirmed device and the codes it shows."""

    device = staticmethod(confirmed_device)
    token = staticmethod(current_token)
    wrong = staticmethod(wrong_token)


@pytest.fixture
def authenticator() -> type[Totp]:
    return Totp


class Clock:
    """Moves Django's clock (``django.utils.timezone.now``, which the session store and the
    audit trail read) to ``start + seconds``; ``start`` is the real time at set-up."""

    def __init__(self) -> None:
        self.start = timezone.now()
        self._patch: Any = None

    def set(self, seconds: float) -> datetime:
        moment = self.start + timedelta(seconds=seconds)
        self.stop()
        self._patch = mock.patch("django.utils.timezone.now", return_value=moment)
        self._patch.start()
        return moment

    def stop(self) -> None:
        if self._patch is not None:
            self._patch.stop()
            self._patch = None


@pytest.fixture
def clock() -> Iterator[Clock]:
    moving = Clock()
    yield moving
    moving.stop()
