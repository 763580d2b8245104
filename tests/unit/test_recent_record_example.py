"""``examples/recent_record.py`` (the README's randomization walkthrough) gives a record that
is still in the randomization window now, with the example's intervals kept (issue 14)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import pytest

from combat_norse.protocol import evaluate, parse_screening_record

pytestmark = pytest.mark.req("#14")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("recent_record", EXAMPLES / "recent_record.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_moved_record_is_randomizable_now_with_its_intervals_kept() -> None:
    original = json.loads((EXAMPLES / "screening-randomized.json").read_text(encoding="utf-8"))
    now = datetime.now(UTC)
    moved = _module().moved_to_now(original, now)
    evaluated = datetime.fromisoformat(moved["evaluated_at"])
    assert now - timedelta(minutes=2) < evaluated < now
    for name in ("se_onset", "febrile_illness_onset"):
        before = datetime.fromisoformat(original["evaluated_at"]) - datetime.fromisoformat(
            original[name]
        )
        assert evaluated - datetime.fromisoformat(moved[name]) == before
    result = evaluate(parse_screening_record(moved).record)
    assert result.to_json()["decision"] == "randomized_cohort"


def test_the_script_prints_one_json_record() -> None:
    out = subprocess.run([sys.executable, str(EXAMPLES / "recent_record.py")],
                         capture_output=True, text=True, check=True, timeout=60).stdout  # fmt: skip
    assert json.loads(out)["site_timezone"] == "America/New_York"
