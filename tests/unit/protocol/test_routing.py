"""Cohort routing (§5), the §5 output object, strata (§6), FIRES (§2) and the calendar helpers."""

from __future__ import annotations

import dataclasses
import pickle
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from combat_norse.protocol.eligibility import (
    CRITERION_FIELDS,
    RULES,
    AgeGroup,
    CriterionStatus,
    Decision,
    OnsetWindow,
    Strata,
    age_in_years,
    evaluate,
    is_fires,
    route,
    strata_for,
    study_day,
)
from combat_norse.protocol.parameters import DEFAULT, RULES_VERSION
from combat_norse.protocol.records import RECORD_FIELDS, ScreeningRecord
from combat_norse.protocol.requirements import CRITERIA

from .builders import build_record, screen

MET, FAILED, UNKNOWN = CriterionStatus.MET, CriterionStatus.FAILED, CriterionStatus.UNKNOWN
SECTION5_KEYS = ["decision", "failed", "unknown", "missing", "study_day", "age_years", "fires",
                 "strata"]  # fmt: skip


# ------------------------------------------------------------------------------ routing order


@pytest.mark.req("§5")
def test_complete_eligible_record_goes_to_the_randomized_cohort() -> None:
    result = screen()
    assert result.decision is Decision.RANDOMIZED_COHORT
    assert set(result.criteria.values()) == {MET}
    assert result.failed == result.unknown == result.missing == ()


@pytest.mark.req("§5", "I1", "I5")
def test_core_failure_wins_over_everything_else() -> None:
    # I1 failed (core) beside unknown core, failed and unknown randomization-only criteria.
    result = screen(
        date_of_birth="2025-01-01",
        drop=("usual_health_before_se", "anc_per_mm3"),
        evaluated_at="2026-05-20T10:00:00-04:00",
    )
    assert result.decision is Decision.NOT_ELIGIBLE
    assert result.failed == ("I1", "I5")
    assert result.unknown == ("E5", "I2")


@pytest.mark.req("§5", "I2", "I5")
def test_core_unknown_wins_over_randomization_failure() -> None:
    result = screen(drop=("usual_health_before_se",), evaluated_at="2026-05-20T10:00:00-04:00")
    assert result.decision is Decision.INCOMPLETE
    assert result.failed == ("I5",) and result.unknown == ("I2",)


@pytest.mark.req("§5", "I4", "E5")
def test_randomization_failure_wins_over_randomization_unknown() -> None:
    result = screen(planned_therapy="none", drop=("anc_per_mm3",))
    assert result.decision is Decision.OBSERVATIONAL_COHORT
    assert result.failed == ("I4",) and result.missing == ("anc_per_mm3",)


@pytest.mark.req("§5", "E6")
def test_randomization_unknown_alone_is_incomplete() -> None:
    result = screen(drop=("platelets_per_mm3",))
    assert result.decision is Decision.INCOMPLETE and result.unknown == ("E6",)


@pytest.mark.req("§5", "E1")
def test_systemic_illness_is_a_core_exclusion() -> None:
    assert screen(systemic_illness=True).decision is Decision.NOT_ELIGIBLE


@pytest.mark.req("§5", "I5")
def test_late_patient_with_norse_goes_to_the_observational_cohort() -> None:
    result = screen(evaluated_at="2026-05-13T09:00:00-04:00")  # study day 9
    assert result.decision is Decision.OBSERVATIONAL_COHORT
    assert result.study_day == 9 and result.failed == ("I5",)


@pytest.mark.req("§5")
@pytest.mark.parametrize("code", ["I4", "I5", "E2", "E3", "E4", "E5", "E6", "E7", "E8"])
def test_each_randomization_only_failure_routes_to_observational(code: str) -> None:
    statuses = dict.fromkeys(CRITERIA, MET) | {code: FAILED}
    assert route(statuses) is Decision.OBSERVATIONAL_COHORT


@pytest.mark.req("§5")
@pytest.mark.parametrize("code", ["I1", "I2", "I3", "E1"])
def test_each_core_failure_is_not_eligible_and_each_core_unknown_is_incomplete(code: str) -> None:
    assert route(dict.fromkeys(CRITERIA, MET) | {code: FAILED}) is Decision.NOT_ELIGIBLE
    assert route(dict.fromkeys(CRITERIA, MET) | {code: UNKNOWN}) is Decision.INCOMPLETE


