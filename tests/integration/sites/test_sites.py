"""The 33 registration sites are loaded by migration and shown by the app."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.test import Client

from combat_norse.sites.models import Site

pytestmark = [pytest.mark.django_db, pytest.mark.req("§12", "#2")]


def test_migration_loads_all_33_sites_with_valid_zones_and_regions() -> None:
    sites = list(Site.objects.all())
    assert len(sites) == 33
    assert {s.country for s in sites} == {
        "United States", "Canada", "France", "Italy", "South Korea", "Sweden", "United Kingdom",
    }  # fmt: skip
    for s in sites:
        ZoneInfo(s.timezone)
        assert s.region in {"north_america", "europe", "asia"}
    assert Site.objects.get(code="YNH").name == "Yale New Haven Hospital"
    assert Site.objects.get(code="SNU").timezone == "Asia/Seoul"
    assert Site.objects.get(code="SNU").region == "asia"
    assert Site.objects.get(code="KAR").region == "europe"
    assert Site.objects.filter(country="United States").count() == 25


def test_home_page_lists_the_sites(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "33 active sites." in body
    assert "Seoul National University Hospital" in body


def test_admin_lists_all_sites_for_a_superuser(client: Client, verified_login: Any) -> None:
    admin = User.objects.create_superuser("root-admin", "a@example.invalid", "x" * 20)
    verified_login(client, admin)
    response = client.get("/admin/trial_sites/site/")
    assert response.status_code == 200
    assert "33 sites" in response.content.decode()


def test_admin_requires_login(client: Client) -> None:
    response = client.get("/admin/trial_sites/site/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    follow = client.get(response["Location"])
    assert follow.status_code == 302 and follow["Location"].startswith("/accounts/login/")
