"""Start-up of a database command (issue 14): the set-up pauses the garbage collector and
must always switch it back on, or a long export would never free its cycles. Timings are in
``benchmarks/cli_startup.py``, never asserted here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.req("#14")

CODE = """
import gc
from combat_norse.cli.common import setup_django
{before}
setup_django()
from django.apps import apps
print(apps.ready, gc.isenabled(), gc.get_freeze_count() > 10000)
setup_django()  # a second call (as tests do in-process) changes nothing
print(apps.ready, gc.isenabled())
"""


@pytest.mark.parametrize(
    ("before", "expected"),
    [("", "True True True\nTrue True\n"), ("gc.disable()", "True False True\nTrue False\n")],
    ids=["collector on", "collector off"],
)
def test_setup_leaves_the_garbage_collector_as_it_found_it(
    tmp_path: Path, before: str, expected: str
) -> None:
    env = dict(os.environ, VAR_DIR=str(tmp_path), DATABASE_URL=f"sqlite:///{tmp_path}/db")
    done = subprocess.run([sys.executable, "-c", CODE.format(before=before)], env=env,
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert (done.returncode, done.stdout) == (0, expected), done.stderr
