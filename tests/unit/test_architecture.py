"""The package's shape (issue 13, DESIGN.md "faces are thin and alike"), checked without a database.

- The import-linter contracts in ``pyproject.toml`` hold: the apps import only downwards
  (config, the faces, exports, allocation, participants, accounts, sites, core, audit) and the
  pure packages import no Django. grimp, import-linter's graph, counts imports inside functions;
  ``if TYPE_CHECKING:`` imports do not count.
- No two top-level packages import each other, even through a third (a cycle anywhere fails).
- The faces (``cli``, ``web``, a future ``api``) read through ``access_*`` and call ``do_*``:
  they touch no model manager and import no model module and no unchecked lookup.
- No app imports ``combat_norse.config`` (settings come through ``django.conf.settings``).
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import grimp
import pytest

import combat_norse

pytestmark = pytest.mark.req("#13")

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = ROOT / "pyproject.toml"
PACKAGE_DIR = Path(combat_norse.__file__).resolve().parent
FACES = ("cli", "web", "api")
MANAGER_ATTRIBUTES = frozenset({"objects", "unscoped", "_default_manager", "_base_manager"})


@cache
def import_graph() -> grimp.ImportGraph:
    return grimp.build_graph(
        "combat_norse", exclude_type_checking_imports=True, cache_dir=None
    )


def top_level_packages() -> list[str]:
    return sorted(
        p.name for p in PACKAGE_DIR.iterdir() if p.is_dir() and (p / "__init__.py").is_file()
    )


def contracts() -> dict[str, dict[str, object]]:
    config = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["importlinter"]
    return {c["id"]: c for c in config["contracts"]}


# ------------------------------------------------------------------ import-linter contracts
def test_the_import_contracts_in_pyproject_are_kept(capsys: pytest.CaptureFixture[str]) -> None:
    from importlinter.cli import lint_imports

    status = lint_imports(config_filename=str(PYPROJECT), no_cache=True, no_logo=True)
    report = capsys.readouterr().out
    assert status == 0, report
    assert "2 kept, 0 broken" in report, report


def test_every_top_level_package_is_in_a_contract() -> None:
    """A new app must be given its layer: one that is in no contract is checked by none."""
    found = contracts()
    layered: set[str] = set()
    for layer in found["layers"]["layers"]:  # type: ignore[union-attr]
        layered |= {name.strip() for name in str(layer).split("|")}
    pure = {str(m).removeprefix("combat_norse.") for m in found["pure"]["source_modules"]}  # type: ignore[union-attr]
    assert found["pure"]["forbidden_modules"] == ["django"]
    assert set(top_level_packages()) - layered - pure == set()
    assert layered & pure == set()


def test_the_import_graph_counts_imports_inside_functions() -> None:
    """The command line imports Django apps only inside its handlers; grimp must see them, or
    the contracts would pass a cycle made of late imports."""
    source = (PACKAGE_DIR / "cli" / "trial_cmds.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    top = {n.module for n in tree.body if isinstance(n, ast.ImportFrom)}
    assert "combat_norse.allocation.actions" not in top  # imported inside a handler only
    assert import_graph().direct_import_exists(
        importer="combat_norse.cli.trial_cmds", imported="combat_norse.allocation.actions"
    )


def _package_edges() -> dict[str, set[str]]:
    graph = import_graph()
    edges: dict[str, set[str]] = {}
    for a in top_level_packages():
        for b in top_level_packages():
            if a != b and graph.direct_import_exists(
                importer=f"combat_norse.{a}", imported=f"combat_norse.{b}", as_packages=True
            ):
                edges.setdefault(a, set()).add(b)
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_the_cycle_finder_finds_a_cycle_through_a_third_package() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": {"c"}}) == []


def test_no_two_top_level_packages_import_each_other() -> None:
    edges = _package_edges()
    assert edges, "the graph found no imports at all"
    assert _cycles(edges) == []


# ------------------------------------------------------------------ the faces rule
def _face_modules() -> Iterator[Path]:
    for face in FACES:
        folder = PACKAGE_DIR / face
        if folder.is_dir():
            yield from sorted(folder.rglob("*.py"))


def _type_checking_blocks(tree: ast.AST) -> set[int]:
    """ids of the nodes inside ``if TYPE_CHECKING:`` blocks (imports there are types only)."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", "")
            if name == "TYPE_CHECKING":
                for child in node.body:
                    inside |= {id(n) for n in ast.walk(child)}
    return inside


def _imported(node: ast.AST) -> list[str]:
    """Modules an import statement (at any depth) or ``import_module("...")`` names."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level:  # relative: faces use absolute imports; report it so it is looked at
            return [f"{'.' * node.level}{node.module or ''}"]
        base = node.module or ""
        return [base] + [f"{base}.{alias.name}" for alias in node.names]
    if (
        isinstance(node, ast.Call)
        and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return [node.args[0].value]
    return []


def face_offences(source: str) -> list[str]:
    """What in one face module bypasses the access layer (line: what)."""
    tree = ast.parse(source)
    typing_only = _type_checking_blocks(tree)
    found: list[str] = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Attribute) and node.attr in MANAGER_ATTRIBUTES:
            found.append(f"{node.lineno}: .{node.attr}")
        for module in _imported(node):  # the module first, then module.name per name
            parts = module.split(".")
            if module.startswith("."):
                found.append(f"{node.lineno}: relative import {module}")
            elif ("lookups" in parts[1:] and parts[0] == "combat_norse") or "models" in parts:
                found.append(f"{node.lineno}: imports {module}")
            else:
                continue
            break
    return found


@pytest.mark.parametrize(
    "source",
    [
        "from django.contrib.auth.models import User\n",
        "def f():\n    from combat_norse.sites.models import Membership\n",
        "def f():\n    import combat_norse.participants.models\n",
        "def f(m):\n    return m.objects.all()\n",
        "def f(P):\n    return P.unscoped.get(pk=1)\n",
        "def f():\n    from combat_norse.participants.lookups import screening_by_id\n",
        "def f():\n    from combat_norse.participants import lookups\n",
        "import importlib\nimportlib.import_module('combat_norse.participants.lookups')\n",
        "def f(M):\n    return M._default_manager.all()\n",
    ],
)
def test_the_faces_rule_catches_a_manager_or_an_unchecked_lookup(source: str) -> None:
    assert face_offences(source) != []


def test_the_faces_rule_ignores_type_checking_imports_and_access_functions() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from django.contrib.auth.models import User\n"
        "def f():\n"
        "    from combat_norse.participants.access import access_participant\n"
        "    from combat_norse.participants.actions import do_screen\n"
    )
    assert face_offences(source) == []


def test_no_face_touches_a_model_manager_or_an_unchecked_lookup() -> None:
    modules = list(_face_modules())
    assert len(modules) >= 5  # the command line and the pages are found
    offences = {
        path.relative_to(PACKAGE_DIR).as_posix(): face_offences(path.read_text(encoding="utf-8"))
        for path in modules
    }
    assert {k: v for k, v in offences.items() if v} == {}


# ------------------------------------------------------------------ settings
def test_no_app_imports_the_config_package() -> None:
    graph = import_graph()
    config_modules = {m for m in graph.modules if m.split(".")[:2] == ["combat_norse", "config"]}
    assert config_modules
    importers = {
        importer
        for module in config_modules
        for importer in graph.find_modules_that_directly_import(module)
        if importer.split(".")[:2] != ["combat_norse", "config"]
    }
    assert importers == set()
