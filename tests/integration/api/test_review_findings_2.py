"""Findings of the second API review (issue 18), as a new user and as an attacker: each test
failed before its fix."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from tests.integration.api.conftest import Api

from combat_norse.sites.models import Membership

pytestmark = [pytest.mark.django_db, pytest.mark.req("#18")]


def _post(api: Api, user: str, path: str, raw: str | bytes) -> Any:
    client = Client(raise_request_exception=False)
    return client.post("/api/v1" + path, data=raw, content_type="application/json",
                       headers={"Authorization": f"Bearer {api.token(user)}"})  # fmt: skip


@pytest.mark.parametrize(("user", "path", "raw", "field"), [
    ("coord", "/screenings", '{"site": "YNH\\u0000", "record": {}}', "site"),
    ("coord", "/screenings", '{"site": "YNH", "record": {"notes": "a\\u0000b"}}', "notes"),
    ("coord", "/screenings", '{"site": "YNH", "record": {"a\\u0000": 1}}', "'a\\x00'"),
    ("sysadmin", "/admin/grants",
     '{"username": "newbie", "role": "monitor", "sites": ["YNH"], "email": "x\\u0000"}',
     "email"),
    ("sysadmin", "/admin/grants", '{"username": "new\\u0000", "role": "monitor"}', "username"),
])  # fmt: skip
def test_a_nul_escape_in_a_json_body_is_bad_input_not_a_server_error(
    user: str, path: str, raw: str, field: str, personas: Any, api: Api,
) -> None:  # fmt: skip
    """The NUL-byte guard saw the raw bytes only: JSON's ``\\u0000`` escape decoded into a NUL
    inside the view, and PostgreSQL refused it in a text value (a 500 on every route taking a
    body: a site code, an e-mail, a reason, a username)."""
    answer = _post(api, user, path, raw)
    assert answer.status_code == 422, answer.content
    body = answer.json()
    assert body["code"] == "bad_input" and body["field"] == field
    assert body["detail"].startswith(f"body: {field}: "), body
    assert "NUL" in body["detail"]


def test_a_nul_escape_in_a_command_line_file_is_bad_input(tmp_path: Any) -> None:
    """The command line reads its files through the same strict reader."""
    from combat_norse.protocol.jsoninput import JsonInputError, loads_strict

    with pytest.raises(JsonInputError, match=r"^reason: a NUL character is not accepted"):
        loads_strict('{"reason": "moved\\u0000"}')
    assert loads_strict('{"reason": "moved \\u0001 abroad"}') == {"reason": "moved \x01 abroad"}


@pytest.mark.parametrize(("method", "path"), [
    ("post", "/me"), ("delete", "/participants/YNH-001"), ("put", "/sites"),
    ("patch", "/admin/users"), ("get", "/admin/grants"),
])  # fmt: skip
def test_a_method_a_route_does_not_take_answers_the_json_error_not_a_text_page(
    method: str, path: str, personas: Any, api: Api,
) -> None:  # fmt: skip
    """ninja answered 405 with the text body "Method not allowed" (text/html), which a client
    cannot read as the API's ``{code, detail, field}``; the ``Allow`` header stays."""
    answer = getattr(Client(), method)("/api/v1" + path,
                                       headers={"Authorization": f"Bearer {api.token('coord')}"})
    assert answer.status_code == 405
    assert answer["Content-Type"] == "application/json"
    assert answer.json()["code"] == "method_not_allowed"
    assert answer.json()["field"] is None
    assert answer["Allow"]


def test_a_method_override_header_changes_nothing(personas: Any, api: Api) -> None:
    answer = Client().get("/api/v1/participants/YNH-001/randomize",
                          headers={"Authorization": f"Bearer {api.token('coord')}",
                                   "X-HTTP-Method-Override": "POST"})  # fmt: skip
    assert answer.status_code == 405 and answer.json()["code"] == "method_not_allowed"


