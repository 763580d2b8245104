"""The Django admin (outside the persona matrix): only a system administrator who passed the
second factor reaches it; everyone else is sent to sign in or refused, without a redirect loop.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from combat_norse.allocation.actions import do_randomize
from combat_norse.allocation.models import Allocation
from combat_norse.audit.models import AuditEvent

pytestmark = [pytest.mark.django_db, pytest.mark.req("#3")]

NOT_ADMINS = ["coord", "investigator", "pharmacist", "assessor", "datamanager", "monitor",
              "statistician", "dsmb", "sponsor", "othercoord"]  # fmt: skip


def test_anonymous_visitor_is_sent_to_the_hardened_sign_in_page() -> None:
    answer = Client().get("/admin/", follow=True)
    assert answer.status_code == 200
    assert answer.redirect_chain[-1][0] == f"{reverse('accounts:login')}?next=%2Fadmin%2F"


@pytest.mark.parametrize("username", NOT_ADMINS)
def test_a_signed_in_user_who_is_not_an_administrator_is_refused_the_admin_without_a_loop(
    username: str, personas: Any, client_for: Any,
) -> None:  # fmt: skip
    client = client_for(personas.users[username])
    answer = client.get("/admin/", follow=True)  # a redirect loop raises RedirectCycleError
    assert answer.status_code == 403
    assert client.get("/admin/audit/auditevent/", follow=True).status_code == 403


def test_system_administrator_needs_the_second_factor_for_the_admin(
    personas: Any, client_for: Any,
) -> None:  # fmt: skip
    unverified = client_for(personas.sysadmin, second_factor=False)
    gate = unverified.get("/admin/")
    assert (gate.status_code, gate["Location"]) == (302, "/accounts/2fa/setup/?next=%2Fadmin%2F")
    verified = client_for(personas.sysadmin)
    assert verified.get("/admin/").status_code == 200


@pytest.mark.req("#3", "§11")
def test_system_administrator_cannot_read_an_arm_through_the_audit_trail_in_the_admin(
    personas: Any, client_for: Any, enroll: Any, production_list: Any,
) -> None:  # fmt: skip
    participant = enroll()
    do_randomize(personas.coord, participant)
    arm = Allocation.unscoped.get(participant=participant).arm
    event = AuditEvent.objects.filter(action="randomize").latest("seq")
    admin = client_for(personas.sysadmin)
    listing = admin.get(reverse("admin:audit_auditevent_changelist"))
    assert listing.status_code == 200
    assert arm not in listing.content.decode()
    assert participant.study_id not in listing.content.decode()
    page = admin.get(reverse("admin:audit_auditevent_change", args=[event.seq]), follow=True)
    assert arm not in page.content.decode()
    assert participant.study_id not in page.content.decode()
