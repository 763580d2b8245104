"""Entry point of the ``combat-norse`` console script.

Each command lives in a module of this package that exposes ``register(subparsers)``; the
handler it sets as ``func`` receives the parsed arguments and returns the exit status. Pure
commands (screen, dose, schedule, power) never import Django; trial-operation commands set
Django up inside their handler.

Start-up time matters (a database command is mostly Django's own set-up), so only the module
that registers the command being run is imported: ``COMMAND_MODULES`` names each module's
commands. An unknown or unlisted command, or ``--help``, imports them all (slower, never
wrong); a test keeps the lists equal to what the modules register.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from combat_norse.audit.context import operating, os_operator
from combat_norse.cli.common import EXIT_BAD_INPUT, CliError, database_error_line

COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "combat_norse.cli.protocol_cmds": ("screen", "example", "dose", "schedule"),
    "combat_norse.cli.power": ("power",),
    "combat_norse.cli.trial_cmds": (
        "sites", "screening", "consent", "enroll", "participant", "assessor", "withdraw",
        "end-follow-up", "clocks", "randomization", "randomize", "allocation", "unmask",
        "unmasking",
    ),
    "combat_norse.cli.user_cmds": ("user",),
    "combat_norse.cli.crf_cmds": (
        "forms", "visits", "visit", "form", "sign", "signatures",
    ),
    "combat_norse.cli.safety_cmds": ("due", "safety", "alerts", "treatment"),
    "combat_norse.cli.audit_cmds": ("audit",),
    "combat_norse.cli.query_cmds": ("queries", "query"),
    "combat_norse.cli.token_cmds": ("token",),
}  # fmt: skip


class _Parser(argparse.ArgumentParser):
    """argparse that exits with status 2 and one line naming the problem."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"error: {message}\n")
        raise SystemExit(EXIT_BAD_INPUT)


def _modules_for(argv: Sequence[str] | None) -> list[str]:
    """The command modules to import: the one that registers ``argv``'s command, else all."""
    command = argv[0] if argv else None
    owners = [module for module, names in COMMAND_MODULES.items() if command in names]
    return owners or list(COMMAND_MODULES)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser for ``argv`` (only its command's module), or for every command (``None``)."""
    parser = _Parser(prog="combat-norse", description="COMBAT-NORSE trial platform")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in _modules_for(argv):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # a command module not built yet
                continue
            raise
        module.register(sub)
    return parser


def _check_text(argv: Sequence[str]) -> None:
    for arg in argv:
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            sys.stderr.write("error: arguments: not valid UTF-8 text\n")
            raise SystemExit(EXIT_BAD_INPUT) from None
        if any(ord(ch) < 32 and ch not in "\t" for ch in arg):
            sys.stderr.write("error: arguments: control characters are not allowed\n")
            raise SystemExit(EXIT_BAD_INPUT)


def configuration_error_line(exc: BaseException) -> str | None:
    """One stderr line for a bad setting or environment value (Django's
    ``ImproperlyConfigured``, which the settings' ``ConfigError`` is), naming it; ``None`` for
    anything else. Looked up only when Django is already imported."""
    exceptions = sys.modules.get("django.core.exceptions")
    if exceptions is None or not isinstance(exc, exceptions.ImproperlyConfigured):
        return None
    first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
    return f"error: configuration: {first}"


def main(argv: Sequence[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else list(argv)
    _check_text(given)
    parser = build_parser(given)
    args = parser.parse_args(given)
    from combat_norse.cli.client import PURE, client_mode

    remote = client_mode() and args.command not in PURE
    # The command line is the server operators' tool: every event it writes names the
    # operating-system user who ran it (the actor itself when there is no --as).
    with operating(os_operator()):
        try:
            if remote:  # COMBAT_NORSE_URL and _TOKEN: the command runs on that server
                from combat_norse.cli.client import run_remote

                status: int = run_remote(args)
            else:
                status = args.func(args)
        except CliError as exc:
            sys.stderr.write(exc.line() + "\n")
            return exc.exit_status
        except Exception as exc:
            line = database_error_line(exc) or configuration_error_line(exc)
            if line is None:
                raise
            sys.stderr.write(line + "\n")
            return EXIT_BAD_INPUT
    return status


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
