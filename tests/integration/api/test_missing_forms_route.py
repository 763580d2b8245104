"""``GET /missing?site=`` (issue 17): the forms never started, as the page ``/missing/`` lists
them, paged with ``X-Total-Count``; bad and hostile input answered, never a server error."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from tests.integration.api.conftest import Api

pytestmark = [pytest.mark.django_db, pytest.mark.req("§14", "#17", "#18")]


def _late(enroll: Callable[..., Any], site: str = "YNH") -> Any:
    now = timezone.now()
    return enroll(site=site, now=now - timedelta(days=5),
                  se_onset=(now - timedelta(days=45)).isoformat())  # fmt: skip


def test_the_route_lists_pages_and_filters_the_forms_never_started(
    personas: Any, enroll: Callable[..., Any], api: Api
) -> None:
    ours, theirs = _late(enroll), _late(enroll, site="SNU")
    status, body = api.get(personas.datamanager, "/missing")
    assert status == 200 and api.last["X-Total-Count"] == "6"
    assert {(r["site"], r["study_id"]) for r in body["forms"]} == {
        ("SNU", theirs.study_id), ("YNH", ours.study_id)}  # fmt: skip
    assert [r["site"] for r in body["forms"]] == ["SNU"] * 3 + ["YNH"] * 3  # by site
    status, page = api.get(personas.datamanager, "/missing", limit=2, offset=3)
    assert status == 200 and api.last["X-Total-Count"] == "6"
    assert page["forms"] == body["forms"][3:5]
    status, body = api.get(personas.datamanager, "/missing", site="ynh")
    assert status == 200 and api.last["X-Total-Count"] == "3"
    assert [(r["visit"], r["form"]) for r in body["forms"]] == [
        ("day30", "mrs"), ("day30", "gose"), ("baseline", "baseline")]  # fmt: skip
    status, body = api.get(personas.monitor, "/missing")  # monitor of YNH only
    assert status == 200 and {r["study_id"] for r in body["forms"]} == {ours.study_id}


def test_roles_without_the_page_are_refused(
    personas: Any, enroll: Callable[..., Any], api: Api
) -> None:
    _late(enroll)
    for user in (personas.coord, personas.assessor, personas.sponsor, personas.sysadmin):
        status, body = api.get(user, "/missing")
        assert (status, body["code"]) == (403, "role"), user.username


@pytest.mark.parametrize(("query", "status", "field"), [
    ({"site": "ZZZ"}, 404, "site"),
    ({"site": "../x"}, 404, "site"),
    ({"site": "YNH\x00"}, 422, None),
    ({"limit": "0"}, 422, None),
    ({"limit": "ten"}, 422, None),
    ({"offset": "-1"}, 422, None),
])  # fmt: skip
def test_bad_and_hostile_input_is_answered_not_a_server_error(
    query: dict[str, str], status: int, field: str | None, personas: Any,
    enroll: Callable[..., Any], api: Api,
) -> None:  # fmt: skip
    _late(enroll)
    got, body = api.get(personas.datamanager, "/missing", **query)
    assert got == status, body
    assert isinstance(body, dict) and "anakinra" not in str(body).lower()
    if field is not None:
        assert body["field"] == field
