"""What the API tests share: a token per persona and a client that sends it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client


class Api:
    """``api.get(user, path, **query)`` / ``api.post(user, path, body)``: (status, JSON)."""

    def __init__(self, tokens: dict[str, str]) -> None:
        self.tokens = tokens
        self.client = Client()

    def token(self, user: User | str) -> str:
        from combat_norse.accounts.tokens import do_create_token

        name = user if isinstance(user, str) else user.username
        if name not in self.tokens:
            owner = User.objects.get(username=name)
            self.tokens[name] = do_create_token(owner, owner).token
        return self.tokens[name]

    def call(self, method: str, user: User | str | None, path: str, body: Any = None,
             query: dict[str, Any] | None = None,
             token: str | None = None) -> tuple[int, Any]:  # fmt: skip
        headers = {}
        if token is not None or user is not None:
            headers["Authorization"] = f"Bearer {token or self.token(user)}"  # type: ignore[arg-type]
        url = "/api/v1" + path
        kwargs: dict[str, Any] = {"headers": headers}
        if method == "get":
            kwargs["data"] = {k: v for k, v in (query or {}).items() if v is not None}
        else:
            kwargs["data"] = json.dumps(body if body is not None else {})
            kwargs["content_type"] = "application/json"
        response = getattr(self.client, method)(url, **kwargs)
        try:
            parsed = json.loads(response.content) if response.content else None
        except ValueError:
            parsed = response.content
        self.last = response
        return response.status_code, parsed

    def get(self, user: Any, path: str, **query: Any) -> tuple[int, Any]:
        return self.call("get", user, path, query=query)

    def post(self, user: Any, path: str, body: Any = None) -> tuple[int, Any]:
        return self.call("post", user, path, body)

    def put(self, user: Any, path: str, body: Any = None) -> tuple[int, Any]:
        return self.call("put", user, path, body)


@pytest.fixture
def api(personas: Any) -> Api:
    return Api({})


@pytest.fixture
def enrolled(enroll: Callable[..., Any]) -> Any:
    return enroll()
