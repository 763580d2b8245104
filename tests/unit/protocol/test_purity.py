"""The protocol package is pure Python: no Django (DESIGN.md principle 1)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import combat_norse.protocol

PROTOCOL_DIR = Path(combat_norse.protocol.__file__).parent
FORBIDDEN = ("django",)


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value)
    return names


@pytest.mark.req("#2")
def test_no_protocol_module_imports_django() -> None:
    sources = sorted(PROTOCOL_DIR.rglob("*.py"))
    assert len(sources) >= 8
    offenders = {
        str(path.relative_to(PROTOCOL_DIR)): sorted(
            name for name in _imported_modules(path) if name.split(".")[0] in FORBIDDEN
        )
        for path in sources
    }
    assert {k: v for k, v in offenders.items() if v} == {}


@pytest.mark.req("#2")
def test_importing_the_protocol_package_loads_no_django() -> None:
    code = (
        "import sys, combat_norse.protocol, combat_norse.protocol.safety, "
        "combat_norse.protocol.units, combat_norse.cli.protocol_cmds; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"
