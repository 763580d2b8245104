"""The bedside clock's deadline (§4 I5): randomization is allowed through study day 7 in the
site's zone, so the deadline is local midnight starting day 8, whatever the onset's offset."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from combat_norse.protocol import randomization_deadline, study_day

pytestmark = pytest.mark.req("I5", "§4")


def test_deadline_is_local_midnight_after_study_day_7() -> None:
    onset = datetime(2026, 3, 1, 23, 30, tzinfo=ZoneInfo("America/New_York"))
    deadline = randomization_deadline(onset, "America/New_York")
    assert deadline == datetime(2026, 3, 9, 0, 0, tzinfo=ZoneInfo("America/New_York"))
    # the last moment before it is still day 7; the deadline itself is day 8
    assert study_day(onset, deadline - timedelta(seconds=1), "America/New_York") == 7
    assert study_day(onset, deadline, "America/New_York") == 8


def test_onset_given_in_utc_counts_in_the_sites_zone() -> None:
    # 03:00 UTC on 2 March is still 1 March in New York: day 0 is 1 March there
    onset = datetime(2026, 3, 2, 3, 0, tzinfo=ZoneInfo("UTC"))
    deadline = randomization_deadline(onset, "America/New_York")
    assert deadline.astimezone(ZoneInfo("America/New_York")).date().isoformat() == "2026-03-09"


def test_a_dst_change_in_the_window_keeps_local_midnight() -> None:
    # US DST starts 8 March 2026: the deadline is still 00:00 local on day 8
    onset = datetime(2026, 3, 3, 10, 0, tzinfo=ZoneInfo("America/New_York"))
    deadline = randomization_deadline(onset, ZoneInfo("America/New_York"))
    local = deadline.astimezone(ZoneInfo("America/New_York"))
    assert (local.date().isoformat(), local.hour, local.minute) == ("2026-03-11", 0, 0)
    assert local.utcoffset() == timedelta(hours=-4)
