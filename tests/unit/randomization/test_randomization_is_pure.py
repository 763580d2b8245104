"""The randomization package is pure (DESIGN.md principle 1): no Django, no statsmodels."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import combat_norse.randomization as randomization

PACKAGE_DIR = Path(randomization.__file__).parent
FORBIDDEN = ("django", "statsmodels")
# Other first-party packages the algorithms may use: only the pure ones.
PURE_FIRST_PARTY = ("combat_norse.randomization", "combat_norse.protocol")


def _imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.req("§6")
def test_no_randomization_module_imports_django_or_statsmodels() -> None:
    sources = sorted(PACKAGE_DIR.rglob("*.py"))
    assert len(sources) >= 4
    offenders = [
        f"{path.name}: {name}"
        for path in sources
        for name in _imported_modules(path)
        if name.split(".")[0] in FORBIDDEN
        or (name.startswith("combat_norse") and not name.startswith(PURE_FIRST_PARTY))
    ]
    assert offenders == []


@pytest.mark.req("§6")
def test_importing_randomization_loads_no_django_module() -> None:
    code = (
        "import sys, combat_norse.randomization; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'statsmodels')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
