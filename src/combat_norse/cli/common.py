"""Shared plumbing for the ``combat-norse`` command line (§13 exit statuses).

Every command prints one JSON object (or list) on stdout. Failures raise one of the
exceptions below; :func:`combat_norse.cli.main.main` turns them into one line on stderr and
the contract's exit status: ``2`` bad input, ``3`` refused by a rule or permission.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_FAILED_CHECK = 1
EXIT_BAD_INPUT = 2
EXIT_REFUSED = 3


class CliError(Exception):
    """An error that ends the command with ``exit_status`` and one line on stderr."""

    exit_status = EXIT_BAD_INPUT

    def line(self) -> str:
        return f"error: {self}"


class BadInput(CliError):
    """Malformed file or value, unknown id, user or site (exit 2)."""

    exit_status = EXIT_BAD_INPUT


class Refused(CliError):
    """Refused by a protocol rule or a permission (exit 3); the line begins ``refused:``."""

    exit_status = EXIT_REFUSED

    def line(self) -> str:
        return f"refused: {self}"


#: The one table from a refusal's reason code (combat_norse.core.errors.Reason) to the exit
#: status (§13: every refusal is 3). Bad input and unknown ids are 2.
EXIT_STATUS: dict[str, int] = {
    "other_site": EXIT_REFUSED,
    "role": EXIT_REFUSED,
    "masked": EXIT_REFUSED,
    "locked": EXIT_REFUSED,
    "conflict": EXIT_REFUSED,
    "reason_required": EXIT_REFUSED,
    "password": EXIT_REFUSED,
    "no_valid_consent": EXIT_REFUSED,
    "rule": EXIT_REFUSED,
    "state": EXIT_REFUSED,
    "unavailable": EXIT_REFUSED,
}


@contextmanager
def translate_errors() -> Iterator[None]:
    """Turn the shared errors of ``combat_norse.core.errors`` (and the pure packages' errors)
    into the command line's: bad input and unknown ids exit 2, refusals exit 3."""
    try:
        yield
    except Exception as exc:
        from combat_norse.core.errors import BadInput as DomainBadInput
        from combat_norse.core.errors import NotFound, domain_error
        from combat_norse.core.errors import Refused as DomainRefused

        err = domain_error(exc)
        if err is None:
            raise
        if isinstance(err, DomainRefused):
            refused = Refused(err.text)
            refused.exit_status = EXIT_STATUS[err.code.value]
            raise refused from None
        if isinstance(err, NotFound | DomainBadInput):
            raise BadInput(str(err)) from None
        raise


MAX_INPUT_BYTES = 1 << 20
"""A screening record is a few hundred bytes; anything over 1 MiB is refused unread."""


def _finite(obj: Any) -> Any:
    """NaN and infinity are not JSON: they become null."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def emit_json(obj: Any) -> None:
    """Print ``obj`` as one JSON document on stdout (non-finite numbers as null)."""
    sys.stdout.write(json.dumps(_finite(obj), ensure_ascii=False, allow_nan=False) + "\n")
    sys.stdout.flush()


def read_json_source(path: str) -> Any:
    """Read a JSON document from ``path`` (``-`` = standard input); BadInput on failure.

    The bytes are read as they are (at most :data:`MAX_INPUT_BYTES`) and decoded as strict
    UTF-8 from a file and from stdin alike; a key that appears twice in one object is bad input
    (Python's ``json`` would keep the last one). See :mod:`combat_norse.protocol.jsoninput`.
    """
    # imported here: commands that read no file (``sites``) start without the protocol package
    from combat_norse.protocol.jsoninput import JsonInputError, loads_strict, shown

    try:
        raw: bytes | str
        if path == "-":
            # the bytes under the text layer; a text-only stream (tests, embedding) is read as
            # text, and loads_strict still refuses the lone surrogates of undecodable bytes
            stream = getattr(sys.stdin, "buffer", None)
            raw = (stream or sys.stdin).read(MAX_INPUT_BYTES + 1)
        else:
            with Path(path).open("rb") as fh:
                raw = fh.read(MAX_INPUT_BYTES + 1)
    except FileNotFoundError:
        raise BadInput(f"file: {shown(path)} not found") from None
    except OSError as exc:
        raise BadInput(f"file: cannot read {shown(path)}: {exc.__class__.__name__}") from None
    if len(raw) > MAX_INPUT_BYTES:
        raise BadInput(f"file: larger than {MAX_INPUT_BYTES} bytes")
    try:
        return loads_strict(raw)
    except JsonInputError as exc:
        raise BadInput(str(exc)) from None
    except json.JSONDecodeError as exc:
        raise BadInput(f"file: not valid JSON (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise BadInput("file: JSON nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise BadInput(f"file: unreadable number ({str(exc)[:80]})") from None


def warn(message: str) -> None:
    """One warning line on stderr (never identifiers of participants; callers cut and escape
    what they echo with :func:`combat_norse.protocol.jsoninput.shown`)."""
    sys.stderr.write(f"warning: {message}\n")


def optional_site(code: str | None) -> Any:
    """The site a ``--site CODE`` option names (``NotFound`` for an unknown code), or None."""
    from combat_norse.sites.access import access_site

    return access_site(code) if code else None


def audited_read(actor: Any) -> Any:
    """Audit a refused read (other site, role, masked) like a refused action; the access layer
    names the record it refused."""
    from combat_norse.audit.vocabulary import AuditAction
    from combat_norse.core.refusals import read_refusals_audited

    return read_refusals_audited(actor, AuditAction.READ_REFUSED)


def read_password(args: Any, purpose: str = "re-authentication") -> str:
    """A password asked again: one line of standard input with ``--password-stdin``, else a
    prompt on a terminal; with neither it is bad input (never an argument: other local users
    can see arguments)."""
    if getattr(args, "password_stdin", False):
        return sys.stdin.readline().rstrip("\r\n")
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass(f"password ({purpose}): ")
    raise BadInput(f"password: {purpose} needs the password again; use --password-stdin")


def add_as_option(parser: Any, *, required: bool = True) -> None:
    """The ``--as USERNAME`` option of every participant operation (§13); not required (and
    refused if given) against a server, where the API token says who acts
    (:mod:`combat_norse.cli.client`)."""
    from combat_norse.cli.client import client_mode

    required = required and not client_mode()
    parser.add_argument("--as", dest="as_user", required=required, metavar="USERNAME",
                        help="run with this user's memberships (audited as theirs)")  # fmt: skip


def setup_django() -> None:
    """Configure Django for a database-backed command (called inside handlers, never at
    import, so the pure commands start without it)."""
    import gc
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "combat_norse.config.settings")
    import django
    from django.apps import apps

    if apps.ready:  # already set up in this process (tests calling main() in-process)
        django.setup()
        return
    # The set-up imports ~600 modules and builds every model class: objects that live as long
    # as the process. The cyclic garbage collector would scan them again and again and find
    # nothing (about a sixth of the start-up's CPU), so it pauses for the set-up, and
    # gc.freeze() then moves what the set-up made out of the collector's view.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        django.setup()
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


NOT_SET_UP = "error: database not set up: run make migrate (or make run) first"
NOT_UP_TO_DATE = "error: database not up to date: run make migrate first"

# PostgreSQL SQLSTATEs: undefined table / column; database does not exist; bad credentials.
_PG_UNDEFINED_TABLE, _PG_UNDEFINED_COLUMN = "42P01", "42703"
_PG_CANNOT_CONNECT = ("3D000", "28000", "28P01")


def database_error_line(exc: BaseException) -> str | None:
    """One stderr line for a database that was never migrated, is behind its migrations, or
    cannot be reached; ``None`` for any other exception (which keeps its traceback).

    Only looks at Django's exception classes when Django is already imported, so the pure
    commands never import it.
    """
    db = sys.modules.get("django.db")
    if db is None or not isinstance(exc, db.OperationalError | db.ProgrammingError):
        return None
    text = str(exc).strip()
    sqlstate = getattr(exc.__cause__, "sqlstate", None)
    if sqlstate == _PG_UNDEFINED_TABLE or text.startswith("no such table"):
        return NOT_SET_UP
    if sqlstate == _PG_UNDEFINED_COLUMN or text.startswith("no such column"):
        return NOT_UP_TO_DATE
    connect_failed = (
        text.startswith(("connection failed", "unable to open database file"))
        or sqlstate in _PG_CANNOT_CONNECT
    )
    if isinstance(exc, db.OperationalError) and connect_failed:
        first = text.splitlines()[0][:300] if text else type(exc).__name__
        return f"error: database unavailable (DATABASE_URL): {first}"
    return None


def active_user(username: str, option: str = "as") -> Any:
    """The active user named on the command line; BadInput naming ``option`` otherwise."""
    from combat_norse.accounts.access import access_user
    from combat_norse.core.errors import NotFound

    try:
        return access_user(username)
    except NotFound:
        raise BadInput(f"{option}: unknown or inactive user {username!r}") from None
