"""Apps read settings only through ``django.conf.settings`` (DESIGN.md principle 8): no module
under ``src/combat_norse`` other than the ``config`` package imports ``combat_norse.config``,
at module level or inside a function, absolutely, relatively or via ``importlib``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "combat_norse"
FORBIDDEN = "combat_norse.config"


def _resolve(module: str | None, level: int, path: Path) -> str:
    """The absolute name of ``from <dots><module> import ...`` written in ``path``."""
    if level == 0:
        return module or ""
    parts = ["combat_norse", *path.relative_to(PACKAGE).parent.parts]
    base = parts[: len(parts) - (level - 1)]
    return ".".join([*base, module] if module else base)


def config_imports(path: Path, source: str | None = None) -> list[str]:
    """``line: name`` for every import of combat_norse.config in the module at ``path`` (its
    text is ``source`` when given, else read from ``path``)."""
    text = path.read_text(encoding="utf-8") if source is None else source
    found = []
    for node in ast.walk(ast.parse(text, filename=str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node.module, node.level, path)
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Call):
            func = node.func
            called = getattr(func, "attr", None) or getattr(func, "id", None)
            if called in ("import_module", "__import__") and node.args:
                arg = node.args[0]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    names = [arg.value]
        for name in names:
            if name == FORBIDDEN or name.startswith(FORBIDDEN + "."):
                found.append(f"{node.lineno}: {name}")
    return found


def _app_modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.relative_to(PACKAGE).parts[0] != "config")


@pytest.mark.req("#13")
def test_no_app_imports_the_config_package() -> None:
    offenders = {str(p.relative_to(PACKAGE)): config_imports(p) for p in _app_modules()}
    assert {k: v for k, v in offenders.items() if v} == {}


@pytest.mark.parametrize(
    ("source", "where"),
    [("import combat_norse.config.settings\n", "sites/x.py"),
     ("def f():\n    from combat_norse.config import settings\n", "sites/x.py"),
     ("from combat_norse import config\n", "sites/x.py"),
     ("def f():\n    from ..config.env import env_bool\n", "sites/x.py"),
     ("from .. import config\n", "sites/x.py"),
     ("import importlib\nimportlib.import_module('combat_norse.config.settings')\n", "x.py")],
)  # fmt: skip
def test_the_scan_finds_every_form_of_import(source: str, where: str) -> None:
    assert config_imports(PACKAGE / where, source), source


def test_the_scan_allows_the_settings_module_name_as_a_string() -> None:
    assert config_imports(PACKAGE / "cli" / "common.py") == []
