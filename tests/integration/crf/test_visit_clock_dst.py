"""The visit clock across daylight-saving changes (§8, §14): a window opens at midnight of the
site's local date and a visit becomes overdue at the local midnight after ``latest``, whatever
the UTC offset that day. On a DST change day local midnight is not at the usual UTC hour, so
the boundary instants below are written out in UTC (not derived with zoneinfo, which the code
under test uses): an hour off on either side of a change fails one of the cases.

America/New_York (YNH): EST −5 until 2026-03-08 02:00, EDT −4 until 2026-11-01 02:00.
Europe/Paris (PSL): CET +1 until 2026-03-29 02:00, CEST +2 until 2026-10-25 03:00.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from combat_norse.crf.actions.visits import run_visit_clock
from combat_norse.crf.models import Visit

pytestmark = [pytest.mark.django_db, pytest.mark.req("§8", "§14")]
ZONES = {"YNH": "America/New_York", "PSL": "Europe/Paris"}
SECOND = timedelta(seconds=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# (site, the window edge, the day30 window's date on that edge, the UTC instant of the local
# midnight where the status changes, status just before, status from that instant)
CASES = [
    # spring forward: the change day still starts at standard time, the next day at summer time
    ("YNH", "earliest", date(2026, 3, 8), utc(2026, 3, 8, 5), "upcoming", "due"),
    ("YNH", "earliest", date(2026, 3, 9), utc(2026, 3, 9, 4), "upcoming", "due"),
    ("PSL", "earliest", date(2026, 3, 29), utc(2026, 3, 28, 23), "upcoming", "due"),
    ("PSL", "earliest", date(2026, 3, 30), utc(2026, 3, 29, 22), "upcoming", "due"),
    # fall back: the change day starts at summer time, the next day at standard time
    ("YNH", "earliest", date(2026, 11, 1), utc(2026, 11, 1, 4), "upcoming", "due"),
    ("YNH", "latest", date(2026, 11, 1), utc(2026, 11, 2, 5), "due", "overdue"),
    ("YNH", "latest", date(2026, 10, 31), utc(2026, 11, 1, 4), "due", "overdue"),
    ("PSL", "earliest", date(2026, 10, 25), utc(2026, 10, 24, 22), "upcoming", "due"),
    ("PSL", "latest", date(2026, 10, 25), utc(2026, 10, 25, 23), "due", "overdue"),
    ("PSL", "latest", date(2026, 3, 29), utc(2026, 3, 29, 22), "due", "overdue"),
]
EARLY, LATE = 23, 37  # day30 window: onset day + 30 ± 7


@pytest.fixture
def enroll_at(personas: Any, enroll: Callable[..., Any]) -> Callable[[str, date], Any]:
    """enroll_at(site, onset_day): SE onset at noon local on that day, enrolled a day later."""
    from combat_norse.accounts.actions import do_add_user

    coordinators = {"YNH": personas.coord,
                    "PSL": do_add_user("coord_psl", "site_coordinator", ["PSL"]).user}  # fmt: skip

    def _enroll(site: str, onset_day: date) -> Any:
        onset = datetime.combine(onset_day, time(12), tzinfo=ZoneInfo(ZONES[site]))
        return enroll(site=site, actor=coordinators[site], now=onset + timedelta(days=1),
                      se_onset=onset.isoformat())  # fmt: skip

    return _enroll


def status_at(visit: Visit, moment: datetime) -> str:
    run_visit_clock(moment)
    visit.refresh_from_db()
    return visit.status


@pytest.mark.parametrize(("site", "edge", "day", "boundary", "before", "after"), CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in CASES])  # fmt: skip
def test_a_window_edge_on_a_dst_change_day_follows_the_sites_local_midnight(
    site: str, edge: str, day: date, boundary: datetime, before: str, after: str,
    enroll_at: Callable[[str, date], Any],
) -> None:  # fmt: skip
    onset_day = day - timedelta(days=EARLY if edge == "earliest" else LATE)
    p = enroll_at(site, onset_day)
    visit = Visit.unscoped.get(participant=p, code="day30")
    assert getattr(visit, edge) == day  # the window is in local dates from the onset's day
    assert (visit.earliest, visit.latest) == (onset_day + timedelta(days=EARLY),
                                              onset_day + timedelta(days=LATE))  # fmt: skip
    local = ZoneInfo(ZONES[site])
    assert boundary.astimezone(local).time() == time(0)  # the table's instant is local midnight
    if edge == "latest":  # inside the window first
        assert status_at(visit, boundary - timedelta(days=2)) == "due"
    assert status_at(visit, boundary - SECOND) == before
    assert status_at(visit, boundary) == after
    assert run_visit_clock(boundary + SECOND) == 0  # idempotent


def test_the_repeated_hour_of_the_fall_back_night_is_the_same_local_day(
    enroll_at: Callable[[str, date], Any],
) -> None:  # fmt: skip
    """New York, 2026-11-01: 01:30 happens twice (05:30Z EDT, 06:30Z EST), both on the 1st;
    a window closing on 2026-10-31 is overdue at both and a window opening on 2026-11-02 is
    upcoming at both."""
    closing = Visit.unscoped.get(participant=enroll_at("YNH", date(2026, 10, 31) - timedelta(
        days=LATE)), code="day30")  # fmt: skip
    opening = Visit.unscoped.get(participant=enroll_at("YNH", date(2026, 11, 2) - timedelta(
        days=EARLY)), code="day30")  # fmt: skip
    for moment in (utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 6, 30)):
        assert moment.astimezone(ZoneInfo("America/New_York")).time() == time(1, 30)
        assert status_at(closing, moment) == "overdue"
        assert status_at(opening, moment) == "upcoming"
