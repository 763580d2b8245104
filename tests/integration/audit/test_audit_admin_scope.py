"""The system administrator reads system events in the admin, never participant events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

pytestmark = [pytest.mark.django_db, pytest.mark.req("#3", "§11")]


def test_admin_audit_page_shows_membership_events_but_no_participant_events(
    client: Client, personas: Any, enroll: Callable[..., Any], production_list: Any,
    verified_login: Callable[..., None],
) -> None:
    from combat_norse.allocation.actions import do_randomize

    participant = enroll()
    allocation = do_randomize(personas.coord, participant)
    verified_login(client, personas.sysadmin)
    page = client.get("/admin/audit/auditevent/?all=")
    assert page.status_code == 200
    body = page.content.decode()
    assert "trial_sites.Membership" in body
    assert participant.study_id not in body
    assert "randomize" not in body and allocation.code not in body
