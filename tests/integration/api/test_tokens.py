"""Personal API tokens (issue 18): stored hashed, shown once, expiring, revocable, audited;
every route but the schema and the docs answers 401 without one (never a redirect)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from tests.integration.api.conftest import Api
from tests.integration.crf.conftest import run

from combat_norse.accounts.models import ApiToken
from combat_norse.accounts.tokens import do_create_token, do_revoke_token
from combat_norse.audit.models import AuditEvent

pytestmark = [pytest.mark.django_db, pytest.mark.req("#18")]


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def test_the_command_line_issues_a_token_once_and_stores_only_its_hash(
    personas: Any, capsys: pytest.CaptureFixture[str], api: Api,
) -> None:  # fmt: skip
    code, made, _ = run(capsys, "token", "create", "--as", "coord", "--expires-days", "30")
    assert code == 0 and made["username"] == "coord" and made["state"] == "active"
    token = made["token"]
    assert token.startswith(f"cn_{made['prefix']}_") and len(token) > 40
    row = ApiToken.objects.get(prefix=made["prefix"])
    assert row.digest == hashlib.sha256(token.encode()).hexdigest()
    stored = json.dumps([getattr(row, f.attname) for f in ApiToken._meta.fields], default=str)
    assert token not in stored and token.split("_", 2)[2] not in stored
    assert row.expires_at - row.created_at == timedelta(days=30)
    code, listed, _ = run(capsys, "token", "list", "--as", "coord")
    assert code == 0 and [t["prefix"] for t in listed["tokens"]] == [made["prefix"]]
    assert "token" not in listed["tokens"][0] and token not in json.dumps(listed)
    status, me = api.call("get", None, "/me", token=token)
    assert status == 200 and me["username"] == "coord"
    created = events("token_create")
    assert len(created) == 1 and created[0].changes["prefix"] == [None, made["prefix"]]
    assert all(token not in json.dumps(e.changes) for e in AuditEvent.objects.all())


def test_a_bad_expiry_or_an_unknown_user_is_bad_input(
    personas: Any, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    for days in ("0", "367", "-3", "x"):
        code, out, err = run(capsys, "token", "create", "--as", "coord", "--expires-days", days)
        assert (code, out) == (2, None) and err.startswith("error:"), days
    code, _, err = run(capsys, "token", "create", "--as", "nobody")
    assert code == 2 and "unknown or inactive user" in err
    code, _, err = run(capsys, "token", "revoke", "cn_nope", "--as", "coord")
    assert code == 2 and err.startswith("error:")
    assert not ApiToken.objects.exists()


def test_expired_and_revoked_tokens_are_refused_401_and_audited(
    personas: Any, capsys: pytest.CaptureFixture[str], api: Api,
) -> None:  # fmt: skip
    old = do_create_token(personas.coord, personas.coord, expires_days=1,
                          now=timezone.now() - timedelta(days=2))  # fmt: skip
    status, body = api.call("get", None, "/sites", token=old.token)
    assert (status, body["code"], body["detail"]) == (401, "unauthorized", "token expired")
    live = do_create_token(personas.coord, personas.coord)
    assert api.call("get", None, "/sites", token=live.token)[0] == 200
    code, revoked, _ = run(capsys, "token", "revoke", live.row.prefix, "--as", "coord")
    assert code == 0 and revoked["state"] == "revoked" and "token" not in revoked
    status, body = api.call("get", None, "/sites", token=live.token)
    assert (status, body["detail"]) == (401, "token revoked")
    refused = events("token_refused")
    assert [e.changes["state"][1] for e in refused] == ["expired", "revoked"]
    assert [e.object_id for e in events("token_revoke")] == [str(live.row.pk)]
    # another user cannot revoke it, nor learn it exists
    with pytest.raises(Exception, match="token"):
        do_revoke_token(personas.othercoord, personas.othercoord, old.row.prefix)


def test_an_inactive_users_token_is_refused(personas: Any, api: Api) -> None:
    new = do_create_token(personas.coord, personas.coord)
    personas.coord.is_active = False
    personas.coord.save()
    assert api.call("get", None, "/me", token=new.token)[0] == 401


def test_the_first_use_from_each_address_is_audited_once(personas: Any) -> None:
    new = do_create_token(personas.coord, personas.coord)
    header = {"Authorization": f"Bearer {new.token}"}
    for address in ("10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.1"):
        assert Client(REMOTE_ADDR=address).get("/api/v1/me", headers=header).status_code == 200
    seen = [e.changes["address"][1] for e in events("token_new_address")]
    assert seen == ["10.0.0.1", "10.0.0.2"]
    assert ApiToken.objects.get(pk=new.row.pk).last_used_at is not None


@pytest.mark.parametrize("header", [
    None, "Bearer", "Bearer ", "Bearer nonsense", "Basic Y29vcmQ6eA==", "Token cn_1234abcd_x",
    "Bearer cn_1234abcd_" + "x" * 5000, "Bearer cn_'; DROP TABLE--_x", "Bearer cn__",
])  # fmt: skip
def test_every_route_without_a_valid_token_answers_401_json_never_a_redirect(
    header: str | None, personas: Any, verified_login: Callable[..., None],
) -> None:  # fmt: skip
    """Even with a signed-in session (a page user who has not passed two-factor): the API
    reads tokens only."""
    client = Client()
    verified_login(client, personas.coord)
    bare = Client()
    schema = bare.get("/api/v1/openapi.json").json()
    headers = {"Authorization": header} if header is not None else {}
    for path, ops in schema["paths"].items():
        url = path.replace("{", "").replace("}", "")
        for method in ops:
            for c in (client, bare):
                answer = getattr(c, method)(url, headers=headers, content_type="application/json",
                                            data="{}" if method != "get" else None)  # fmt: skip
                assert answer.status_code == 401, (method, path, answer.status_code)
                assert answer.json()["code"] == "unauthorized", (method, path)
                assert answer["WWW-Authenticate"] == "Bearer"


def test_the_schema_and_the_docs_need_no_token(db: None) -> None:
    client = Client()
    schema = client.get("/api/v1/openapi.json")
    assert schema.status_code == 200 and schema.json()["info"]["title"] == "COMBAT-NORSE API"
    assert "bearer" in json.dumps(schema.json()["components"]["securitySchemes"]).lower()
    assert client.get("/api/v1/docs").status_code == 200


def test_the_me_page_shows_a_new_token_once_and_revokes_it(
    personas: Any, verified_login: Callable[..., None], api: Api,
) -> None:  # fmt: skip
    client = Client()
    verified_login(client, personas.coord)
    page = client.post("/me/tokens/", {"action": "create", "expires_days": "7"})
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    row = ApiToken.objects.get(user=personas.coord)
    text = page.content.decode()
    start = text.index('<code id="new-token">') + len('<code id="new-token">')
    token = text[start:text.index("</code>", start)]
    assert api.call("get", None, "/me", token=token)[0] == 200
    again = client.get("/me/tokens/").content.decode()
    assert row.prefix in again and token not in again
    assert client.post("/me/tokens/", {"action": "create", "expires_days": "x"}).status_code == 400
    done = client.post("/me/tokens/", {"action": "revoke", "prefix": row.prefix})
    assert done.status_code == 302
    assert api.call("get", None, "/me", token=token)[0] == 401
    assert client.get("/me/tokens/").status_code == 200
    assert Client().get("/me/tokens/").status_code == 302  # signed out: the sign-in page


def test_a_refused_read_through_the_api_is_audited_as_on_the_pages(
    personas: Any, enroll: Callable[..., Any], api: Api,
) -> None:  # fmt: skip
    p = enroll()
    api.token("othercoord")
    api.get("othercoord", "/me")  # the token's first address is audited before we count
    before = AuditEvent.objects.count()
    status, body = api.get("othercoord", f"/participants/{p.study_id}")
    assert (status, body) == (403, {"code": "other_site", "field": None, "detail": "other site"})
    new = list(AuditEvent.objects.order_by("seq")[before:])
    assert [e.action for e in new] == ["read_refused"]
    assert new[0].actor_id == personas.othercoord.pk


def test_a_prefix_already_held_by_another_token_is_drawn_again_not_a_server_error(
    personas: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import IntegrityError

    from combat_norse.accounts import tokens

    first = do_create_token(personas.coord, personas.coord)
    draws = iter([first.row.prefix, "0badc0de"])
    monkeypatch.setattr(tokens.secrets, "token_hex", lambda n: next(draws))
    second = do_create_token(personas.monitor, personas.monitor)
    assert second.row.prefix == "0badc0de" and second.token.startswith("cn_0badc0de_")
    assert ApiToken.objects.filter(prefix=first.row.prefix).count() == 1
    # the colliding draw wrote nothing: one creation event per token made
    assert AuditEvent.objects.filter(action="token_create").count() == 2
    # a token that cannot get a prefix of its own after every draw is an error, not a loop
    monkeypatch.setattr(tokens.secrets, "token_hex", lambda n: first.row.prefix)
    with pytest.raises(IntegrityError):
        do_create_token(personas.monitor, personas.monitor)
    assert AuditEvent.objects.filter(action="token_create").count() == 2


def test_a_refused_token_retried_is_audited_once_an_hour_per_address(
    personas: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Someone retrying an expired or revoked token cannot flood the audit trail."""
    from combat_norse.accounts import tokens

    old = do_create_token(personas.coord, personas.coord, expires_days=1,
                          now=timezone.now() - timedelta(days=2))  # fmt: skip
    header = {"Authorization": f"Bearer {old.token}"}
    for address in ("10.0.0.1",) * 5 + ("10.0.0.2", "10.0.0.1"):
        answer = Client(REMOTE_ADDR=address).get("/api/v1/sites", headers=header)
        assert (answer.status_code, answer.json()["detail"]) == (401, "token expired")
    assert [e.changes["address"][1] for e in events("token_refused")] == ["10.0.0.1", "10.0.0.2"]
    do_revoke_token(personas.coord, personas.coord, old.row.prefix)  # a new state: audited
    assert Client(REMOTE_ADDR="10.0.0.1").get("/api/v1/sites", headers=header).status_code == 401
    assert [e.changes["state"][1] for e in events("token_refused")][-1] == "revoked"
    monkeypatch.setattr(tokens, "REFUSED_AUDIT_WINDOW", timedelta(0))  # the hour has passed
    assert Client(REMOTE_ADDR="10.0.0.1").get("/api/v1/sites", headers=header).status_code == 401
    assert len(events("token_refused")) == 4