@pytest.mark.req("§5")
def test_empty_record_is_incomplete_with_every_criterion_unknown() -> None:
    result = evaluate(ScreeningRecord())
    assert result.decision is Decision.INCOMPLETE
    assert result.unknown == tuple(sorted(CRITERIA))
    needed = {name for names in CRITERION_FIELDS.values() for name in names}
    assert set(result.missing) == needed
    assert (result.study_day, result.age_years, result.fires, result.strata) == (None,) * 4


@pytest.mark.req("§4")
def test_every_criterion_has_a_rule_and_reads_only_record_fields() -> None:
    assert tuple(RULES) == CRITERIA
    assert tuple(CRITERION_FIELDS) == CRITERIA
    assert {n for names in CRITERION_FIELDS.values() for n in names} <= set(RECORD_FIELDS)


# ------------------------------------------------------------------------------ output object


@pytest.mark.req("§5")
def test_to_json_has_exactly_the_section_5_keys() -> None:
    for result in (screen(), screen(planned_therapy="none"), evaluate(ScreeningRecord())):
        data = result.to_json()
        assert list(data) == SECTION5_KEYS


@pytest.mark.req("§5", "§6")
def test_randomized_to_json_carries_strata() -> None:
    data = screen().to_json()
    assert data == {
        "decision": "randomized_cohort",
        "failed": [],
        "unknown": [],
        "missing": [],
        "study_day": 3,
        "age_years": 35,
        "fires": False,
        "strata": {"age_group": "adult", "onset_window": "early"},
    }


@pytest.mark.req("§5", "§6")
def test_strata_are_null_unless_randomized() -> None:
    observational = screen(planned_therapy="none")
    assert observational.strata is None and observational.to_json()["strata"] is None
    assert observational.study_day == 3 and observational.age_years == 35


@pytest.mark.req("§5")
def test_result_survives_asdict_pickle_and_compares_equal() -> None:
    result = screen()
    assert pickle.loads(pickle.dumps(result)) == result  # noqa: S301 - our own bytes
    assert dataclasses.asdict(result)["criteria"]["I5"] is MET
    assert screen() == result


@pytest.mark.req("§5")
def test_result_records_the_rules_version() -> None:
    assert screen().rules_version == RULES_VERSION == "1.0"
    custom = dataclasses.replace(DEFAULT, rules_version="1.1-test")
    assert evaluate(build_record(), custom).rules_version == "1.1-test"


@pytest.mark.req("§5", "I5")
def test_changed_parameters_change_the_decision() -> None:
    stricter = dataclasses.replace(DEFAULT, max_study_day=2, early_window_last_day=1)
    result = evaluate(build_record(), stricter)
    assert result.decision is Decision.OBSERVATIONAL_COHORT and result.failed == ("I5",)


# ------------------------------------------------------------------------------ strata


@pytest.mark.req("§6")
@pytest.mark.parametrize(
    ("age", "day", "expected"),
    [
        (2, 0, Strata(AgeGroup.PEDIATRIC, OnsetWindow.EARLY)),
        (17, 3, Strata(AgeGroup.PEDIATRIC, OnsetWindow.EARLY)),
        (17, 4, Strata(AgeGroup.PEDIATRIC, OnsetWindow.LATE)),
        (18, 3, Strata(AgeGroup.ADULT, OnsetWindow.EARLY)),
        (90, 7, Strata(AgeGroup.ADULT, OnsetWindow.LATE)),
    ],
)
def test_strata_boundaries(age: int, day: int, expected: Strata) -> None:
    assert strata_for(age, day) == expected


@pytest.mark.req("§6")
@pytest.mark.parametrize(("age", "day"), [(1, 3), (30, -1), (30, 8)])
def test_no_stratum_outside_the_randomizable_range(age: int, day: int) -> None:
    with pytest.raises(ValueError, match="no stratum"):
        strata_for(age, day)


@pytest.mark.req("§6")
def test_eighteenth_birthday_on_onset_day_is_adult() -> None:
    result = screen(date_of_birth="2008-05-04", evaluated_at="2026-05-09T08:00:00-04:00")
    assert result.strata == Strata(AgeGroup.ADULT, OnsetWindow.LATE)
    younger = screen(date_of_birth="2008-05-05")
    assert younger.strata is not None and younger.strata.age_group is AgeGroup.PEDIATRIC


