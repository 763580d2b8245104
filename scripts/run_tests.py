"""Run the test suite on SQLite, then on PostgreSQL when a server is reachable.

``make test`` calls this. PostgreSQL is taken from ``DATABASE_URL`` when that is a postgres://
URL, otherwise ``postgres://postgres@127.0.0.1:5432/combat_norse``. With ``REQUIRE_POSTGRES=1``
an unreachable server fails the run instead of skipping it. A run that collects no test fails.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
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


def run_pytest(label: str, database_url: str, extra: list[str]) -> int:
    env = dict(os.environ, DATABASE_URL=database_url)
    print(f"\n=== test suite on {label} ===", flush=True)
    code = subprocess.call([sys.executable, "-m", "pytest", *extra], env=env)  # noqa: S603
    if code == NO_TESTS_COLLECTED:
        print(f"FAILED: no tests were collected on {label}", file=sys.stderr)
        return 1
    return code


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    args, extra = parser.parse_known_args()
    require_pg = os.environ.get("REQUIRE_POSTGRES", "") in ("1", "true", "yes")
    results: dict[str, int] = {}

    if args.only in (None, "sqlite"):
        results["sqlite"] = run_pytest("SQLite", "sqlite:///var/test.sqlite3", extra)

    if args.only in (None, "postgres"):
        url = postgres_url()
        problem = ensure_postgres(url)
        if problem is None:
            results["postgres"] = run_pytest("PostgreSQL", url, extra)
        elif require_pg:
            print(f"FAILED: PostgreSQL required but unreachable: {problem}", file=sys.stderr)
            results["postgres"] = 1
        else:
            print(f"\nPostgreSQL not reachable ({problem}); skipped.")
            print("Set REQUIRE_POSTGRES=1 to make that a failure.")

    print("\n=== summary ===")
    for label, code in results.items():
        print(f"{label}: {'passed' if code == 0 else f'FAILED (exit {code})'}")
    return 0 if results and all(code == 0 for code in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
