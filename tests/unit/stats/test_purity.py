"""The statistics package is pure: no Django, statsmodels, pandas or JAX on import."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.req("#7")

MODULES = (
    "combat_norse.stats",
    "combat_norse.stats.ordinal",
    "combat_norse.stats.batch",
    "combat_norse.stats.simulate",
    "combat_norse.stats.power",
    "combat_norse.stats._jax",
    "combat_norse.cli.power",
)


def test_importing_the_stats_modules_pulls_in_no_heavy_or_dev_only_package() -> None:
    code = (
        "import sys\n"
        f"for m in {MODULES!r}: __import__(m)\n"
        "bad = sorted(m for m in ('django', 'statsmodels', 'pandas', 'jax') if m in sys.modules)\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == ""


def test_the_command_line_builds_its_parser_without_numpy() -> None:
    code = (
        "import sys, argparse\n"
        "from combat_norse.cli import power\n"
        "power.register(argparse.ArgumentParser().add_subparsers())\n"
        "print('numpy' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False"
