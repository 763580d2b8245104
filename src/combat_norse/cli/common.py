"""Shared plumbing for the ``combat-norse`` command line (PROTOCOL.md §13 exit statuses).

Every command prints one JSON object (or list) on stdout. Failures raise one of the
exceptions below; :func:`combat_norse.cli.main.main` turns them into one line on stderr and
the contract's exit status: ``2`` bad input, ``3`` refused by a rule or permission.
"""

from __future__ import annotations

import json
import sys
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


def emit_json(obj: Any) -> None:
    """Print ``obj`` as one JSON document on stdout."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, sort_keys=False) + "\n")
    sys.stdout.flush()


def read_json_source(path: str) -> Any:
    """Read a JSON document from ``path`` (``-`` = standard input); BadInput on failure."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(f"file: {path} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"file: cannot read {path}: {exc.__class__.__name__}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"file: not valid JSON (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise BadInput("file: JSON nested too deeply") from None


def warn(message: str) -> None:
    """One warning line on stderr (never identifiers of participants)."""
    sys.stderr.write(f"warning: {message}\n")
