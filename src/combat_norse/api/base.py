"""The API object, its error answers and what every route shares."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser
from pydantic import ConfigDict

from combat_norse.api.auth import TokenAuth, TokenRefused
from combat_norse.core.errors import domain_error
from combat_norse.core.http import API_BAD_INPUT_STATUS, error_response

WARNINGS_HEADER = "X-Combat-Norse-Warnings"
TOTAL_HEADER = "X-Total-Count"
MAX_LIMIT = 1000


class ErrorOut(Schema):
    """Every error: the refusal's reason code (``other_site``, ``role``, ``masked``, ``locked``,
    ``conflict``, ...), ``bad_input``, ``not_found`` or ``unauthorized``; ``detail`` the words
    the command line prints after ``refused:``/``error:``; ``field`` for bad input."""

    code: str
    detail: str
    field: str | None = None


class In(Schema):
    """A request body: unknown keys are bad input (a misspelt option is not ignored)."""

    model_config = ConfigDict(extra="forbid")


#: The answers every route may give besides 200 (documented in the schema).
ERRORS: dict[int, type[ErrorOut]] = {
    400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut,
    423: ErrorOut, 503: ErrorOut,
}  # fmt: skip


def answers(ok: Any = None) -> dict[int, Any]:
    """The responses of a route: 200 the command's JSON object (``ok``, a model of
    ``api.schemas``; an untyped object without one), and every error."""
    return {200: dict[str, Any] if ok is None else ok, **ERRORS}


def typed(ok: Any) -> dict[str, Any]:
    """A route's ``response`` with 200 ``ok`` (a model of ``api.schemas``), dumped with
    ``exclude_unset``: a key the presenter left out stays out, a ``None`` it set stays null,
    so the answer is byte for byte the presenter's object."""
    return {"response": answers(ok), "exclude_unset": True}


class StrictJson(Parser):
    """Request bodies read as the command line reads its files: strict UTF-8, a key twice in
    one object is bad input (``protocol.jsoninput.loads_strict``). Why a body is unreadable is
    kept on the request for the answer (ninja only says it could not parse it)."""

    def parse_body(self, request: HttpRequest) -> Any:
        from combat_norse.protocol.jsoninput import JsonInputError, loads_strict

        try:
            return loads_strict(request.body)
        except (ValueError, RecursionError) as exc:
            # the reader's own words name the field safely (a key twice, a NUL, not UTF-8)
            detail = str(exc) if isinstance(exc, JsonInputError) else "not valid JSON"
            request.unreadable_body = detail  # type: ignore[attr-defined]
            # the field it is in, where it is in one (not the document as a whole)
            field = exc.field if isinstance(exc, JsonInputError) else None
            request.unreadable_field = (  # type: ignore[attr-defined]
                None if field in (None, "file", "record") else field)
            raise


api = NinjaAPI(
    title="COMBAT-NORSE API",
    version="1",
    description=(
        "Every trial operation of the pages and the command line. Authenticate with "
        "`Authorization: Bearer <token>` (get one with `combat-norse token create` or on "
        "/me/tokens/). Each route answers the JSON object the matching command prints; "
        "errors answer `{code, detail, field}`: 401 no or bad token, 403 refused (other_site, "
        "role, masked, password), 404 unknown id, 409 conflict or state, 422 bad input or a "
        "protocol rule, 423 locked."
    ),
    auth=TokenAuth(),
    parser=StrictJson(),
    urls_namespace="api",
    openapi_url="/openapi.json",
    docs_url="/docs",
)


