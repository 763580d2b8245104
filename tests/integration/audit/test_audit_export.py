"""`combat-norse audit export`: the trail as CSV, filtered, streamed."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models.query import QuerySet

from combat_norse.audit import api
from combat_norse.audit.api import record_event
from combat_norse.audit.export import HEADER, ExportFilter, write_csv
from combat_norse.audit.models import AuditEvent
from combat_norse.cli.main import main

pytestmark = pytest.mark.req("#3")

CLI = Path(sys.executable).parent / "combat-norse"


def _at(day: int, hour: int = 12) -> datetime:
    return datetime(2025, 3, day, hour, 0, tzinfo=UTC)


@pytest.fixture
def trail(alice: User, bob: User, sites: None, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Six events over three days, two sites, three participants; returns their seqs (the
    database numbers events: on PostgreSQL the numbers go on from earlier tests)."""
    plan = [
        (_at(1, 9), "YNH", "YNH-001"),
        (_at(1, 23), "YNH", "YNH-002"),
        (_at(2, 0), "BAR", "BAR-001"),
        (_at(2, 15), "YNH", "YNH-001"),
        (_at(3, 8), "BAR", "BAR-001"),
        (_at(3, 9), "", ""),
    ]
    seqs = []
    with transaction.atomic():
        for when, site, ref in plan:
            monkeypatch.setattr(api, "_now", lambda when=when: when)
            seqs.append(record_event(
                actor=alice, action="update", object_type="crf.Form", object_id=7,
                changes={"weight_kg": [70, 71.5]}, reason="re-weighed",
                site_code=site, participant_ref=ref,
            ).seq)  # fmt: skip
    return seqs


def _nth(trail: list[int], rows: Any) -> list[str]:
    """Each exported row as its place (1..6) among the fixture's events."""
    return [str(trail.index(int(r["seq"])) + 1) for r in rows]


def _export(capsys: pytest.CaptureFixture[str], *options: str) -> list[dict[str, str]]:
    assert main(["audit", "export", "--as", "bob", *options]) == 0
    return list(csv.DictReader(io.StringIO(capsys.readouterr().out)))


@pytest.mark.django_db
def test_export_writes_every_column_of_every_event(
    trail: list[int], capsys: pytest.CaptureFixture[str]
) -> None:
    rows = _export(capsys)
    assert tuple(rows[0]) == HEADER
    assert _nth(trail, rows) == ["1", "2", "3", "4", "5", "6"]
    first = rows[0]
    assert first["occurred_at"] == "2025-03-01T09:00:00.000000Z"
    assert (first["actor"], first["action"], first["object_type"], first["object_id"]) == (
        "alice", "update", "crf.Form", "7",
    )  # fmt: skip
    assert json.loads(first["changes"]) == {"weight_kg": [70, 71.5]}
    assert first["reason"] == "re-weighed"
    assert rows[1]["prev_hash"] == ""  # sealed events are not chained (issue 19)
    assert len(first["hash"]) == 64


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--site", "YNH"], ["1", "2", "4"]),
        (["--participant", "BAR-001"], ["3", "5"]),
        (["--since", "2025-03-02"], ["3", "4", "5", "6"]),
        (["--until", "2025-03-01"], ["1", "2"]),
        (["--since", "2025-03-02", "--until", "2025-03-02"], ["3", "4"]),
        (["--since", "2025-03-01T23:00:00Z", "--until", "2025-03-02T15:00:00+00:00"], ["2", "3"]),
        (["--site", "YNH", "--participant", "YNH-001", "--since", "2025-03-02"], ["4"]),
        (["--site", "CCO"], []),
    ],
)
def test_export_filters_by_date_site_and_participant(
    trail: list[int], capsys: pytest.CaptureFixture[str], options: list[str], expected: list[str]
) -> None:
    assert _nth(trail, _export(capsys, *options)) == expected


