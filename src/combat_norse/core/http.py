"""HTTP statuses of the shared errors, for the pages and the API: one table, as
``cli/common.py`` has one for exit statuses (§13, issue 13). It lives in ``core`` so that both
faces (``web``, ``api``), which may not import each other, read the same table;
``web/errors.py`` re-exports it.

One choice differs per face and is made here, not in the faces: bad input answers **400** on
the pages (a form sent back with its field marked) and **422** on the API (issue 18: "422 with
the field for bad input"; a request body the server understood but cannot accept). Pass
``face="api"``.

A face never matches on message text: it answers :func:`status_for` with the body of
:func:`error_body`, ``{"code": ..., "detail": ...}``, where ``code`` is the refusal's
:class:`~combat_norse.core.errors.Reason` (``bad_input`` and ``not_found`` for the other two
errors) and ``detail`` the words the command line prints after ``refused:`` / ``error:``.

``locked`` answers 423 Locked, not 409: a client can tell "this record is locked" (retrying will
not help until it is unlocked) from ``conflict`` (reload the record and try again).
"""

from __future__ import annotations

from typing import Any

from django.http import JsonResponse

from combat_norse.core.errors import BadInput, NotFound, Reason, Refused, domain_error

#: The one table from a refusal's reason code to its HTTP status.
HTTP_STATUS: dict[Reason, int] = {
    Reason.OTHER_SITE: 403,
    Reason.ROLE: 403,
    Reason.MASKED: 403,
    Reason.PASSWORD: 403,
    Reason.LOCKED: 423,
    Reason.CONFLICT: 409,
    Reason.REASON_REQUIRED: 422,
    Reason.NO_VALID_CONSENT: 422,
    Reason.RULE: 422,
    Reason.STATE: 409,
    Reason.UNAVAILABLE: 503,
}

BAD_INPUT_STATUS = 400
API_BAD_INPUT_STATUS = 422
NOT_FOUND_STATUS = 404
BAD_INPUT_STATUSES: dict[str, int] = {"web": BAD_INPUT_STATUS, "api": API_BAD_INPUT_STATUS}


def status_for(exc: BaseException, face: str = "web") -> int:
    """The HTTP status of a shared error (or of a pure package's error the core maps);
    TypeError for any other exception, which is a server error and is not translated."""
    err = domain_error(exc)
    if isinstance(err, Refused):
        return HTTP_STATUS[err.code]
    if isinstance(err, NotFound):
        return NOT_FOUND_STATUS
    if isinstance(err, BadInput):
        return BAD_INPUT_STATUSES[face]
    raise TypeError(f"not a shared error: {type(exc).__name__}")


def error_body(exc: BaseException) -> dict[str, Any]:
    """``{"code", "detail", "field"}``: the same three keys in every error (``field`` names the
    input for bad input and unknown ids, null for a refusal), as the API's ``ErrorOut``."""
    err = domain_error(exc)
    if isinstance(err, Refused):
        return {"code": err.code.value, "field": None, "detail": err.text}
    if isinstance(err, NotFound):
        return {"code": "not_found", "field": err.field, "detail": str(err)}
    if isinstance(err, BadInput):
        return {"code": "bad_input", "field": err.field, "detail": str(err)}
    raise TypeError(f"not a shared error: {type(exc).__name__}")


def error_response(exc: BaseException, face: str = "web") -> JsonResponse:
    """The JSON answer of a route to a shared error."""
    return JsonResponse(error_body(exc), status=status_for(exc, face))


class RejectNulBytesMiddleware:
    """A NUL byte in the path, the query string or a posted form's fields is bad input before
    any view runs (pages 400, API 422): no identifier, code or text of the trial holds one,
    and PostgreSQL refuses it in a text value (every lookup by it was a 500)."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        from django.http import HttpResponseBadRequest

        fields = [request.path, *(f"{k}{v}" for k, vs in request.GET.lists() for v in vs)]
        if request.content_type == "application/x-www-form-urlencoded":
            fields += [f"{k}{v}" for k, vs in request.POST.lists() for v in vs]
        if any("\x00" in f for f in fields):
            if request.path.startswith("/api/"):
                return error_response(BadInput("request", "a NUL byte is not accepted"),
                                      face="api")  # fmt: skip
            return HttpResponseBadRequest("a NUL byte is not accepted")
        return self.get_response(request)
