"""The errors every face shares (DESIGN.md "faces are thin and alike").

An action or an ``access_*`` read raises one of three exceptions, each with a stable code:

- :class:`BadInput` — malformed or missing input; ``field`` names it (exit 2, HTTP 400);
- :class:`NotFound` — no record with that identifier; ``field`` names the identifier (exit 2,
  HTTP 404);
- :class:`Refused` — refused by a protocol rule or a permission; ``code`` is a :class:`Reason`
  (exit 3, HTTP per :data:`combat_norse.web.errors.HTTP_STATUS`).

Faces never match on message text: the command line maps codes to exit statuses in
``cli/common.py`` and the pages and API map them to HTTP statuses in ``web/errors.py``, one table
each. A refusal's line is ``refused: <reason text>`` optionally followed by `` (detail)``: the
detail says what would be needed and never names another site's data.

The pure packages (``protocol``, ``randomization``, ``stats``) keep their own exception types;
:func:`domain_error` maps them.
"""

from __future__ import annotations

import enum

from django.core.exceptions import PermissionDenied


class Reason(enum.StrEnum):
    """Why an action or read was refused (§13). The value is the stable code."""

    OTHER_SITE = "other_site"  # the record belongs to a site where the user holds no role
    ROLE = "role"  # a role at that site, but not one that may do this
    MASKED = "masked"  # the user is masked and the data would reveal the arm
    LOCKED = "locked"  # the record is locked
    CONFLICT = "conflict"  # the record changed since the version the user saw
    REASON_REQUIRED = "reason_required"  # a change to saved data needs a reason
    PASSWORD = "password"  # noqa: S105 — re-authentication failed (or is locked out)
    NO_VALID_CONSENT = "no_valid_consent"  # no consent covers this
    RULE = "rule"  # a protocol rule (eligibility, I5 day limit, cohort)
    STATE = "state"  # the record's state does not allow it (already enrolled, ended, ...)
    UNAVAILABLE = "unavailable"  # a resource is exhausted (randomization list)

    @property
    def text(self) -> str:
        """The words after ``refused:`` (rules and states speak for themselves)."""
        return "" if self in _SELF_DESCRIBING else self.value.replace("_", " ")


_SELF_DESCRIBING = frozenset({Reason.RULE, Reason.STATE, Reason.UNAVAILABLE})


class DomainError(Exception):
    """Base of the errors faces translate."""


class BadInput(DomainError, ValueError):
    """Malformed or missing input; ``field`` names it. ``str()`` is ``field: message``."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class NotFound(DomainError, LookupError):
    """No record with that identifier; ``field`` names the identifier (``study_id``, ...)."""

    def __init__(self, field: str, what: str) -> None:
        self.field = field
        self.what = what
        super().__init__(f"{field}: unknown {what}")


class Refused(DomainError, PermissionDenied):
    """Refused by a rule or a permission. ``str()`` is the text after ``refused:``.

    ``Refused(Reason.ROLE, "needs site_coordinator at YNH")`` reads ``role (needs ...)``;
    ``Refused(Reason.RULE, "I5 study day 8 > 7")`` reads ``I5 study day 8 > 7``.
    It is a ``PermissionDenied`` so that a Django view that lets it escape answers 403.
    """

    def __init__(self, code: Reason, detail: str = "") -> None:
        self.code = Reason(code)
        self.detail = detail
        # what was refused, for the audit of the attempt only (never shown to the user):
        # (object_type, object_id, site_code, participant_ref), set by the access layer
        self.subject: tuple[str, str, str | None, str | None] | None = None
        super().__init__(self.text)

    @property
    def reason(self) -> str:
        """The reason's words (``other site``, ``role``, ...), or the rule itself."""
        return self.code.text or self.detail

    @property
    def text(self) -> str:
        words = self.code.text
        if not words:
            return self.detail or self.code.value
        return f"{words} ({self.detail})" if self.detail else words

    def __str__(self) -> str:
        return self.text

    @classmethod
    def rule(cls, detail: str) -> Refused:
        return cls(Reason.RULE, detail)

    @classmethod
    def state(cls, detail: str) -> Refused:
        return cls(Reason.STATE, detail)


ECHO_LIMIT = 40


def shown(value: object) -> str:
    """``value`` as echoed in an error line: at most ECHO_LIMIT characters (an ellipsis marks the
    cut), control characters escaped, so a hostile argument cannot flood a log."""
    text = str(value)
    cut = text[:ECHO_LIMIT]
    escaped = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in cut)
    return escaped + ("…" if len(text) > ECHO_LIMIT else "")


def require_reason(reason: str, what: str = "this change") -> str:
    """A state rule's demand for a reason (§13, §14): blank is refused
    ``reason required``; returns the stripped reason."""
    if not reason or not reason.strip():
        raise Refused(Reason.REASON_REQUIRED, f"give a reason for {what}")
    return reason.strip()


def domain_error(exc: BaseException) -> DomainError | None:
    """The shared error for an exception of a pure package (or None if it is not one)."""
    from combat_norse.protocol import RecordError

    if isinstance(exc, DomainError):
        return exc
    if isinstance(exc, RecordError):
        return BadInput(exc.field, exc.problem)
    return None
