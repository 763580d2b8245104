"""Visit windows and safety-lab days (§8)."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from combat_norse.protocol.parameters import DEFAULT, VisitKind
from combat_norse.protocol.schedule import (
    VISIT_CATALOGUE,
    VisitWindow,
    safety_lab_days,
    visit_schedule,
)

ONSET = date(2026, 3, 7)


def _offsets(window: VisitWindow) -> tuple[int, int, int]:
    return (
        (window.earliest - ONSET).days,
        (window.target - ONSET).days,
        (window.latest - ONSET).days,
    )


@pytest.mark.req("§8")
def test_default_schedule_runs_to_month12_with_the_protocol_windows() -> None:
    windows = visit_schedule(ONSET)
    assert [(w.visit, _offsets(w)) for w in windows] == [
        ("day30", (23, 30, 37)),
        ("month3", (76, 90, 104)),
        ("month6", (150, 180, 210)),
        ("month12", (335, 365, 395)),
    ]


@pytest.mark.req("§8")
def test_annual_visits_are_added_up_to_the_years_asked() -> None:
    windows = visit_schedule(ONSET, years=3)
    assert [w.visit for w in windows][-2:] == ["annual_2", "annual_3"]
    assert _offsets(windows[-2]) == (670, 730, 790)
    assert _offsets(windows[-1]) == (1035, 1095, 1155)


@pytest.mark.req("§8")
def test_window_to_json_uses_iso_dates() -> None:
    assert visit_schedule(ONSET)[0].to_json() == {
        "visit": "day30",
        "target": "2026-04-06",
        "earliest": "2026-03-30",
        "latest": "2026-04-13",
    }


@pytest.mark.req("§8")
@pytest.mark.parametrize("years", [0, -1, DEFAULT.max_schedule_years + 1])
def test_years_out_of_range_is_rejected(years: int) -> None:
    with pytest.raises(ValueError, match="years"):
        visit_schedule(ONSET, years)


@pytest.mark.req("§8")
def test_a_datetime_onset_is_refused() -> None:
    with pytest.raises(TypeError, match="local calendar date"):
        visit_schedule(datetime(2026, 3, 7, 12, 0))


@pytest.mark.req("§8")
def test_schedule_past_the_calendar_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="calendar"):
        visit_schedule(date(9999, 1, 1), 2)


@pytest.mark.req("§8")
def test_catalogue_lists_every_visit_of_the_protocol_table() -> None:
    assert [v.code for v in VISIT_CATALOGUE] == [
        "baseline", "inpatient_daily", "se_resolution", "discharge",
        "day30", "month3", "month6", "month12", "interview",
    ]  # fmt: skip
    windowed = [v for v in VISIT_CATALOGUE if v.kind is VisitKind.WINDOWED]
    assert all(v.target_day is not None and v.window_days is not None for v in windowed)
    events = [v for v in VISIT_CATALOGUE if v.kind is not VisitKind.WINDOWED]
    assert all(v.target_day is None and v.window_days is None for v in events)
    assert "primary outcome" in VISIT_CATALOGUE[7].content


@pytest.mark.req("§8")
@settings(max_examples=150, deadline=None)
@given(
    onset=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
    years=st.integers(min_value=1, max_value=20),
)
def test_every_window_contains_its_target_and_windows_are_in_order(onset: date, years: int) -> None:
    windows = visit_schedule(onset, years)
    assert len(windows) == 4 + years - 1
    for window in windows:
        assert window.contains(window.target)
        assert window.earliest <= window.target <= window.latest
        assert window.target > onset
    for first, second in itertools.pairwise(windows):
        assert first.target < second.target
        assert first.earliest < second.earliest and first.latest < second.latest
        assert first.latest < second.earliest  # windows never overlap


@pytest.mark.req("§8")
def test_anakinra_labs_twice_weekly_for_two_weeks_then_weekly() -> None:
    days = safety_lab_days("anakinra", ONSET, ONSET + timedelta(days=30))
    assert [(d - ONSET).days for d in days] == [0, 3, 7, 10, 14, 21, 28]


@pytest.mark.req("§8")
def test_anakinra_labs_stop_with_the_drug() -> None:
    days = safety_lab_days("anakinra", ONSET, ONSET + timedelta(days=8))
    assert [(d - ONSET).days for d in days] == [0, 3, 7]


@pytest.mark.req("§8")
def test_tocilizumab_labs_precede_each_infusion() -> None:
    days = safety_lab_days("tocilizumab", ONSET, ONSET + timedelta(days=42))
    assert [(d - ONSET).days for d in days] == [0, 14, 28, 42]


@pytest.mark.req("§8")
def test_safety_labs_refuse_a_last_dose_before_the_first() -> None:
    with pytest.raises(ValueError, match="before first_dose"):
        safety_lab_days("tocilizumab", ONSET, ONSET - timedelta(days=1))
