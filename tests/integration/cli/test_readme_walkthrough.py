"""The README's trial walkthrough, run exactly as printed (issue 14): a new user follows it on a
fresh database to a randomized participant and reads it back, on any day.

The block after the ``<!-- walkthrough ... -->`` marker is run by bash, from a scratch folder that
looks like a fresh clone after ``make demo`` (the project's ``.venv`` and ``examples`` linked
in, its own ``var/`` with a new SQLite database, migrated and loaded with the demo personas).
In the SQLite pass it runs on the embedded default (no DATABASE_URL, as a new user has); in the
PostgreSQL pass on a throwaway PostgreSQL database made for it and dropped after, so the
walkthrough (enrollment to the month-12 outcome) is proven on both engines.

The REST API block (``<!-- api walkthrough ... -->``: a token, the curl examples, the docs page
and the command line against the server) then runs as printed against ``runserver`` on that
same database (issue 18): the README's API examples had never run as a test, and the command
line's were placeholders (``trial.example.org``, ``patient.json``) a new user could not run."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parents[3]
MARKER = "<!-- walkthrough:"
API_MARKER = "<!-- api walkthrough:"

pytestmark = [pytest.mark.req("#14", "§13", "#18")]


def walkthrough_block(marker: str = MARKER) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    after = text.split(marker, 1)[1]
    match = re.search(r"```sh\n(.*?)```", after, flags=re.S)
    assert match is not None, "the README lost its walkthrough block"
    return match.group(1)


@pytest.fixture
def database_url() -> Iterator[str | None]:
    """None (the embedded SQLite default) in the SQLite pass; a fresh PostgreSQL database in
    the PostgreSQL pass."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        yield None
        return
    import psycopg

    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/')}_walkthrough_{uuid.uuid4().hex[:8]}"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_readme_walkthrough_runs_as_printed_to_a_randomized_participant(
    tmp_path: Path, database_url: str | None
) -> None:
    venv = ROOT / ".venv"
    if not (venv / "bin" / "combat-norse").exists():
        pytest.skip("no .venv with the installed command (make venv)")
    (tmp_path / ".venv").symlink_to(venv)
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY")}
    env.update(VAR_DIR=str(tmp_path / "var"), PYTHONDONTWRITEBYTECODE="1")
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    manage = [sys.executable, str(ROOT / "manage.py")]
    for step in (["migrate", "--noinput"], ["seed_demo"]):  # what `make demo` does
        subprocess.run([*manage, *step], cwd=tmp_path, env=env, check=True,
                       capture_output=True, timeout=300)  # fmt: skip

    script = "set -euo pipefail\n" + walkthrough_block()
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]

    outputs = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    by_key = {frozenset(o): o for o in outputs if isinstance(o, dict)}
    enrolled = [o for o in outputs if set(o) >= {"study_id", "cohort", "site"} and "status"
                not in o]  # fmt: skip
    assert enrolled[0] == {"study_id": "YNH-001", "cohort": "randomized_cohort", "site": "YNH"}
    randomized = by_key[frozenset({"study_id", "randomized_at", "code", "arm"})]
    assert randomized["study_id"] == "YNH-001"
    assert randomized["arm"] in ("anakinra", "tocilizumab")
    shown = [o for o in outputs if o.get("study_id") == "YNH-001" and "randomized" in o]
    treating_team, assessor = shown[0], shown[1]
    assert treating_team["arm"] == randomized["arm"]
    assert "arm" not in assessor and "code" not in assessor and assessor["randomized"] is True
    assert "one-time password" in done.stderr  # user add prints it on stderr only
    # data capture: the mRS entered by the assigned assessor, verified, then locked
    shown_form = next(o for o in outputs if set(o) >= {"values", "version", "sdv"})
    assert shown_form["values"]["mrs"] == 3 and shown_form["status"] == "complete"
    assert {"status": "locked", "sdv": "verified"} in outputs
    visits = next(o for o in outputs if "visits" in o)
    assert [v["visit"] for v in visits["visits"]][:2] == ["baseline", "day30"]
    saved = [o for o in outputs if o.get("form") == "mrs" and "version" in o]
    assert [o["visit"] for o in saved] == ["day30", "month3", "month6", "month12"]
    open_queries = next(o for o in outputs if "queries" in o and "study_id" not in o)
    assert any(q["origin"] == "manual" and q["visit"] == "month12"
               for q in open_queries["queries"])  # fmt: skip
    assert randomized["arm"] not in json.dumps(assessor)
    # treatment and safety: the plan of the allocated drug, the SAE's clock met by the report
    treatment = next(o for o in outputs if "plan" in o and "doses" in o)
    assert treatment["plan"]["drug"] == randomized["arm"]
    assert treatment["plan"]["weight_kg"] == 72.5
    clocks = next(o for o in outputs if "clocks" in o)["clocks"]
    assert [(c["ae_id"], c["kind"], c["status"]) for c in clocks] == [
        ("YNH-001-AE1", "coordinating_centre_24h", "open")]
    assert {"ae_id": "YNH-001-AE1", "kind": "coordinating_centre_24h", "status": "met"} \
        in outputs  # fmt: skip
    due = next(o for o in outputs if "open_clocks" in o)
    assert due["site"] == "YNH" and due["open_clocks"] == []
    # the REST API block, on the same demo database, with the server it needs
    _api_walkthrough(tmp_path, env, manage)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _api_walkthrough(tmp_path: Path, env: dict[str, str], manage: list[str]) -> None:
    """The README's API block (curl and the command line against a server), run as printed
    against ``runserver`` on the same database as ``make run`` serves it; only the port
    differs (a free one instead of 8000)."""
    if shutil.which("curl") is None:
        pytest.skip("no curl on this machine (the README's API examples use it)")
    port = _free_port()
    server = subprocess.Popen([*manage, "runserver", "--noreload", f"127.0.0.1:{port}"],
                              cwd=tmp_path, env={**env, "DEBUG": "1"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        for _ in range(300):  # the server is up when it accepts a connection (at most 30 s)
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                assert server.poll() is None, "runserver stopped"
                time.sleep(0.1)
        block = walkthrough_block(API_MARKER).replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        done = subprocess.run(["bash", "-c", "set -euo pipefail\n" + block], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=300,
                              check=False)  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    listed, screened = json.loads(lines[0]), json.loads(lines[1])
    assert "participants" in listed
    assert screened["decision"] == "randomized_cohort" and screened["site"] == "YNH"
    assert lines[2] == "200"  # the docs page, without a token
    outputs = [json.loads(line) for line in lines[3:-1]]
    assert outputs[0]["signer"] == "lar"  # consent, then the baseline form saved and read back
    assert outputs[1]["form"] == "baseline" and outputs[1]["version"] == 1
    assert outputs[2]["values"]["weight_kg"] == 72.5
    assert lines[-1] == "exit 3"
    assert "refused: role: --as is not accepted with COMBAT_NORSE_URL" in done.stderr
