"""A bad environment value ends a command with one line naming it, not a traceback (review of
issue 14: "a bad value stops start-up naming it"; §13: one ``error:`` line, exit 2)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.req("#14", "§13")


@pytest.mark.parametrize(
    ("variable", "value"), [("HTTPS", "1"), ("DEBUG", "maybe"), ("TASKS_BACKEND", "celery")]
)
def test_a_bad_environment_value_is_one_error_line_naming_it(
    tmp_path: object, variable: str, value: str
) -> None:
    env = dict(os.environ, VAR_DIR=str(tmp_path), **{variable: value})
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from combat_norse.cli.main import main; "
         "sys.exit(main(['sites']))"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ") and variable in lines[0]
