"""The API's own addresses without a route: a client gets the API's JSON 404, never a redirect
(a script that follows redirects would otherwise resend its request elsewhere) nor a page."""

from __future__ import annotations

import json

import pytest
from django.test import Client

pytestmark = [pytest.mark.django_db, pytest.mark.req("#18")]


@pytest.mark.parametrize("path", ["/api", "/api/", "/api/v1", "/api/v1/", "/api/v2/participants",
                                  "/api/v1/participants/", "/api/v1/no-such-route"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_an_address_under_api_without_a_route_is_a_json_404(path: str, method: str) -> None:
    response = getattr(Client(), method)(path)
    assert response.status_code == 404, response.get("Location")
    assert response["Content-Type"].startswith("application/json")
    body = json.loads(response.content)
    assert body["code"] == "not_found" and body["field"] == "path"


def test_a_page_address_keeps_the_pages_404() -> None:
    response = Client().get("/apiary")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
