"""Trial data on disk is private to the server's user: VAR_DIR 0700; the SQLite database (arms,
unused list rows, the seed), its -wal/-shm files and the mail files 0600. Without DATABASE_URL
the database lives under VAR_DIR (README). Each test runs Django in a subprocess with a
temporary VAR_DIR and reads the modes the files were created with."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

# Writes to the database and sends one mail, then reports the modes while the connection (and
# so the -wal and -shm files) is still open.
WRITE_AND_MAIL = """
import json, os, stat, sys
from pathlib import Path
os.environ["DJANGO_SETTINGS_MODULE"] = "combat_norse.config.settings"
import django
django.setup()
from django.conf import settings
from django.core.mail import send_mail
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
    cursor.execute("INSERT INTO t VALUES (1)")
send_mail("unmasking", "body", "a@example.invalid", ["b@example.invalid"])
db = Path(settings.DATABASES["default"]["NAME"])
mail = Path(settings.EMAIL_FILE_PATH)
paths = [settings.VAR_DIR, db, *db.parent.glob(db.name + "-*"), mail, *mail.iterdir()]
print(json.dumps({"database": str(db),
                  "modes": {str(p): oct(stat.S_IMODE(p.stat().st_mode)) for p in paths}}))
"""


def _env(var_dir: Path, **extra: str) -> dict[str, str]:
    drop = ("DATABASE_URL", "SECRET_KEY", "EMAIL_BACKEND", "HTTPS")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(VAR_DIR=str(var_dir), TASKS_BACKEND="immediate", **extra)
    return env


def _write_and_mail(env: dict[str, str]) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", WRITE_AND_MAIL], env=env, capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_default_database_lives_under_var_dir_and_everything_is_private(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    out = _write_and_mail(_env(var_dir))
    assert out["database"] == str(var_dir / "combat_norse.sqlite3")
    modes = out["modes"]
    assert isinstance(modes, dict)
    assert modes.pop(str(var_dir)) == "0o700"
    assert modes.pop(str(var_dir / "mail")) == "0o700"
    names = {Path(p).name for p in modes}
    assert {"combat_norse.sqlite3", "combat_norse.sqlite3-wal", "combat_norse.sqlite3-shm"} <= names
    assert any(name.endswith(".log") for name in names)  # the mail file
    assert set(modes.values()) == {"0o600"}, modes
    assert _mode(var_dir / "secret_key") == 0o600


def test_sqlite_database_url_outside_var_dir_is_private_too(tmp_path: Path) -> None:
    elsewhere = tmp_path / "db"
    elsewhere.mkdir()
    url = f"sqlite:///{elsewhere / 'trial.sqlite3'}"
    out = _write_and_mail(_env(tmp_path / "var", DATABASE_URL=url))
    assert out["database"] == str(elsewhere / "trial.sqlite3")
    assert _mode(elsewhere / "trial.sqlite3") == 0o600


def test_existing_var_dir_database_and_side_files_are_tightened(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    var_dir.mkdir(mode=0o755)
    var_dir.chmod(0o755)
    old = [var_dir / "combat_norse.sqlite3", var_dir / "combat_norse.sqlite3-journal"]
    for path in old:
        path.write_bytes(b"")
        path.chmod(0o644)
    code = "import combat_norse.config.settings"
    subprocess.run([sys.executable, "-c", code], env=_env(var_dir), check=True, timeout=60)
    assert _mode(var_dir) == 0o700
    assert [_mode(path) for path in old] == [0o600, 0o600]


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_var_dir_that_cannot_be_created_stops_start_up_naming_it(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    done = subprocess.run([sys.executable, "-c", "import combat_norse.config.settings"],
                          env=_env(locked / "var"), capture_output=True, text=True, timeout=60,
                          check=False)  # fmt: skip
    assert done.returncode != 0 and "VAR_DIR" in done.stderr.strip().splitlines()[-1]
