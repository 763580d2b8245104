"""Run the test suite on SQLite and on PostgreSQL when a server is reachable.

``make test`` calls this. PostgreSQL is taken from ``DATABASE_URL`` when that is a postgres://
URL, otherwise ``postgres://postgres@127.0.0.1:5432/combat_norse``. With ``REQUIRE_POSTGRES=1``
an unreachable server fails the run instead of skipping it. A run that collects no test fails.

The two passes run at the same time (they share no database and each has its own ``VAR_DIR``;
much of each pass waits on its database, its live server or the browser, so on two cores the
pair takes little longer than the PostgreSQL pass alone). Each pass's output is printed whole
when it ends, SQLite first. ``TEST_SERIAL=1`` (or ``--serial``) runs them one after the other
with live output.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/combat_norse"
NO_TESTS_COLLECTED = 5


def postgres_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.split(":", 1)[0] in ("postgres", "postgresql") else DEFAULT_PG


def ensure_postgres(url: str) -> str | None:
    """Return None when the server answers (creating the database if missing), else why not."""
    import psycopg

    parts = urlsplit(url)
    dbname = parts.path.lstrip("/")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    try:
        with psycopg.connect(admin_url, connect_timeout=5, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,))
            if exists.fetchone() is None:
                conn.execute(f'CREATE DATABASE "{dbname}"')
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return None


@dataclass
class Pass:
    label: str
    database_url: str


def pass_env(one: Pass) -> dict[str, str]:
    """The pass's environment: its database and a ``VAR_DIR`` of its own (the secret key and
    anything a test leaves under the default folder are never shared between passes)."""
    var_dir = Path("var") / "test-runs" / one.label.lower()
    var_dir.mkdir(parents=True, exist_ok=True)
    return dict(os.environ, DATABASE_URL=one.database_url, VAR_DIR=str(var_dir.absolute()))


def exit_status(label: str, code: int) -> int:
    if code == NO_TESTS_COLLECTED:
        print(f"FAILED: no tests were collected on {label}", file=sys.stderr)
        return 1
    return code


def run_serial(passes: list[Pass], extra: list[str]) -> dict[str, int]:
    results: dict[str, int] = {}
    for one in passes:
        print(f"\n=== test suite on {one.label} ===", flush=True)
        code = subprocess.call([sys.executable, "-m", "pytest", *extra],  # noqa: S603
                               env=pass_env(one))  # fmt: skip
        results[one.label] = exit_status(one.label, code)
    return results


def run_parallel(passes: list[Pass], extra: list[str]) -> dict[str, int]:
    """Every pass started at once, its output kept in a temporary file and printed whole, in
    the order of ``passes``, as soon as it and the passes before it have ended."""
    labels = ", ".join(p.label for p in passes)
    print(f"\n=== test suites on {labels}, at the same time (TEST_SERIAL=1: one after the "
          "other) ===", flush=True)
    started = time.monotonic()
    running = []
    for one in passes:
        log = tempfile.TemporaryFile()  # closed below, once printed
        command = [sys.executable, "-m", "pytest", "--color=no", *extra]
        process = subprocess.Popen(command, env=pass_env(one), stdout=log,  # noqa: S603
                                   stderr=subprocess.STDOUT)  # fmt: skip
        running.append((one, process, log))
    results: dict[str, int] = {}
    try:
        for one, process, log in running:
            code = process.wait()
            print(f"\n=== test suite on {one.label} (done by "
                  f"{time.monotonic() - started:.0f} s) ===", flush=True)
            log.seek(0)
            sys.stdout.buffer.write(log.read())
            sys.stdout.flush()
            log.close()
            results[one.label] = exit_status(one.label, code)
    finally:
        for _, process, _ in running:
            if process.poll() is None:
                process.kill()
    return results


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument("--serial", action="store_true",
                        help="one pass after the other, with live output (also TEST_SERIAL=1)")
    args, extra = parser.parse_known_args()
    require_pg = os.environ.get("REQUIRE_POSTGRES", "") in ("1", "true", "yes")
    serial = args.serial or os.environ.get("TEST_SERIAL", "") in ("1", "true", "yes")
    passes: list[Pass] = []
    results: dict[str, int] = {}

    if args.only in (None, "sqlite"):
        passes.append(Pass("SQLite", "sqlite:///var/test.sqlite3"))

    if args.only in (None, "postgres"):
        url = postgres_url()
        problem = ensure_postgres(url)
        if problem is None:
            passes.append(Pass("PostgreSQL", url))
        elif require_pg:
            print(f"FAILED: PostgreSQL required but unreachable: {problem}", file=sys.stderr)
            results["PostgreSQL"] = 1
        else:
            print(f"\nPostgreSQL not reachable ({problem}); skipped.")
            print("Set REQUIRE_POSTGRES=1 to make that a failure.")

    if serial or len(passes) < 2:
        results.update(run_serial(passes, extra))
    else:
        results.update(run_parallel(passes, extra))

    print("\n=== summary ===")
    for label, code in results.items():
        print(f"{label}: {'passed' if code == 0 else f'FAILED (exit {code})'}")
    return 0 if results and all(code == 0 for code in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
