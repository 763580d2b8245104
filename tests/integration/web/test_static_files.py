"""Static files with DEBUG=0 (issue 17): after ``collectstatic`` (``make run`` does it),
whitenoise serves the USWDS files the pages name, under hashed names, compressed on request."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.test import Client, override_settings

pytestmark = [pytest.mark.django_db, pytest.mark.req("#17")]

PRODUCTION_STATIC = {"BACKEND": "combat_norse.web.storage.StaticStorage"}


@pytest.fixture(scope="module")
def collected_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The production storage, collected once for this module (compression takes 20-30 s).
    Static files are the same whatever the database: the SQLite pass alone collects them."""
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("static files do not depend on the database: collected in the SQLite pass")
    root = tmp_path_factory.mktemp("collected")
    with override_settings(STATIC_ROOT=root, STORAGES={**django_settings.STORAGES,
                                                       "staticfiles": PRODUCTION_STATIC}):
        call_command("collectstatic", interactive=False, verbosity=0)
    return root


@pytest.fixture
def collected(settings: Any, collected_root: Path) -> Path:
    """DEBUG off, the production storage and the collected files, as ``DEBUG=0 make run``."""
    settings.DEBUG = False
    settings.STATIC_ROOT = collected_root
    settings.STORAGES = {**settings.STORAGES, "staticfiles": PRODUCTION_STATIC}
    return collected_root


def test_with_debug_off_the_pages_uswds_stylesheet_is_served(collected: Path) -> None:
    client = Client()  # a new handler: whitenoise reads the collected files at start
    page = client.get("/accounts/login/").content.decode()
    href = re.search(r'<link rel="stylesheet" href="(/static/uswds/css/uswds\.min\.[0-9a-f]{12}'
                     r'\.css)">', page)  # fmt: skip
    assert href, "the page names the hashed stylesheet"
    answer = client.get(href.group(1))
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/css")
    assert "immutable" in answer["Cache-Control"]  # a hashed name never changes content
    body = b"".join(answer.streaming_content)  # type: ignore[attr-defined]
    assert b".usa-" in body
    assert (collected / "uswds/css/uswds.min.css").exists()
    zipped = client.get(href.group(1), HTTP_ACCEPT_ENCODING="gzip")
    assert zipped.status_code == 200 and zipped["Content-Encoding"] == "gzip"


def test_an_unknown_static_file_is_404_and_nothing_outside_is_served(collected: Path) -> None:
    client = Client()
    assert client.get("/static/uswds/css/nothing-here.css").status_code == 404
    assert client.get("/static/../pyproject.toml").status_code == 404
    assert client.get("/static/%2e%2e/%2e%2e/etc/passwd").status_code == 404


def test_before_collectstatic_the_pages_render_and_name_the_plain_files(
    settings: Any, tmp_path: Path,
) -> None:  # fmt: skip
    settings.DEBUG = False
    settings.STATIC_ROOT = tmp_path / "never-collected"
    settings.STORAGES = {**settings.STORAGES, "staticfiles": PRODUCTION_STATIC}
    answer = Client().get("/accounts/login/")
    assert answer.status_code == 200  # not "Missing staticfiles manifest entry" (a 500)
    assert 'href="/static/uswds/css/uswds.min.css"' in answer.content.decode()
