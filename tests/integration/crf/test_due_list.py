"""``combat-norse due`` (§14): the site's due-work list, scoped and masked like every read."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from combat_norse.cli.main import main

pytestmark = [pytest.mark.django_db, pytest.mark.req("§14")]


def _due(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    try:
        code = main(["due", *argv])
    except SystemExit as exited:
        code = int(exited.code or 0)
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else None), err


def test_due_lists_overdue_visits_forms_in_progress_open_queries_and_unsigned_casebooks(
    capsys: pytest.CaptureFixture[str], personas: Any, enroll: Callable[..., Any]
) -> None:
    from combat_norse.crf.actions.forms import do_save_form
    from combat_norse.crf.actions.queries import do_raise_query

    now = timezone.now()
    late = enroll(now=now - timedelta(days=5),
                  se_onset=(now - timedelta(days=45)).isoformat())  # fmt: skip
    fresh = enroll()
    do_save_form(personas.coord, fresh, "baseline", "baseline", {"weight_kg": 70})  # in progress
    do_save_form(personas.coord, fresh, "se_resolution", "se_resolution",
                 {"resolved_at": now.isoformat()})  # complete: the casebook is unsigned
    do_raise_query(personas.datamanager, fresh.study_id, "baseline", "baseline", "weight_kg",
                   text="weight on admission or today?")  # fmt: skip
    other = enroll(site="SNU")
    do_save_form(personas.othercoord, other, "baseline", "baseline", {"weight_kg": 50})

    code, out, _ = _due(capsys, "--as", "coord")
    assert code == 0 and out["site"] is None
    # onset 45 days ago: the day-30 window closed on day 37; the baseline (enrollment day, 5
    # days ago) was never done; the fresh participant's baseline is today: not overdue yet
    assert [(v["study_id"], v["visit"]) for v in out["overdue_visits"]] == [
        (late.study_id, "day30"), (late.study_id, "baseline")]  # fmt: skip
    assert [(f["study_id"], f["form"]) for f in out["incomplete_forms"]] == [
        (fresh.study_id, "baseline")]  # fmt: skip  (the SNU form is not this user's)
    assert [q["item"] for q in out["open_queries"]] == ["weight_kg"]
    assert out["unsigned_casebooks"] == [{"study_id": fresh.study_id}]
    assert out["open_clocks"] == [] and out["overdue_safety_labs"] == []

    code, out, _ = _due(capsys, "--site", "SNU", "--as", "datamanager")
    assert [f["study_id"] for f in out["incomplete_forms"]] == [other.study_id]
    code, out, _ = _due(capsys, "--as", "sponsor")
    assert out["overdue_visits"] == [] and out["unsigned_casebooks"] == []
    code, _, err = _due(capsys, "--site", "ZZZ", "--as", "coord")
    assert code == 2 and err.startswith("error: site: unknown")


def test_the_due_list_reads_casebook_signatures_once_for_all_participants(
    personas: Any, enroll: Callable[..., Any]
) -> None:
    """A site's due list is read on every home page: its statements do not grow with the
    number of participants whose casebook waits for a signature."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from combat_norse.crf.access import access_due
    from combat_norse.crf.actions.forms import do_save_form

    def statements() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as captured:
            due = access_due(personas.coord)
        return len(captured.captured_queries), len(due["unsigned_casebooks"])

    now = timezone.now().isoformat()
    for _ in range(2):
        p = enroll()
        do_save_form(personas.coord, p, "se_resolution", "se_resolution", {"resolved_at": now})
    few, unsigned = statements()
    assert unsigned == 2
    for _ in range(3):
        p = enroll()
        do_save_form(personas.coord, p, "se_resolution", "se_resolution", {"resolved_at": now})
    more, unsigned = statements()
    assert unsigned == 5 and more == few