@api.exception_handler(AuthenticationError)
def _unauthorized(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    detail = exc.detail if isinstance(exc, TokenRefused) else "a valid API token is required"
    return JsonResponse({"code": "unauthorized", "detail": detail, "field": None}, status=401,
                        headers={"WWW-Authenticate": "Bearer"})  # fmt: skip


def _field_path(loc: Any) -> str | None:
    """The field a validation error names: the keys and list indexes of its location, up to
    the first part that is neither (pydantic adds a union member's tag, ``literal['random']``
    or ``int``, after the field: a client is told ``seed``, not the tag)."""
    where: list[str] = []
    for part in loc:
        if part in ("body", "query", "path") and not where:
            continue
        if isinstance(part, int) or (isinstance(part, str) and part.isidentifier()):
            where.append(str(part))
            continue
        break
    return ".".join(where) or None


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    first = exc.errors[0] if exc.errors else {}
    field = _field_path(first.get("loc", ()))
    message = str(first.get("msg", "invalid request"))
    return JsonResponse({"code": "bad_input", "field": field,
                         "detail": f"{field}: {message}" if field else message},
                        status=API_BAD_INPUT_STATUS)  # fmt: skip


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    """ninja's own errors; an unreadable body is bad input like any other (422)."""
    unreadable = getattr(request, "unreadable_body", None)
    if unreadable is not None or exc.status_code == 400:
        detail = f"body: {unreadable or 'not valid JSON'}"
        field = getattr(request, "unreadable_field", None)
        return JsonResponse({"code": "bad_input", "field": field, "detail": detail},
                            status=API_BAD_INPUT_STATUS)  # fmt: skip
    return JsonResponse({"code": "http_error", "field": None, "detail": str(exc)},
                        status=exc.status_code)  # fmt: skip


@api.exception_handler(Exception)
def _shared_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    if domain_error(exc) is None:
        raise exc
    return error_response(exc, face="api")


def actor(request: HttpRequest) -> Any:
    """The token's user (the route's ``auth`` set it)."""
    return request.auth  # type: ignore[attr-defined]


def site_named(code: str | None) -> Any:
    """The site a ``site`` filter names (404 ``site`` for an unknown code), None without one."""
    from combat_norse.sites.access import access_site

    return access_site(code) if code else None


def reader_scope(request: HttpRequest) -> Any:
    """The token user's :class:`~combat_norse.sites.access.Scope` (their memberships now)."""
    from combat_norse.sites.access import scope_for

    return scope_for(actor(request))


@contextmanager
def read_audited(request: HttpRequest) -> Iterator[None]:
    """A refused read is audited as the pages' and the command line's are."""
    from combat_norse.audit.vocabulary import AuditAction
    from combat_norse.core.refusals import read_refusals_audited

    with read_refusals_audited(actor(request), AuditAction.READ_REFUSED):
        yield


def with_warnings(response: HttpResponse, warnings: Iterable[str]) -> None:
    """The warnings the command line prints on stderr, as one header (a JSON list)."""
    found = list(warnings)
    if found:
        response[WARNINGS_HEADER] = json.dumps(found, ensure_ascii=True)


def listing(response: HttpResponse, obj: dict[str, Any], key: str, *,
            limit: int | None, offset: int, **match: str | None) -> dict[str, Any]:  # fmt: skip
    """``obj`` with its list ``key`` filtered (each given ``match`` key equal) and cut to one
    page (``offset``, ``limit``); the number before paging in ``X-Total-Count``. Without
    filters or ``limit`` the object is exactly the command's."""
    rows = [r for r in obj[key]
            if all(v is None or str(r.get(k)) == v for k, v in match.items())]  # fmt: skip
    response[TOTAL_HEADER] = str(len(rows))
    end = None if limit is None else offset + limit
    return {**obj, key: rows[offset:end]}


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The site's 404 (``handler404``): under ``/api/`` the API's error object, so a client
    reads an unknown route as it reads any error; Django's page elsewhere."""
    if request.path == "/api" or request.path.startswith("/api/"):
        from combat_norse.core.errors import NotFound

        return error_response(NotFound("path", f"route {request.path[:80]!r}"), face="api")
    from django.views.defaults import page_not_found

    return page_not_found(request, exception or Exception())


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The site's 400 (``handler400``: a body over the upload limit, a bad host, ...): under
    ``/api/`` the API's bad-input object (422); Django's page elsewhere."""
    if request.path.startswith("/api/"):
        from combat_norse.core.errors import BadInput

        return error_response(BadInput("body", "too large or not readable"), face="api")
    from django.views.defaults import bad_request as page

    return page(request, exception or Exception())


def server_error(request: HttpRequest) -> HttpResponse:
    """The site's 500 (``handler500``): under ``/api/`` a JSON error object naming no cause
    (the cause is in the server's log); Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "server_error", "field": None,
                             "detail": "the server failed; the error is logged"}, status=500)
    from django.views.defaults import server_error as page

    return page(request)


class MethodNotAllowedJson:
    """A method a route does not take (``DELETE /api/v1/me``): ninja answers 405 with a text
    body; under ``/api/`` the answer is the API's error object (``method_not_allowed``), with
    ninja's ``Allow`` header. A method-override header is never read."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response: HttpResponse = self.get_response(request)
        if (response.status_code == 405 and request.path.startswith("/api/")
                and not response.get("Content-Type", "").startswith("application/json")):
            allowed = response.get("Allow", "")
            answer = JsonResponse({"code": "method_not_allowed", "field": None,
                                   "detail": f"{request.method} is not accepted here; "
                                             f"allowed: {allowed or 'none'}"}, status=405)
            answer["Allow"] = allowed
            return answer
        return response
