"""Strict environment parsing: a bad value stops start-up with a message naming it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from combat_norse.config.env import (
    ConfigError,
    env_bool,
    env_int,
    env_list,
    parse_database_url,
)

pytestmark = pytest.mark.req("#2")
BASE = Path("/srv/app")


def test_sqlite_url_relative_to_project() -> None:
    cfg = parse_database_url("sqlite:///var/db.sqlite3", base_dir=BASE)
    assert cfg.engine == "django.db.backends.sqlite3"
    assert cfg.name == "/srv/app/var/db.sqlite3"


def test_sqlite_url_absolute_path() -> None:
    cfg = parse_database_url("sqlite:////srv/data/x.sqlite3", base_dir=BASE)
    assert cfg.name == "/srv/data/x.sqlite3"


def test_postgres_url_parts() -> None:
    cfg = parse_database_url("postgres://alice:s%40cret@db.example:6543/trial", base_dir=BASE)
    assert (cfg.engine, cfg.name, cfg.user, cfg.password, cfg.host, cfg.port) == (
        "django.db.backends.postgresql", "trial", "alice", "s@cret", "db.example", "6543",
    )  # fmt: skip


@pytest.mark.parametrize(
    "url",
    ["mysql://x/y", "postgres://host/", "postgres://h:notaport/db", "sqlite://host/x", "nonsense",
     "sqlite:///"],
)  # fmt: skip
def test_bad_database_url_names_the_variable(url: str) -> None:
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        parse_database_url(url, base_dir=BASE)


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("yes", True), ("0", False),
                                               ("off", False), ("", False), ("TRUE", True)])
def test_debug_accepts_common_spellings(monkeypatch: pytest.MonkeyPatch, raw: str,
                                        expected: bool) -> None:
    monkeypatch.setenv("DEBUG", raw)
    assert env_bool("DEBUG", default=False) is expected


@pytest.mark.parametrize("raw", ["2", "maybe", "tru"])
def test_debug_rejects_anything_else(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("DEBUG", raw)
    with pytest.raises(ConfigError, match="DEBUG"):
        env_bool("DEBUG", default=False)


def test_allowed_hosts_rejects_blank_entries_and_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOWED_HOSTS", "a.example,,b.example")
    with pytest.raises(ConfigError, match="ALLOWED_HOSTS"):
        env_list("ALLOWED_HOSTS", [])
    monkeypatch.setenv("ALLOWED_HOSTS", "https://a.example/")
    with pytest.raises(ConfigError, match="ALLOWED_HOSTS"):
        env_list("ALLOWED_HOSTS", [])
    monkeypatch.setenv("ALLOWED_HOSTS", "a.example, b.example")
    assert env_list("ALLOWED_HOSTS", []) == ["a.example", "b.example"]


def test_integer_setting_rejects_text_and_small_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSION_IDLE_SECONDS", "ten")
    with pytest.raises(ConfigError, match="SESSION_IDLE_SECONDS"):
        env_int("SESSION_IDLE_SECONDS", 1800, minimum=60)
    monkeypatch.setenv("SESSION_IDLE_SECONDS", "5")
    with pytest.raises(ConfigError, match="SESSION_IDLE_SECONDS"):
        env_int("SESSION_IDLE_SECONDS", 1800, minimum=60)


@pytest.mark.parametrize(
    ("var", "value"),
    [("DATABASE_URL", "mysql://x/y"), ("SECRET_KEY", "short"), ("DEBUG", "perhaps"),
     ("ALLOWED_HOSTS", ",")],
)  # fmt: skip
def test_bad_environment_stops_django_start_up_naming_the_variable(
    tmp_path: Path, var: str, value: str
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY")}
    env.update({"VAR_DIR": str(tmp_path), var: value})
    proc = subprocess.run(
        [sys.executable, "-c", "import combat_norse.config.settings"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode != 0
    assert var in proc.stderr.strip().splitlines()[-1]


def test_missing_secret_key_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env["VAR_DIR"] = str(tmp_path)
    code = "import combat_norse.config.settings as s; print(s.SECRET_KEY)"
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                           text=True, check=True, timeout=60).stdout.strip()
    second = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, check=True, timeout=60).stdout.strip()
    assert first == second and len(first) >= 50
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_mail_defaults_to_files_never_to_a_command_s_stdout(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("EMAIL_BACKEND", "SECRET_KEY")}
    env["VAR_DIR"] = str(tmp_path)
    code = "import combat_norse.config.settings as s; print(s.EMAIL_BACKEND, s.EMAIL_FILE_PATH)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, timeout=60).stdout.split()
    assert out == ["combat_norse.core.mail.PrivateFileEmailBackend", str(tmp_path / "mail")]
