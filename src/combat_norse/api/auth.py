"""``Authorization: Bearer <token>``: the token's user acts, with their memberships of the
moment (checked anew on every request). A missing, malformed, unknown, expired or revoked
token answers 401 with ``{"code": "unauthorized", "detail": ...}``, never a redirect."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer

from combat_norse.accounts.tokens import TokenRejected, authenticate_token


class TokenRefused(AuthenticationError):
    """Why the token was not accepted (the 401's ``detail``)."""

    def __init__(self, detail: str) -> None:
        super().__init__(401, detail)
        self.detail = detail


class TokenAuth(HttpBearer):
    def __call__(self, request: HttpRequest) -> Any | None:
        header = request.headers.get(self.header)
        if not header:
            raise TokenRefused("an API token is required (Authorization: Bearer <token>)")
        return super().__call__(request)

    def authenticate(self, request: HttpRequest, token: str) -> Any | None:
        try:
            user = authenticate_token(token, request.META.get("REMOTE_ADDR"))
        except TokenRejected as exc:
            raise TokenRefused(str(exc)) from None
        request.user = user
        return user
