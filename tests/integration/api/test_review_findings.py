"""Findings of the issue 17/18 review, each reproduced through the faces that showed it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from tests.integration.api.conftest import Api

pytestmark = [pytest.mark.django_db, pytest.mark.req("§14", "#17", "#18")]


@pytest.mark.parametrize("visit", ["day30é", "day31", "inpatient_day_x", "nope"])
def test_reading_a_form_of_an_unknown_visit_is_bad_input_not_an_empty_form(
    visit: str, personas: Any, enroll: Callable[..., Any], api: Api,
    verified_login: Callable[[Any, User], None],
) -> None:  # fmt: skip
    """An unknown visit code answered 200 with an empty, never-saved form (API, page and
    command line share ``access_form``), while saving it was refused ``unknown visit``."""
    participant = enroll()
    path = f"/participants/{participant.study_id}/visits/{visit}/forms/mrs"
    status, body = api.get("coord", path)
    assert (status, body["code"], body["field"]) == (422, "bad_input", "visit"), body
    client = Client()
    verified_login(client, personas.coord)
    assert client.get(path + "/").status_code == 400
    status, body = api.put("coord", path, {"values": {"mrs": 2}})  # a NUL byte was a 500 on
    assert (status, body["field"]) == (422, "visit"), body           # PostgreSQL
    status, body = api.post("coord", f"/participants/{participant.study_id}/visits/{visit}/missed",
                            {"reason": "r"})  # fmt: skip
    assert (status, body["field"]) == (422, "visit"), body


def test_reading_a_form_of_a_known_visit_still_answers(
    personas: Any, enroll: Callable[..., Any], api: Api,
) -> None:  # fmt: skip
    participant = enroll()
    for visit in ("day30", "inpatient_day_1", "unscheduled", "discharge"):
        status, body = api.get("coord", f"/participants/{participant.study_id}/visits/"
                                        f"{visit}/forms/mrs")  # fmt: skip
        assert status == 200, (visit, body)


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v1/participants/", "/api/v2/me"])
def test_an_unknown_api_address_answers_the_json_not_found_not_an_html_page(
    path: str, db: None,
) -> None:  # fmt: skip
    """Every API answer is ``{"code", "detail", "field"}``; an unknown route answered Django's
    HTML "Not Found" page, which a client cannot read as an error."""
    answer = Client().get(path, headers={"Authorization": "Bearer cn_00000000_x"})
    assert answer.status_code == 404
    assert answer["Content-Type"] == "application/json"
    assert answer.json()["code"] == "not_found" and answer.json()["field"] == "path"


def test_an_unknown_page_still_answers_a_page(db: None) -> None:
    answer = Client().get("/no-such-page/")
    assert answer.status_code == 404 and answer["Content-Type"].startswith("text/html")


def test_a_body_over_the_upload_limit_is_the_json_bad_input_not_an_html_page(
    personas: Any, api: Api, settings: Any,
) -> None:  # fmt: skip
    """A body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` answered Django's HTML "Bad Request (400)"
    page; the API answers its bad-input object (422) for it, as for any unreadable body."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"site": "YNH", "record": {"notes": "a" * 2000}})
    answer = api.client.post("/api/v1/screenings", data=body, content_type="application/json",
                             headers={"Authorization": f"Bearer {api.token('coord')}"})  # fmt: skip
    assert answer.status_code == 422 and answer["Content-Type"] == "application/json"
    assert answer.json() == {"code": "bad_input", "field": "body",
                             "detail": "body: too large or not readable"}


def test_a_server_error_under_the_api_answers_json_not_an_html_page(
    personas: Any, api: Api, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """A failure no rule foresaw answered Django's HTML "Server Error (500)" page to an API
    client; it answers ``{"code": "server_error", ...}`` (500), saying nothing of the cause."""
    from combat_norse.crf import presenters

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(presenters, "present_forms", broken)
    client = Client(raise_request_exception=False)
    answer = client.get("/api/v1/forms", headers={"Authorization": f"Bearer {api.token('coord')}"})
    assert answer.status_code == 500 and answer["Content-Type"] == "application/json"
    assert answer.json()["code"] == "server_error"
    assert "secret" not in answer.content.decode()


def test_a_nul_byte_in_any_identifier_or_filter_is_bad_input_on_every_route(
    personas: Any, enroll: Callable[..., Any], production_list: Any, api: Api,
    verified_login: Callable[[Any, User], None],
) -> None:  # fmt: skip
    """On PostgreSQL a NUL byte in a study id, screening id, site, visit or form of any route
    was a 500 (PostgreSQL refuses it in a text value); it is bad input, on pages too."""
    from tests.integration.api.world import REQUESTS

    api.client = Client(raise_request_exception=False)
    failed = []
    for route in sorted(REQUESTS):
        method, path = route.split(" ", 1)
        for name in ("study_id", "screening_id", "visit", "form", "ae_id", "query_id"):
            path = path.replace("{" + name + "}", "\x00")
        status, _ = api.call(method.lower(), "datamanager", path, {},
                             {"site": "\x00"} if method == "GET" else None)  # fmt: skip
        if status >= 500:
            failed.append((route, status))
    assert failed == []
    client = Client(raise_request_exception=False)
    verified_login(client, personas.datamanager)
    for page in ("/participants/%00/", "/participants/?site=%00", "/screening/%00/"):
        assert client.get(page).status_code == 400, page
    assert client.post("/queries/", {"action": "raise", "study_id": "\x00"}).status_code == 400
