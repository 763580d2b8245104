"""Wall time of ``combat-norse sites`` next to references measured in the same run.

Each command runs as a subprocess, as a user would start it: one warm-up run (which also
writes the bytecode caches), then ``--runs`` timed runs; the table gives median, min and max.
References: the bare interpreter (``python -c pass``), a pure command (``combat-norse dose``,
which never imports Django), and ``django.setup()`` with the same settings and database, the
floor for any database command. ``sites - setup`` is what the command adds on top of Django.

    .venv/bin/python benchmarks/cli_startup.py [--runs 15] [--database-url URL]

Without ``--database-url`` a fresh SQLite database is migrated in a temporary directory.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
COMMAND = str(BIN / "combat-norse")
SETUP = (
    "import os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'combat_norse.config.settings');"
    " import django; django.setup()"
)


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one run; CPU (user + system of the child) is less disturbed than
    wall time by other processes on a small machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, capture_output=True, timeout=120)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per command")
    parser.add_argument("--database-url", help="a migrated database (default: a fresh SQLite)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="cli-startup-") as tmp:
        env = dict(os.environ, VAR_DIR=tmp)
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # as a user runs it: bytecode caches on
        env.pop("PYTHONPROFILEIMPORTTIME", None)
        env["DJANGO_SETTINGS_MODULE"] = "combat_norse.config.settings"
        env["DATABASE_URL"] = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"
        if not args.database_url:
            subprocess.run(
                [sys.executable, "-m", "django", "migrate", "--noinput", "-v", "0"],
                env=env, check=True, timeout=600,
            )  # fmt: skip

        cases = [
            ("python -c pass", [sys.executable, "-c", "pass"]),
            ("combat-norse dose (pure)", [COMMAND, "dose", "--drug", "anakinra",
                                          "--weight-kg", "20"]),
            ("django.setup() (same settings)", [sys.executable, "-c", SETUP]),
            ("combat-norse sites", [COMMAND, "sites"]),
        ]  # fmt: skip
        for _, argv in cases:  # warm-up: bytecode caches, file cache
            run_once(argv, env)
        walls: dict[str, list[float]] = {label: [] for label, _ in cases}
        cpus: dict[str, list[float]] = {label: [] for label, _ in cases}
        for _ in range(args.runs):  # round robin: a burst of load hits every command alike
            for label, argv in cases:
                wall, cpu = run_once(argv, env)
                walls[label].append(wall)
                cpus[label].append(cpu)
        print(f"{args.runs} runs each, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
              f"database {env['DATABASE_URL'].split(':', 1)[0]}, seconds")  # fmt: skip
        print(f"{'command':32} {'wall median':>11} {'min':>6} {'max':>6} {'CPU median':>11}")
        med: dict[str, tuple[float, float]] = {}
        for label, _ in cases:
            w, c = walls[label], cpus[label]
            med[label] = (statistics.median(w), statistics.median(c))
            wall, cpu = med[label]
            print(f"{label:32} {wall:11.3f} {min(w):6.3f} {max(w):6.3f} {cpu:11.3f}")
        sites, setup = med["combat-norse sites"], med["django.setup() (same settings)"]
        extra_wall, extra_cpu = sites[0] - setup[0], sites[1] - setup[1]
        print(f"{'sites - setup':32} {extra_wall:11.3f} {'':13} {extra_cpu:11.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
