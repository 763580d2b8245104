"""``combat-norse example screening-record``: a synthetic record dated from now, so the README's
walkthrough reaches the randomized cohort on any day (issue 14)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from combat_norse.cli.main import main
from combat_norse.protocol import evaluate, parse_screening_record

pytestmark = pytest.mark.req("#14", "§5")


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(["example", "screening-record", *argv])
    except SystemExit as exited:
        code = int(exited.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_the_example_record_is_a_randomized_cohort_patient_whenever_it_is_made(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = _run(capsys)
    record = json.loads(out)
    assert code == 0 and "evaluated_at" not in record
    onset = datetime.fromisoformat(record["se_onset"])
    assert timedelta(hours=29) < datetime.now(UTC) - onset < timedelta(hours=31)
    record["evaluated_at"] = datetime.now(UTC).isoformat()
    assert evaluate(parse_screening_record(record).record).decision.value == "randomized_cohort"


def test_the_example_takes_a_site_zone_and_an_onset_and_refuses_nonsense(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = _run(capsys, "--site", "snu", "--onset-hours-ago", "200")
    record = json.loads(out)
    assert record["site_timezone"] == "Asia/Seoul"
    record["evaluated_at"] = datetime.now(UTC).isoformat()
    assert evaluate(parse_screening_record(record).record).decision.value == (
        "observational_cohort")  # fmt: skip  (day 8 or 9: too late to randomize)
    for argv, message in ((["--site", "ZZZ"], "error: site: unknown site code"),
                          (["--onset-hours-ago", "-3"], "error: onset_hours_ago:"),
                          (["--onset-hours-ago", "9e9"], "error: onset_hours_ago:"),
                          (["--timezone", "Mars/Olympus"], "error: site_timezone:")):  # fmt: skip
        code, out, err = _run(capsys, *argv)
        assert (code, out) == (2, "") and err.startswith(message), argv