@pytest.mark.django_db
def test_export_to_a_file_prints_the_row_count(
    trail: list[int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "trail.csv"
    assert main(["audit", "export", "--as", "bob", "--site", "bar", "--output", str(target)]) == 0
    assert json.loads(capsys.readouterr().out) == {"output": str(target), "rows": 2}
    with target.open(newline="", encoding="utf-8") as fh:
        assert _nth(trail, csv.DictReader(fh)) == ["3", "5"]
    assert "trail.csv" in [p.name for p in tmp_path.iterdir()]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".trail.csv")]  # no tmp file


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("options", "option"),
    [
        (["--since", "2025-02-30"], "--since"),
        (["--until", "yesterday"], "--until"),
        (["--since", "2025-03-01T08:00"], "--since"),  # no UTC offset
        (["--since", "2025-03-02", "--until", "2025-03-01"], "--until"),
        (["--site", "ZZZ"], "--site"),
        (["--output", "/nonexistent-dir/x.csv"], "--output"),
        (["--output", "/"], "--output"),  # a directory
        (["--until", "9999-12-31"], "--until"),  # the day after overflows
        (["--since", "0001-01-01T00:00:00+14:00"], "--since"),
    ],
)
def test_bad_export_options_exit_2_naming_the_option(
    sites: None, bob: User, capsys: pytest.CaptureFixture[str], options: list[str], option: str
) -> None:
    assert main(["audit", "export", "--as", "bob", *options]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and option in captured.err


@pytest.mark.django_db
def test_formula_cells_are_neutralized(
    alice: User, bob: User, capsys: pytest.CaptureFixture[str]
) -> None:
    with transaction.atomic():
        record_event(
            actor=alice, action="update", object_type="crf.Form", object_id="-1",
            reason='=HYPERLINK("http://evil.invalid","click")', participant_ref="@YNH-001",
        )  # fmt: skip
    row = _export(capsys)[0]
    assert row["reason"] == '\'=HYPERLINK("http://evil.invalid","click")'
    assert row["object_id"] == "'-1"
    assert row["participant_ref"] == "'@YNH-001"


@pytest.mark.django_db
def test_export_of_thousands_of_events_streams_through_an_iterator(alice: User) -> None:
    with transaction.atomic():
        for i in range(5000):
            record_event(
                actor=alice, action="update", object_type="crf.Form", object_id=i,
                changes={"v": [i, i + 1]}, reason="bulk", site_code="YNH",
                participant_ref=f"YNH-{i % 50:03d}",
            )  # fmt: skip
    real_iterator = QuerySet.iterator
    calls: list[int | None] = []

    def spy(self: QuerySet[Any], chunk_size: int | None = None) -> Iterator[Any]:
        calls.append(chunk_size)
        return real_iterator(self, chunk_size=chunk_size)

    out = io.StringIO()
    with mock.patch.object(QuerySet, "iterator", spy):
        assert write_csv(out, ExportFilter(), chunk_size=500) == 5000
        assert write_csv(io.StringIO(), ExportFilter(participant_ref="YNH-007")) == 100
    assert calls == [500, 2000]
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert len(rows) == 5001
    assert [int(r[0]) for r in rows[1:]] == list(
        AuditEvent.objects.order_by("seq").values_list("seq", flat=True)
    )


def test_cli_argument_errors_exit_2_in_a_subprocess() -> None:
    """The installed console script, without a database: options are checked first."""
    env = dict(os.environ, DATABASE_URL="sqlite:////nonexistent-dir/never-opened.sqlite3")
    done = subprocess.run(
        [str(CLI), "audit", "export", "--as", "bob", "--since", "2025-13-01"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (2, "")
    assert "--since" in done.stderr
    done = subprocess.run(
        [str(CLI), "audit"], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert done.returncode == 2


def _database_url() -> str:
    params = connection.settings_dict
    user = params["USER"] or "postgres"
    password = f":{params['PASSWORD']}" if params["PASSWORD"] else ""
    host = params["HOST"] or "127.0.0.1"
    port = params["PORT"] or "5432"
    return f"postgres://{user}{password}@{host}:{port}/{params['NAME']}"


@pytest.mark.req("§13")
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_console_script_verifies_and_exports_the_committed_trail(
    sites: None, bob: User, tmp_path: Path
) -> None:
    with transaction.atomic():
        for i in range(3):
            record_event(actor=None, action="login_failed", site_code="YNH", object_id=i)
    env = dict(os.environ, DATABASE_URL=_database_url())
    done = subprocess.run(
        [str(CLI), "audit", "verify"], capture_output=True, text=True, env=env, timeout=60,
        check=False,
    )  # fmt: skip
    out = json.loads(done.stdout)
    assert (done.returncode, out["ok"], out["events"], out["unsealed"]) == (0, True, 3, 3)
    target = tmp_path / "ynh.csv"
    done = subprocess.run(
        [str(CLI), "audit", "export", "--as", "bob", "--site", "YNH", "-o", str(target)],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["rows"] == 3


@pytest.mark.django_db
@pytest.mark.req("§11")
def test_export_is_refused_to_site_masked_and_admin_roles_and_every_export_is_audited(
    trail: list[int], bob: User, capsys: pytest.CaptureFixture[str]
) -> None:
    from combat_norse.audit.models import AuditEvent
    from combat_norse.sites.models import Membership, Site

    for name, role, site in (("carol", "site_coordinator", "YNH"),
                             ("dave", "outcome_assessor", "YNH"),
                             ("erin", "sponsor_viewer", None), ("frank", "admin", None)):
        user = User.objects.create_user(name, password=None)
        Membership.objects.create(user=user, role=role,
                                  site=Site.objects.get(code=site) if site else None)
        assert main(["audit", "export", "--as", name]) == 3
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err.startswith("refused: role (needs ")
    assert AuditEvent.objects.filter(action="export_refused").count() == 4
    assert main(["audit", "export", "--as", "nobody"]) == 2
    capsys.readouterr()
    rows = _export(capsys, "--site", "YNH")
    assert len(rows) == 3
    event = AuditEvent.objects.filter(action="export").get()
    assert event.actor_username == "bob"
    assert event.changes["rows"] == [None, 3]
    assert event.changes["filters"][1]["site"] == "YNH"
