"""The command line imports only the module of the command being run (issue 14: start-up
time), so ``COMMAND_MODULES`` must name exactly the commands each module registers."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys

import pytest

from combat_norse.cli.main import COMMAND_MODULES, build_parser

pytestmark = pytest.mark.req("#14")


@pytest.mark.parametrize("module", list(COMMAND_MODULES))
def test_each_module_registers_exactly_the_commands_listed_for_it(module: str) -> None:
    sub = argparse.ArgumentParser().add_subparsers()
    importlib.import_module(module).register(sub)
    assert tuple(sub.choices) == COMMAND_MODULES[module], (
        f"update COMMAND_MODULES[{module!r}] in cli/main.py"
    )


def _commands(parser: argparse.ArgumentParser) -> set[str]:
    (sub,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return set(sub.choices)


def test_a_known_command_builds_only_its_module_and_anything_else_builds_all() -> None:
    everything = set().union(*COMMAND_MODULES.values())
    pure = {"screen", "example", "dose", "schedule"}
    assert _commands(build_parser(["dose", "--drug", "anakinra"])) == pure
    assert _commands(build_parser(["audit", "verify"])) == {"audit"}
    for argv in (None, [], ["--help"], ["no-such-command"], ["-x"]):
        assert _commands(build_parser(argv)) == everything


def test_parsing_a_pure_command_imports_neither_django_nor_numpy() -> None:
    code = (
        "import sys; from combat_norse.cli.main import build_parser;"
        "build_parser(sys.argv[1:]).parse_args(sys.argv[1:]);"
        "print(sorted(m for m in ('django', 'numpy', 'scipy', 'combat_norse.protocol',"
        " 'combat_norse.cli.trial_cmds') if m in sys.modules))"
    )
    for argv, loaded in ((["dose", "--drug", "anakinra", "--weight-kg", "20"],
                          "['combat_norse.protocol']"),
                         (["sites"], "['combat_norse.cli.trial_cmds']"),
                         (["power", "--odds-ratio", "1.6"], "[]")):  # fmt: skip
        out = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True,
                             text=True, check=True, timeout=60).stdout.strip()  # fmt: skip
        assert out == loaded, argv