@pytest.mark.parametrize("membership", [True, "5", 5.0, [5]])
def test_a_membership_id_that_is_not_a_json_integer_is_bad_input(
    membership: Any, personas: Any, api: Api,
) -> None:  # fmt: skip
    """``{"membership": true}`` withdrew membership 1 (pydantic's lax mode read true as 1), and
    ``"5"`` or ``5.0`` withdrew membership 5: a withdrawal names the id it means."""
    before = set(Membership.objects.filter(active=True).values_list("pk", flat=True))
    status, body = api.post("sysadmin", "/admin/revocations", {"membership": membership})
    assert (status, body["code"], body["field"]) == (422, "bad_input", "membership"), body
    assert set(Membership.objects.filter(active=True).values_list("pk", flat=True)) == before


def test_a_membership_id_as_a_json_integer_still_withdraws(personas: Any, api: Api) -> None:
    found = Membership.objects.get(user=personas.monitor)
    status, body = api.post("sysadmin", "/admin/revocations", {"membership": found.pk})
    assert status == 200 and body["active"] is False, body
    assert json.loads(json.dumps(body))["membership"] == found.pk


@pytest.mark.parametrize("username", ["jdoe\n", "sysadmin\n"])
def test_a_username_ending_in_a_newline_is_refused_by_the_one_user_action(
    username: str, personas: Any,
) -> None:  # fmt: skip
    """The username rule ended in ``$``, which also matches before a final newline: ``user add
    $'jdoe\\n'`` made an account that every list and audit line shows as ``jdoe`` (and
    ``sysadmin\\n`` passed the administrator's own-account check as someone else). The API
    strips its fields; the command line passes argv as typed."""
    from django.contrib.auth.models import User

    from combat_norse.accounts.actions import UserSetupError, do_add_user

    with pytest.raises(UserSetupError, match="username"):
        do_add_user(username, "monitor", ["YNH"])
    assert not User.objects.filter(username=username).exists()


@pytest.mark.parametrize("token", ["cn_\x00bcdefgh_x", "cn_abcdefg\x00_x", "cn_ABCDEFGH_x",
                                   "cn_éééééééé_x", "cn_abcdefg _x"])  # fmt: skip
def test_a_token_whose_prefix_is_not_eight_hex_digits_is_refused_before_any_lookup(
    token: str, personas: Any,
) -> None:  # fmt: skip
    """Without a token of one's own: a NUL in the token's 8-character prefix reached the
    prefix lookup, and PostgreSQL answered a 500 to anyone (the NUL guard reads the path,
    query and form, not the headers)."""
    answer = Client(raise_request_exception=False).get(
        "/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401, answer.content
    assert answer.json() == {"code": "unauthorized", "field": None,
                             "detail": "not a COMBAT-NORSE API token"}  # fmt: skip


FORM = "/participants/YNH-001/visits/baseline/forms/baseline"


@pytest.mark.parametrize(("method", "path", "body", "field"), [
    ("put", FORM, {"values": {}, "if_version": True}, "if_version"),
    ("put", FORM, {"values": {}, "if_version": "0"}, "if_version"),
    ("put", FORM, {"values": {}, "if_version": 0.0}, "if_version"),
    ("put", FORM, {"values": {}, "instance": "1"}, "instance"),
    ("post", FORM + "/lock", {"instance": True}, "instance"),
    ("post", "/queries", {"study_id": "YNH-001", "visit": "baseline", "form": "baseline",
                          "item": "weight_kg", "text": "check", "instance": 1.0}, "instance"),
    ("post", "/randomization/lists", {"design": "permuted_blocks", "seed": "5"}, "seed"),
    ("post", "/randomization/lists", {"design": "permuted_blocks", "seed": 5,
                                      "blocks_per_stratum": True}, "blocks_per_stratum"),
    ("post", "/randomization/lists/active/extend", {"stratum": "x", "blocks": "2",
                                                    "reason": "more"}, "blocks"),
])  # fmt: skip
def test_a_number_in_a_body_must_be_a_json_integer(
    method: str, path: str, body: dict[str, Any], field: str, personas: Any, api: Api,
) -> None:  # fmt: skip
    """``{"if_version": true}`` was version 1 and ``"0"`` version 0 (pydantic's lax mode): a
    stale-edit guard, an instance or a block count is the integer the client wrote, or bad
    input naming it, before anything is looked up."""
    status, answer = getattr(api, method)("statistician" if "random" in path else "coord",
                                          path, body)  # fmt: skip
    assert (status, answer["code"], answer["field"]) == (422, "bad_input", field), answer
