"""What the API answers besides the matrix's allowed/refused (issue 18): bad input is 422 with
the field, an edit conflict 409, a locked form 423, each with ``{"code", "detail", "field"}``
and the command line's words; lists page and filter; warnings travel in a header."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from tests.integration.api.conftest import Api
from tests.integration.api.world import World

pytestmark = [pytest.mark.django_db, pytest.mark.req("§13", "§14", "#18")]

FORM = "/participants/{}/visits/baseline/forms/baseline"


@pytest.fixture
def world(personas: Any, enroll: Callable[..., Any], production_list: Any) -> World:
    return World(personas, enroll)


@pytest.mark.parametrize(("raw", "field"), [
    ("{not json", None), ("[1, 2]", None), ('"values"', None), ("null", None), ("", None),
    ('{"values": {"weight_kg": 9999}}', "weight_kg"), ('{"values": {"nope": 1}}', "nope"),
    ('{"values": {"weight_kg": 70}, "bogus": 1}', "bogus"),
    ('{"values": {"weight_kg": 70}, "instance": 0}', "instance"),
    ('{"values": {"weight_kg": 70}, "if_version": -1}', "if_version"),
    ('{"values": "weight_kg=70"}', "values"),
    ('{"values": {"weight_kg": "\\u0000"}}', "weight_kg"),
    ('{"values": {"weight_kg": 70}, "values": {"weight_kg": 80}}', "values"),  # a key twice
    ('{"values": {"weight_kg": "\\ud800"}}', "weight_kg"),  # a lone surrogate: not UTF-8
])  # fmt: skip
def test_bad_input_is_422_with_the_field_and_saves_nothing(
    raw: str, field: str | None, world: World, api: Api,
) -> None:  # fmt: skip
    path = "/api/v1" + FORM.format(world.p.study_id)
    before = api.get("coord", FORM.format(world.p.study_id))[1]["version"]
    answer = api.client.put(path, data=raw, content_type="application/json",
                            headers={"Authorization": f"Bearer {api.token('coord')}"})  # fmt: skip
    body = answer.json()
    assert answer.status_code == 422 and body["code"] == "bad_input", body
    assert body["field"] == field and body["detail"], body
    assert api.get("coord", FORM.format(world.p.study_id))[1]["version"] == before


def test_a_stale_version_is_409_conflict_and_a_locked_form_423(world: World, api: Api) -> None:
    path = FORM.format(world.p.study_id)
    version = api.get("coord", path)[1]["version"]
    status, body = api.put("coord", path, {"values": world.baseline(), "reason": "fix",
                                           "if_version": version - 1})  # fmt: skip
    assert (status, body["code"]) == (409, "conflict") and "weight_kg" in body["detail"]
    status, saved = api.put("coord", path, {"values": world.baseline(), "reason": "fix",
                                            "if_version": version})  # fmt: skip
    assert status == 200 and saved["version"] == version + 1
    assert api.post("datamanager", path + "/lock", {})[0] == 200
    status, body = api.put("coord", path, {"values": world.baseline(), "reason": "fix"})
    assert (status, body) == (423, {"code": "locked", "field": None,
                                    "detail": body["detail"]})
    assert body["detail"].startswith("locked")
    status, body = api.post("datamanager", path + "/unlock", {"reason": " "})
    assert (status, body["code"]) == (422, "reason_required")


def test_lists_page_and_filter_without_changing_the_commands_object(
    world: World, api: Api,
) -> None:  # fmt: skip
    for _ in range(3):
        world.query()
    status, everything = api.get("datamanager", "/queries")
    total = len(everything["queries"])
    assert status == 200 and total >= 3 and api.last["X-Total-Count"] == str(total)
    status, page = api.get("datamanager", "/queries", limit=2, offset=1)
    assert page == {"queries": everything["queries"][1:3]}
    assert api.last["X-Total-Count"] == str(total)
    status, mine = api.get("datamanager", "/queries", form="baseline", visit="baseline",
                           status="open")  # fmt: skip
    assert mine["queries"] and all(
        (q["form"], q["visit"], q["status"]) == ("baseline", "baseline", "open")
        for q in mine["queries"])  # fmt: skip
    assert api.get("datamanager", "/queries", form="mrs", visit="baseline")[1] == {"queries": []}
    assert api.get("datamanager", "/participants", site="SNU")[1] == {"participants": []}
    assert api.get("datamanager", "/participants", site="YNH")[1]["participants"]
    status, body = api.get("datamanager", "/participants", site="XXX")
    assert (status, body["code"], body["field"]) == (404, "not_found", "site")
    for bad in ({"limit": 0}, {"limit": 1001}, {"offset": -1}, {"limit": "x"},
                {"status": "pending"}):  # fmt: skip
        status, body = api.get("datamanager", "/queries", **bad)
        assert (status, body["code"]) == (422, "bad_input"), bad
        assert body["field"] == next(iter(bad)), bad
    status, visits = api.get("coord", f"/participants/{world.p.study_id}/visits",
                             visit="day30")  # fmt: skip
    assert [v["visit"] for v in visits["visits"]] == ["day30"]


def test_a_screening_warning_comes_in_a_header_and_the_body_is_the_commands(
    world: World, api: Api, make_record: Callable[..., dict[str, Any]],
) -> None:  # fmt: skip
    record = make_record(site_timezone=None)
    status, body = api.post("coord", "/screenings", {"site": "YNH", "record": record})
    assert status == 200 and body["site"] == "YNH" and body["screening_id"].startswith("YNH-S")
    warnings = json.loads(api.last.get("X-Combat-Norse-Warnings", "[]"))
    assert isinstance(warnings, list)


@pytest.mark.parametrize("study_id", ["YNH-001'--", "../../etc/passwd", "ＹＮＨ-001", "x" * 500,
                                      "%00", "YNH-001\u202e"])  # fmt: skip
def test_hostile_ids_are_404_or_422_never_a_server_error(
    study_id: str, world: World, api: Api,
) -> None:  # fmt: skip
    from urllib.parse import quote

    status, body = api.get("coord", f"/participants/{quote(study_id, safe='')}")
    assert status in (404, 422), (status, body)
    if isinstance(body, dict):
        assert body["code"] in ("not_found", "bad_input")
