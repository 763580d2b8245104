"""What the data-capture tests share: running the command in-process and saving a form."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest

from combat_norse.cli.main import main


def run(capsys: pytest.CaptureFixture[str], *argv: str, stdin: str | None = None,
        monkeypatch: pytest.MonkeyPatch | None = None) -> tuple[int, Any, str]:  # fmt: skip
    """Run ``combat-norse ARGV`` in-process: (exit status, parsed stdout or None, stderr)."""
    if stdin is not None and monkeypatch is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    try:
        code = main(list(argv))
    except SystemExit as exited:
        code = int(exited.code or 0)
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else None), err


@pytest.fixture
def save(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """``save(study_id, visit, form, values, user, *extra)``: ``form save`` with the values on
    standard input."""

    def _save(study_id: str, visit: str, form: str, values: dict[str, Any], user: str,
              *extra: str) -> tuple[int, Any, str]:  # fmt: skip
        return run(capsys, "form", "save", study_id, visit, form, "-", *extra, "--as", user,
                   stdin=json.dumps(values), monkeypatch=monkeypatch)  # fmt: skip

    return _save
