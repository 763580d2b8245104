"""A database command against a database that was never migrated, or cannot be reached, ends
with one ``error:`` line and exit status 2, never a Django traceback (issue 14).

The installed ``combat-norse`` runs in a subprocess, as a new user would run it, with
``DATABASE_URL`` pointing at an empty database: an empty SQLite file on both suite runs, and
an empty PostgreSQL database (created and dropped here) on the PostgreSQL run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from combat_norse.cli.common import NOT_SET_UP, NOT_UP_TO_DATE, database_error_line

pytestmark = pytest.mark.req("#14")

COMMAND = Path(sys.executable).parent / "combat-norse"

# One command per kind of database access: a plain read, a read as a user, a chain walk, a write.
DATABASE_COMMANDS: list[tuple[str, ...]] = [
    ("sites",),
    ("randomization", "balance", "--as", "statistician"),
    ("audit", "verify"),
    ("clocks",),
    ("user", "add", "jdoe", "--role", "site_coordinator", "--site", "YNH"),
]


def run(database_url: str, var_dir: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DATABASE_URL=database_url, VAR_DIR=str(var_dir))
    return subprocess.run(
        [str(COMMAND), *argv], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def assert_one_line(done: subprocess.CompletedProcess[str], line: str) -> None:
    assert (done.returncode, done.stdout, done.stderr) == (2, "", line + "\n")


@pytest.mark.parametrize("argv", DATABASE_COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_command_on_an_empty_sqlite_file_says_to_migrate(tmp_path: Path, argv: tuple[str]) -> None:
    empty = tmp_path / "empty.sqlite3"
    empty.touch()
    done = run(f"sqlite:///{empty}", tmp_path, *argv)
    assert_one_line(done, NOT_SET_UP)
    assert "Traceback" not in done.stderr


def test_command_on_a_sqlite_file_that_does_not_exist_yet_says_to_migrate(tmp_path: Path) -> None:
    done = run(f"sqlite:///{tmp_path / 'never-made.sqlite3'}", tmp_path, "sites")
    assert_one_line(done, NOT_SET_UP)


def test_command_on_an_unopenable_sqlite_path_names_the_database(tmp_path: Path) -> None:
    done = run(f"sqlite:///{tmp_path / 'no-such-dir' / 'db.sqlite3'}", tmp_path, "sites")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("error: database unavailable (DATABASE_URL): unable to open")


def test_command_on_a_closed_postgres_port_names_the_database(tmp_path: Path) -> None:
    # port 1 on the loopback: refused at once, nothing listens there
    done = run("postgres://nobody@127.0.0.1:1/none", tmp_path, "sites")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("error: database unavailable (DATABASE_URL): connection failed")
    assert "Traceback" not in done.stderr


def test_pure_commands_still_need_no_database(tmp_path: Path) -> None:
    done = run("sqlite:///" + str(tmp_path / "no-such-dir" / "db"), tmp_path, "dose", "--drug",
               "tocilizumab", "--weight-kg", "24")  # fmt: skip
    assert done.returncode == 0 and '"dose_mg": 288.0' in done.stdout


@pytest.fixture
def empty_postgres_url() -> Iterator[str]:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        pytest.skip("PostgreSQL only")
    import psycopg

    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/')}_empty_{uuid.uuid4().hex[:8]}"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.parametrize("argv", DATABASE_COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_command_on_an_empty_postgres_database_says_to_migrate(
    empty_postgres_url: str, tmp_path: Path, argv: tuple[str]
) -> None:
    done = run(empty_postgres_url, tmp_path, *argv)
    assert_one_line(done, NOT_SET_UP)


def test_other_database_errors_keep_their_traceback() -> None:
    from django.db import IntegrityError, OperationalError, ProgrammingError

    assert database_error_line(OperationalError("database is locked")) is None
    assert database_error_line(ProgrammingError("syntax error at or near")) is None
    assert database_error_line(IntegrityError("no such table: x")) is None
    assert database_error_line(ValueError("no such table: x")) is None
    assert database_error_line(OperationalError("no such table: trial_sites_site")) == NOT_SET_UP
    assert database_error_line(OperationalError("no such column: x.y")) == NOT_UP_TO_DATE
