"""A user created with a one-time password chooses their own at first sign-in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from combat_norse.accounts.actions import do_add_user
from combat_norse.accounts.models import PasswordState
from combat_norse.audit.models import AuditEvent

pytestmark = [pytest.mark.django_db, pytest.mark.req("#3")]


def test_new_user_must_replace_the_one_time_password_before_anything_else(
    client: Client, verified_login: Callable[..., None], db: Any
) -> None:
    created = do_add_user("new.coord", "site_coordinator", ["YNH"])
    assert created.one_time_password
    verified_login(client, created.user)
    response = client.get("/me/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/password/?next=")
    weak = client.post("/accounts/password/", {"old_password": created.one_time_password,
                                               "new_password1": "password123",
                                               "new_password2": "password123"})
    assert weak.status_code == 200  # the validators refuse it; still must change
    assert PasswordState.objects.get(user=created.user).must_change
    done = client.post("/accounts/password/?next=/me/", {
        "old_password": created.one_time_password,
        "new_password1": "lantern orchard 7 violet quay",
        "new_password2": "lantern orchard 7 violet quay",
    })  # fmt: skip
    assert done.status_code == 302 and done["Location"] == "/me/"
    assert not PasswordState.objects.get(user=created.user).must_change
    assert client.get("/me/").status_code == 200
    event = AuditEvent.objects.get(action="password_changed")
    assert event.actor_username == "new.coord"
    assert "lantern" not in str(event.changes) and "lantern" not in event.reason


def test_existing_user_is_not_asked_to_change(
    client: Client, personas: Any, verified_login: Callable[..., None]
) -> None:
    verified_login(client, personas.coord)
    assert client.get("/me/").status_code == 200
