"""Signing personas in on Django's test client for the page tests (second factor done for the
unmasked roles, as after a correct code)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client


@pytest.fixture
def browser_for(verified_login: Callable[[Any, User], None]) -> Callable[[User], Client]:
    def _client(user: User) -> Client:
        client = Client()
        verified_login(client, user)
        return client

    return _client
