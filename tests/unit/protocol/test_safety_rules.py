"""The pure §14 safety rules: clock deadlines, SUSARs, the DRESS window and the anakinra
safety-lab schedule (issue 16)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from combat_norse.protocol.safety import (
    DressSigns,
    anakinra_labs_due,
    clock_status,
    coordinating_centre_due,
    dress_matches,
    expected_in_disease,
    fatal_or_life_threatening,
    is_susar,
    local_same_time,
    regulator_deadline_days,
)

pytestmark = pytest.mark.req("§10", "§14", "#16")
ZONES = ["America/New_York", "Europe/Stockholm", "Europe/London", "Asia/Seoul",
         "America/Toronto", "Europe/Paris", "Australia/Lord_Howe"]  # fmt: skip


@given(
    moment=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1),
                        timezones=st.just(UTC)),
    zone=st.sampled_from(ZONES),
    days=st.sampled_from([7, 15]),
)  # fmt: skip
def test_a_regulator_deadline_keeps_the_local_wall_time_unless_it_does_not_exist(
    moment: datetime, zone: str, days: int
) -> None:
    due = local_same_time(moment, zone, days)
    local = moment.astimezone(ZoneInfo(zone))
    wanted = local.replace(tzinfo=None) + timedelta(days=days)
    got = due.replace(tzinfo=None)
    if got != wanted:  # only in a spring-forward gap: the first instant after it
        assert got > wanted and got - wanted <= timedelta(hours=1)
        assert (due - timedelta(minutes=1)).astimezone(ZoneInfo(zone)).replace(
            tzinfo=None) < wanted
    assert timedelta(days=days - 1) < due - moment < timedelta(days=days + 1)


def test_the_24_hour_clock_is_elapsed_time_and_needs_an_offset() -> None:
    aware = datetime(2026, 3, 7, 12, 0, tzinfo=ZoneInfo("America/New_York"))
    assert coordinating_centre_due(aware) - aware == timedelta(hours=24)
    with pytest.raises(ValueError, match="offset"):
        coordinating_centre_due(datetime(2026, 3, 7, 12, 0))
    with pytest.raises(ValueError, match="offset"):
        local_same_time(datetime(2026, 3, 7, 12, 0), "Europe/Paris", 7)


@pytest.mark.parametrize("wall", ["02:30:15", "02:59:59", "02:00:00"])
def test_a_due_time_in_the_spring_gap_is_the_gaps_end_exactly(wall: str) -> None:
    aware = datetime.fromisoformat(f"2026-02-21T{wall}-05:00")
    due = local_same_time(aware, "America/New_York", 15)  # 8 March: 02:00-03:00 skipped
    assert due.isoformat() == "2026-03-08T03:00:00-04:00"


def test_an_ambiguous_autumn_time_takes_the_first_of_the_two() -> None:
    aware = datetime(2026, 10, 18, 2, 30, tzinfo=ZoneInfo("Europe/Stockholm"))  # CEST
    due = local_same_time(aware, "Europe/Stockholm", 7)  # 25 Oct 02:30 happens twice
    assert due.isoformat() == "2026-10-25T02:30:00+02:00"


@pytest.mark.parametrize(("now_offset", "reported_offset", "status"), [
    (timedelta(0), None, "open"),
    (timedelta(seconds=1), None, "lapsed"),
    (timedelta(days=1), timedelta(minutes=-1), "met"),
    (timedelta(days=1), timedelta(0), "met"),
    (timedelta(days=1), timedelta(minutes=1), "met_late"),
])  # fmt: skip
def test_clock_status_at_the_due_time(
    now_offset: timedelta, reported_offset: timedelta | None, status: str
) -> None:
    due = datetime(2026, 11, 21, 14, 30, tzinfo=UTC)
    reported = None if reported_offset is None else due + reported_offset
    assert clock_status(due, reported, due + now_offset) == status


@pytest.mark.parametrize(("kwargs", "susar"), [
    ({"related_to_study_drug": "possible"}, True),
    ({"related_to_study_drug": "probable"}, True),
    ({"related_to_study_drug": "definite"}, True),
    ({"related_to_study_drug": "unlikely"}, False),
    ({"related_to_study_drug": "not_related"}, False),
    ({"related_to_study_drug": "possible", "expected": True}, False),
    ({"related_to_study_drug": "possible", "expected": None}, False),  # not yet answered
    ({"related_to_study_drug": "possible", "serious": False}, False),
    ({"related_to_study_drug": "possible", "term": "Anesthetic complications"}, False),
    ({"related_to_study_drug": "possible", "in_disease": "recurrent_seizures"}, False),
])  # fmt: skip
def test_a_susar_is_serious_related_unexpected_and_not_expected_in_the_disease(
    kwargs: dict[str, object], susar: bool
) -> None:
    args: dict[str, object] = {"serious": True, "expected": False, "term": "Hepatitis", **kwargs}
    assert is_susar(**args) is susar  # type: ignore[arg-type]


def test_expected_in_disease_matches_its_label_or_code_in_any_case() -> None:
    assert expected_in_disease("Prolonged ICU stay") is not None
    assert expected_in_disease("recurrent_seizures") is not None
    assert expected_in_disease("  ANESTHETIC   complications ") is not None
    assert expected_in_disease("Seizure") is None


def test_seven_days_for_fatal_or_life_threatening_and_the_table_per_country() -> None:
    assert fatal_or_life_threatening(["life_threatening"], "recovering", 4)
    assert fatal_or_life_threatening([], "fatal", 3)
    assert fatal_or_life_threatening([], None, 5)
    assert not fatal_or_life_threatening(["hospitalization"], "recovered", 3)
    assert regulator_deadline_days("se", True) == 7 and regulator_deadline_days("SE", False) == 15
    assert regulator_deadline_days("NZ", True) is None
    assert regulator_deadline_days("NZ", False, table=[("NZ", 5, 10)]) == 10


def _at(day: int) -> datetime:
    return datetime(2026, 11, 1, 12, tzinfo=UTC) + timedelta(days=day)


@pytest.mark.parametrize(("eos_day", "rash_day", "rise_day", "matched"), [
    (0, 7, 14, True),
    (0, 14, 14, True),
    (0, 15, 7, False),
    (14, 0, 7, True),
    (15, 0, 0, False),
])  # fmt: skip
def test_the_dress_signs_must_lie_within_14_days_of_each_other(
    eos_day: int, rash_day: int, rise_day: int, matched: bool
) -> None:
    signs = DressSigns(((_at(eos_day), "e"),), ((_at(rash_day).date(), "r"),),
                       ((_at(rise_day), "t"),))  # fmt: skip
    assert (dress_matches(signs) == [("e", "r", "t")]) is matched
    assert dress_matches(DressSigns((), ((date(2026, 11, 1), "r"),), ())) == []


@pytest.mark.parametrize(("labs", "now_day", "due"), [
    ([], 1, ("baseline", 0)),  # nothing at or before the first dose
    ([-1], 3, ("follow_up", 3)),  # twice weekly: 4 days after the last
    ([-1, 3], 7, ("follow_up", 7)),
    ([-1, 3, 7, 10, 13], 15, ("follow_up", 20)),  # after 2 weeks: weekly
    ([-1, 3, 7, 10, 14], 15, ("follow_up", 21)),
])  # fmt: skip
def test_anakinra_safety_labs_twice_weekly_then_weekly(
    labs: list[int], now_day: int, due: tuple[str, int]
) -> None:
    first = _at(0)
    got = anakinra_labs_due(first, _at(now_day), [_at(d) for d in labs], _at(now_day))
    assert got is not None and (got.kind, got.due_by) == (due[0], _at(due[1]))


def test_no_safety_labs_are_owed_48_hours_after_the_last_anakinra_dose() -> None:
    last = _at(10)
    assert anakinra_labs_due(_at(0), last, [], last + timedelta(hours=48)) is not None
    assert anakinra_labs_due(_at(0), last, [], last + timedelta(hours=48, seconds=1)) is None