# ------------------------------------------------------------------------------ FIRES

ONSET = datetime(2026, 5, 4, 14, 0, tzinfo=UTC)


@pytest.mark.req("§2")
@pytest.mark.parametrize(
    ("lead", "expected"),
    [
        (timedelta(hours=24), True),
        (timedelta(hours=24) - timedelta(seconds=1), False),
        (timedelta(days=14), True),
        (timedelta(days=14, seconds=1), False),
        (timedelta(days=5), True),
        (timedelta(0), False),
        (-timedelta(hours=6), False),  # fever began after SE onset
    ],
)
def test_fires_window_is_14_days_to_24_hours_inclusive(lead: timedelta, expected: bool) -> None:
    assert is_fires(ONSET, ONSET - lead) is expected


@pytest.mark.req("§2")
def test_no_febrile_illness_is_not_fires() -> None:
    assert is_fires(ONSET, None) is False


@pytest.mark.req("§2")
def test_fires_window_is_true_time_whatever_the_offsets() -> None:
    fever = (ONSET - timedelta(hours=24)).astimezone(timezone(timedelta(hours=9)))
    assert is_fires(ONSET.astimezone(timezone(timedelta(hours=-7))), fever) is True


@pytest.mark.req("§2")
def test_fires_in_the_result_distinguishes_null_from_absent() -> None:
    assert screen(febrile_illness_onset="2026-04-30T10:00:00-04:00").fires is True
    assert screen(febrile_illness_onset=None).fires is False
    assert screen(drop=("febrile_illness_onset",)).fires is None
    assert screen(febrile_illness_onset="2026-05-04T09:00:00-04:00").fires is False  # 1 h before


@pytest.mark.req("§2", "I3")
def test_fires_requires_norse() -> None:
    fever = "2026-04-30T10:00:00-04:00"
    assert screen(febrile_illness_onset=fever, acute_cause_identified=True).fires is False
    assert screen(febrile_illness_onset=fever, drop=("active_epilepsy",)).fires is None
    assert screen(febrile_illness_onset=None, drop=("active_epilepsy",)).fires is False


@pytest.mark.req("§2")
def test_fires_is_unknown_without_onset() -> None:
    result = screen(drop=("se_onset",), febrile_illness_onset="2026-04-30T10:00:00-04:00")
    assert result.fires is None


# ------------------------------------------------------------------------------ helpers


@pytest.mark.req("I1")
@pytest.mark.parametrize(
    ("dob", "on", "years"),
    [
        (date(2024, 5, 4), date(2026, 5, 3), 1),
        (date(2024, 5, 4), date(2026, 5, 4), 2),
        (date(2024, 2, 29), date(2026, 2, 28), 1),
        (date(2024, 2, 29), date(2026, 3, 1), 2),
        (date(2024, 2, 29), date(2028, 2, 28), 3),
        (date(2024, 2, 29), date(2028, 2, 29), 4),
        (date(2000, 12, 31), date(2001, 1, 1), 0),
        (date(2000, 1, 1), date(2000, 1, 1), 0),
    ],
)
def test_age_in_completed_years(dob: date, on: date, years: int) -> None:
    assert age_in_years(dob, on) == years


@pytest.mark.req("I1")
def test_age_before_birth_is_an_error() -> None:
    with pytest.raises(ValueError, match="before the date of birth"):
        age_in_years(date(2020, 1, 2), date(2020, 1, 1))


@pytest.mark.req("I5")
def test_study_day_helper_uses_the_zone_given() -> None:
    onset = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
    at = datetime(2026, 5, 4, 10, 30, tzinfo=UTC)
    assert study_day(onset, at, "Europe/London") == 0  # 10:30 and 11:30 BST, same date
    assert study_day(onset, at, "Pacific/Kiritimati") == 1  # 23:30, then 00:30 next day (UTC+14)


@pytest.mark.req("I5")
def test_study_day_helper_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        study_day(datetime(2026, 5, 4, 9, 30), datetime(2026, 5, 5, 9, 30), "Europe/London")
