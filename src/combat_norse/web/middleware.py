"""The pages' answer to the shared errors (core/errors.py): one page, the status from the one
table in web/errors.py, the refusal's reason in plain words.

A record of another site answers 403 with the reason ``other_site``, as the command line and the
API do (PROTOCOL §13: "refused `other site` before any role check; pages and the API answer the
same reason"); an unknown id answers 404. The attempt is audited by the action or read that
refused it.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from combat_norse.core.errors import NotFound, Reason, Refused, domain_error
from combat_norse.web.errors import NOT_FOUND_STATUS, error_response, status_for


def reason_heading(code: Reason) -> str:
    """The reason's plain words, as a heading."""
    headings = {
        Reason.OTHER_SITE: _("This record is not at one of your sites"),
        Reason.ROLE: _("This is not for your role"),
        Reason.MASKED: _("Hidden from masked assessors"),
        Reason.LOCKED: _("This form is locked"),
        Reason.CONFLICT: _("Someone else saved this in the meantime"),
        Reason.REASON_REQUIRED: _("A reason is required"),
        Reason.PASSWORD: _("Password not accepted"),
        Reason.NO_VALID_CONSENT: _("No valid consent"),
        Reason.RULE: _("Not allowed by the protocol"),
        Reason.STATE: _("Not possible in this state"),
        Reason.UNAVAILABLE: _("Not available"),
    }
    return headings[code]


def wants_json(request: HttpRequest) -> bool:
    """A client that asks for JSON and not HTML (a script, htmx excepted) gets the API's body,
    ``{"code": ..., "detail": ...}``, with the same status."""
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def error_page(request: HttpRequest, exc: BaseException) -> HttpResponse | None:
    """The error page of a shared error, or None for any other exception."""
    err = domain_error(exc)
    if err is None:
        return None
    if wants_json(request):
        return error_response(err)
    code = err.code.value if isinstance(err, Refused) else (
        "not_found" if isinstance(err, NotFound) else "bad_input")
    if isinstance(err, NotFound):
        return render(request, "web/error.html", {
            "heading": _("Not found"),
            "detail": _("There is no such record."),
            "refused": "", "code": code,
        }, status=NOT_FOUND_STATUS)  # fmt: skip
    if isinstance(err, Refused):
        return render(request, "web/error.html", {
            "heading": reason_heading(err.code),
            "detail": "",
            "refused": err.text, "code": code,
        }, status=status_for(err))  # fmt: skip
    return render(request, "web/error.html", {
        "heading": _("Something in the request is not right"),
        "detail": str(err),
        "refused": "", "code": code,
    }, status=status_for(err))  # fmt: skip


class DomainErrorPageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if request.path.startswith("/admin/"):  # the admin answers in its own way
            return None
        return error_page(request, exception)
