"""Changes in the admin are audited; nobody grants themselves a role there."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from combat_norse.audit.models import AuditEvent
from combat_norse.sites.models import Membership, Site

pytestmark = [pytest.mark.django_db, pytest.mark.req("#3")]


def test_a_membership_granted_in_the_admin_is_in_the_audit_trail(
    client: Client, personas: Any, verified_login: Callable[..., None]
) -> None:
    verified_login(client, personas.sysadmin)
    response = client.post("/admin/trial_sites/membership/add/", {
        "user": personas.monitor.pk, "role": "monitor",
        "site": Site.objects.get(code="SNU").pk, "active": "on",
    })  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:500]
    made = Membership.objects.get(user=personas.monitor, site__code="SNU")
    event = AuditEvent.objects.filter(object_type="trial_sites.Membership",
                                      object_id=str(made.pk)).get()
    assert (event.action, event.actor_username) == ("role_grant", "sysadmin")
    response = client.post(f"/admin/trial_sites/membership/{made.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    deleted = AuditEvent.objects.filter(action="delete", object_id=str(made.pk)).get()
    assert deleted.reason == "deleted in the admin"


def test_the_administrator_cannot_grant_themselves_a_role(
    client: Client, personas: Any, verified_login: Callable[..., None]
) -> None:
    verified_login(client, personas.sysadmin)
    before = AuditEvent.objects.count()
    response = client.post("/admin/trial_sites/membership/add/", {
        "user": personas.sysadmin.pk, "role": "statistician", "site": "", "active": "on",
    })  # fmt: skip
    assert response.status_code == 403
    assert not Membership.objects.filter(user=personas.sysadmin, role="statistician").exists()
    assert AuditEvent.objects.count() == before


def test_a_site_edited_in_the_admin_keeps_old_and_new_values(
    client: Client, personas: Any, verified_login: Callable[..., None]
) -> None:
    verified_login(client, personas.sysadmin)
    site = Site.objects.get(code="MOD")
    data = {f: getattr(site, f) for f in ("code", "name", "city", "state", "country",
                                           "country_code", "timezone", "region")}
    data.update({"name": "University of Modena and Reggio Emilia", "active": "on"})
    response = client.post(f"/admin/trial_sites/site/{site.pk}/change/", data)
    assert response.status_code == 302
    event = AuditEvent.objects.filter(object_type="trial_sites.Site", action="update").get()
    assert event.changes["name"] == ["University of Modena", "University of Modena and Reggio "
                                                             "Emilia"]
    assert event.reason == "changed in the admin (name)"
