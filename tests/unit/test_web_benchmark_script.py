"""benchmarks/web.py starts (its figures are printed by a run, never asserted: README)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.req("#17")


def test_the_web_benchmark_explains_its_options() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "web.py"), "--help"],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    for option in ("--participants", "--users", "--seconds", "--workers"):
        assert option in done.stdout
    assert "p95 < 50 ms" in done.stdout and "25 %" in done.stdout


def test_the_bare_reference_view_is_only_in_the_benchmarks_url_module() -> None:
    production = (ROOT / "src" / "combat_norse" / "config" / "urls.py").read_text()
    assert "bench" not in production
    assert 'ROOT_URLCONF = "web_urls"' in (ROOT / "benchmarks" / "web_settings.py").read_text()


def test_the_test_process_is_not_monkey_patched_by_locusts_plugin() -> None:
    """locust's pytest plugin would patch threads and sockets with gevent on import
    (pyproject's ``-p no:locust``): the concurrency tests need real threads."""
    import sys
    import threading

    assert "locust" not in sys.modules and "gevent" not in sys.modules
    assert threading.Lock.__module__ != "gevent.thread"
