"""The pages' answer to the shared errors (core/errors.py): one page, the status from the one
table in web/errors.py, the refusal's reason in plain words.

A record of another site answers 404 like an unknown id (participants/access.py: on the pages,
existence does not leak across sites); the attempt is audited by the action or read that
refused it.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from combat_norse.core.errors import NotFound, Reason, Refused, domain_error
from combat_norse.web.errors import NOT_FOUND_STATUS, status_for


def reason_heading(code: Reason) -> str:
    """The reason's plain words, as a heading."""
    headings = {
        Reason.OTHER_SITE: _("Not found"),
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


def error_page(request: HttpRequest, exc: BaseException) -> HttpResponse | None:
    """The error page of a shared error, or None for any other exception."""
    err = domain_error(exc)
    if err is None:
        return None
    if isinstance(err, NotFound) or (isinstance(err, Refused) and err.code is Reason.OTHER_SITE):
        return render(request, "web/error.html", {
            "heading": _("Not found"),
            "detail": _("There is no such record, or it is not at one of your sites."),
            "refused": "",
        }, status=NOT_FOUND_STATUS)  # fmt: skip
    if isinstance(err, Refused):
        return render(request, "web/error.html", {
            "heading": reason_heading(err.code),
            "detail": "",
            "refused": err.text,
        }, status=status_for(err))  # fmt: skip
    return render(request, "web/error.html", {
        "heading": _("Something in the request is not right"),
        "detail": str(err),
        "refused": "",
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
