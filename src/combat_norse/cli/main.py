"""Entry point of the ``combat-norse`` console script.

Each command lives in a module of this package that exposes ``register(subparsers)``; the
handler it sets as ``func`` receives the parsed arguments and returns the exit status. Pure
commands (screen, dose, schedule, power) never import Django; trial-operation commands set
Django up inside their handler.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from combat_norse.cli.common import EXIT_BAD_INPUT, CliError, database_error_line

COMMAND_MODULES: tuple[str, ...] = (
    "combat_norse.cli.protocol_cmds",
    "combat_norse.cli.power",
    "combat_norse.cli.trial_cmds",
    "combat_norse.cli.audit_cmds",
)


class _Parser(argparse.ArgumentParser):
    """argparse that exits with status 2 and one line naming the problem."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"error: {message}\n")
        raise SystemExit(EXIT_BAD_INPUT)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="combat-norse", description="COMBAT-NORSE trial platform")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in COMMAND_MODULES:
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    _check_text(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    try:
        status: int = args.func(args)
    except CliError as exc:
        sys.stderr.write(exc.line() + "\n")
        return exc.exit_status
    except Exception as exc:
        line = database_error_line(exc)
        if line is None:
            raise
        sys.stderr.write(line + "\n")
        return EXIT_BAD_INPUT
    return status


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
