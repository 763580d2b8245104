"""The installed ``combat-norse screen`` against hostile files (tests/data/hostile/), read from
a file and from standard input: bad input exits 2 with one short line naming the field, and
nothing echoed is longer than 40 characters of the attacker's text."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

COMMAND = Path(sys.executable).parent / "combat-norse"
DATA = Path(__file__).resolve().parents[2] / "data"
HOSTILE = DATA / "hostile"
EXPECTED = json.loads((DATA / "hostile-expected.json").read_text(encoding="utf-8"))
LONGEST_LINE = 200


def screen(path: Path, *, via_stdin: bool) -> subprocess.CompletedProcess[bytes]:
    """Run ``combat-norse screen`` on the raw bytes of ``path`` (bytes in, bytes out)."""
    if via_stdin:
        return subprocess.run([str(COMMAND), "screen", "-"], input=path.read_bytes(),
                              capture_output=True, timeout=60, check=False)  # fmt: skip
    return subprocess.run([str(COMMAND), "screen", str(path)], capture_output=True, timeout=60,
                          check=False)  # fmt: skip


CASES = [(name, via) for name in sorted(EXPECTED["bad_input"]) for via in (False, True)]


@pytest.mark.req("§3", "§13")
@pytest.mark.parametrize(("name", "via_stdin"), CASES,
                         ids=[f"{n}-{'stdin' if s else 'file'}" for n, s in CASES])  # fmt: skip
def test_hostile_file_exits_2_with_one_short_line_naming_the_field(
    name: str, via_stdin: bool
) -> None:
    done = screen(HOSTILE / name, via_stdin=via_stdin)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stdout == b""
    lines = done.stderr.decode("utf-8").splitlines()
    assert len(lines) == 1, done.stderr
    field = EXPECTED["bad_input"][name]
    assert lines[0].startswith(f"error: {field}: "), lines[0]
    assert len(lines[0]) <= LONGEST_LINE and "\x1b" not in lines[0]


WARN_CASES = [(name, via) for name in sorted(EXPECTED["warning"]) for via in (False, True)]


@pytest.mark.req("§3", "§13")
@pytest.mark.parametrize(("name", "via_stdin"), WARN_CASES,
                         ids=[f"{n}-{'stdin' if s else 'file'}" for n, s in WARN_CASES])
def test_hostile_unknown_key_is_one_cut_escaped_warning_and_exit_0(
    name: str, via_stdin: bool
) -> None:
    done = screen(HOSTILE / name, via_stdin=via_stdin)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["decision"] == "randomized_cohort"
    assert done.stderr.decode("utf-8").splitlines() == [f"warning: {EXPECTED['warning'][name]}"]


@pytest.mark.req("§3")
def test_500_kb_unknown_key_is_not_echoed(tmp_path: Path) -> None:
    record = json.loads((DATA.parent.parent / "examples" / "screening-randomized.json").read_text())
    record["k" * 500_000] = "v" * 100
    path = tmp_path / "big-key.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    for via_stdin in (False, True):
        done = screen(path, via_stdin=via_stdin)
        assert done.returncode == 0
        assert len(done.stderr) < LONGEST_LINE, len(done.stderr)
        assert b"v" * 10 not in done.stderr


@pytest.mark.req("§3")
def test_file_name_in_an_error_is_cut(tmp_path: Path) -> None:
    done = subprocess.run([str(COMMAND), "screen", str(tmp_path / ("x" * 200))],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 2 and done.stderr.startswith("error: file: ")
    assert len(done.stderr) < LONGEST_LINE
