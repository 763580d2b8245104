"""Each criterion of §4 at its boundaries, and what ``missing`` lists."""

from __future__ import annotations

from typing import Any

import pytest

from combat_norse.protocol.eligibility import CriterionStatus

from .builders import screen

MET, FAILED, UNKNOWN = CriterionStatus.MET, CriterionStatus.FAILED, CriterionStatus.UNKNOWN


def status(code: str, drop: tuple[str, ...] = (), **changes: Any) -> CriterionStatus:
    return screen(drop, **changes).criteria[code]


# ------------------------------------------------------------------------------ I1 age


@pytest.mark.req("I1")
def test_day_before_second_birthday_fails_i1() -> None:
    result = screen(date_of_birth="2024-05-05", se_onset="2026-05-04T10:00:00-04:00")
    assert result.criteria["I1"] is FAILED and result.age_years == 1


@pytest.mark.req("I1")
def test_second_birthday_on_onset_day_meets_i1() -> None:
    result = screen(date_of_birth="2024-05-04", se_onset="2026-05-04T00:00:00-04:00")
    assert result.criteria["I1"] is MET and result.age_years == 2


@pytest.mark.req("I1")
def test_leap_day_birthday_is_reached_on_first_of_march_in_a_non_leap_year() -> None:
    born = {"date_of_birth": "2024-02-29", "site_timezone": "America/New_York"}
    feb28 = screen(**born, se_onset="2026-02-28T23:59:00-05:00", evaluated_at="2026-03-01T10:00Z")
    mar01 = screen(**born, se_onset="2026-03-01T00:00:00-05:00", evaluated_at="2026-03-02T10:00Z")
    assert (feb28.criteria["I1"], feb28.age_years) == (FAILED, 1)
    assert (mar01.criteria["I1"], mar01.age_years) == (MET, 2)


@pytest.mark.req("I1")
def test_leap_day_birthday_is_reached_on_leap_day_in_a_leap_year() -> None:
    result = screen(
        date_of_birth="2022-02-28",  # control: an ordinary birthday
        se_onset="2024-02-28T12:00:00-05:00",
        evaluated_at="2024-03-01T12:00:00-05:00",
    )
    assert result.age_years == 2
    leap = screen(
        date_of_birth="2020-02-29",
        se_onset="2024-02-29T12:00:00-05:00",
        evaluated_at="2024-03-01T12:00:00-05:00",
    )
    assert leap.age_years == 4


@pytest.mark.req("I1")
def test_age_uses_the_local_onset_date_east_of_utc() -> None:
    # 2026-05-03T16:00Z is 2026-05-04 01:00 in Seoul: the 2nd birthday (05-04) has arrived there.
    seoul = screen(
        site_timezone="Asia/Seoul",
        date_of_birth="2024-05-04",
        se_onset="2026-05-03T16:00:00Z",
        evaluated_at="2026-05-05T03:00:00Z",
    )
    assert seoul.criteria["I1"] is MET
    new_york = screen(
        site_timezone="America/New_York",
        date_of_birth="2024-05-03",
        se_onset="2026-05-03T03:00:00Z",  # still 2026-05-02 in New York
        evaluated_at="2026-05-05T03:00:00Z",
    )
    assert new_york.criteria["I1"] is FAILED and new_york.age_years == 1


@pytest.mark.req("I1")
@pytest.mark.parametrize("absent", ["date_of_birth", "site_timezone", "se_onset"])
def test_i1_is_unknown_without_birth_date_zone_or_onset(absent: str) -> None:
    result = screen(drop=(absent,))
    assert result.criteria["I1"] is UNKNOWN and absent in result.missing
    assert result.age_years is None


# ------------------------------------------------------------------------------ I2, I4, E1–E4, E8


@pytest.mark.req("I2")
def test_i2_follows_usual_health_before_se() -> None:
    assert status("I2", usual_health_before_se=True) is MET
    assert status("I2", usual_health_before_se=False) is FAILED
    assert status("I2", usual_health_before_se=None) is UNKNOWN


@pytest.mark.req("I4")
@pytest.mark.parametrize(
    ("planned", "expected"),
    [("anakinra", MET), ("tocilizumab", MET), ("either", MET), ("none", FAILED), (None, UNKNOWN)],
)
def test_i4_fails_only_when_no_study_drug_is_planned(
    planned: str | None, expected: CriterionStatus
) -> None:
    assert status("I4", planned_therapy=planned) is expected


@pytest.mark.req("E1", "E2", "E3", "E4", "E8")
@pytest.mark.parametrize(
    ("code", "field"),
    [
        ("E1", "systemic_illness"),
        ("E2", "hypersensitivity"),
        ("E3", "active_serious_infection"),
        ("E4", "tnf_blocker"),
        ("E8", "gi_perforation_risk"),
    ],
)
def test_yes_no_exclusions_fail_when_true(code: str, field: str) -> None:
    off: dict[str, Any] = {field: False}
    on: dict[str, Any] = {field: True}
    assert status(code, **off) is MET
    assert status(code, **on) is FAILED
    result = screen(drop=(field,))
    assert result.criteria[code] is UNKNOWN and result.missing == (field,)


# ------------------------------------------------------------------------------ I3 NORSE


@pytest.mark.req("I3")
def test_two_failed_asms_meet_i3_and_one_fails_it() -> None:
    assert status("I3", failed_asm_count=2) is MET
    assert status("I3", failed_asm_count=1) is FAILED
    assert status("I3", failed_asm_count=0) is FAILED


@pytest.mark.req("I3")
@pytest.mark.parametrize(
    "field", ["active_epilepsy", "preexisting_neuro_disorder", "acute_cause_identified"]
)
def test_each_disqualifying_history_fails_i3(field: str) -> None:
    changes: dict[str, Any] = {field: True}
    assert status("I3", **changes) is FAILED


@pytest.mark.req("I3")
def test_one_failed_asm_fails_i3_even_with_active_epilepsy_missing() -> None:
    result = screen(drop=("active_epilepsy",), failed_asm_count=1)
    assert result.criteria["I3"] is FAILED
    assert "active_epilepsy" not in result.missing


@pytest.mark.req("I3")
def test_acute_cause_fails_i3_even_with_count_missing() -> None:
    result = screen(drop=("failed_asm_count", "active_epilepsy"), acute_cause_identified=True)
    assert result.criteria["I3"] is FAILED and result.missing == ()


@pytest.mark.req("I3")
def test_i3_is_unknown_when_an_input_is_missing_and_none_fails() -> None:
    result = screen(drop=("failed_asm_count",), preexisting_neuro_disorder=None)
    assert result.criteria["I3"] is UNKNOWN
    assert result.missing == ("failed_asm_count", "preexisting_neuro_disorder")


# ------------------------------------------------------------------------------ I5 study day

# (zone, onset, evaluated day 7 at 23:59 local, evaluated day 8 at 00:01 local)
DAY7_BOUNDARIES = [
    ("Asia/Seoul", "2026-05-04T08:00:00+09:00",
     "2026-05-11T23:59:00+09:00", "2026-05-12T00:01:00+09:00"),
    ("America/Phoenix", "2026-03-05T21:00:00-07:00",  # no DST in Arizona
     "2026-03-12T23:59:00-07:00", "2026-03-13T00:01:00-07:00"),
    ("Europe/London", "2026-03-26T00:10:00+00:00",  # across the spring change (29 March)
     "2026-04-02T23:59:00+01:00", "2026-04-03T00:01:00+01:00"),
    ("America/New_York", "2026-03-07T23:30:00-05:00",  # the Saturday before spring-forward
     "2026-03-14T23:59:00-04:00", "2026-03-15T00:01:00-04:00"),
    ("America/New_York", "2026-10-31T01:00:00-04:00",  # the Saturday before fall-back
     "2026-11-07T23:59:00-05:00", "2026-11-08T00:01:00-05:00"),
]  # fmt: skip


@pytest.mark.req("I5")
@pytest.mark.parametrize(
    ("zone", "onset", "day7", "day8"), DAY7_BOUNDARIES, ids=[z[0] for z in DAY7_BOUNDARIES]
)
def test_day_7_at_2359_local_meets_i5_and_day_8_at_0001_fails(
    zone: str, onset: str, day7: str, day8: str
) -> None:
    last = screen(site_timezone=zone, se_onset=onset, evaluated_at=day7)
    late = screen(site_timezone=zone, se_onset=onset, evaluated_at=day8)
    assert (last.study_day, last.criteria["I5"]) == (7, MET)
    assert (late.study_day, late.criteria["I5"]) == (8, FAILED)


@pytest.mark.req("I5")
def test_study_day_counts_local_dates_not_utc_dates() -> None:
    # Seoul: onset 00:30 local on 05-01 (still 04-30 in UTC); 05-08 23:59 local is 14:59Z.
    result = screen(
        site_timezone="Asia/Seoul",
        se_onset="2026-05-01T00:30:00+09:00",
        evaluated_at="2026-05-08T14:59:00Z",
        date_of_birth="1990-01-01",
    )
    assert result.study_day == 7 and result.criteria["I5"] is MET


@pytest.mark.req("I5")
def test_elapsed_hours_are_true_hours_across_spring_forward() -> None:
    result = screen(
        site_timezone="America/New_York",
        se_onset="2026-03-07T23:30:00-05:00",
        evaluated_at="2026-03-14T23:59:00-04:00",
    )
    assert result.study_day == 7
    assert result.elapsed_hours == pytest.approx(7 * 24 - 1 + 29 / 60)


@pytest.mark.req("I5")
def test_onset_day_is_study_day_0() -> None:
    result = screen(se_onset="2026-05-04T00:00:00-04:00", evaluated_at="2026-05-04T23:59:59-04:00")
    assert result.study_day == 0 and result.criteria["I5"] is MET


@pytest.mark.req("I5")
@pytest.mark.parametrize("absent", ["se_onset", "evaluated_at", "site_timezone"])
def test_i5_is_unknown_without_onset_evaluation_or_zone(absent: str) -> None:
    result = screen(drop=(absent,))
    assert result.criteria["I5"] is UNKNOWN and absent in result.missing
    assert result.study_day is None


# ------------------------------------------------------------------------------ E5–E7 labs


@pytest.mark.req("E5")
def test_anc_2000_passes_e5_and_1999_fails() -> None:
    assert status("E5", anc_per_mm3=2000) is MET
    assert status("E5", anc_per_mm3=2000.0) is MET
    assert status("E5", anc_per_mm3=1999) is FAILED
    assert status("E5", anc_per_mm3=1999.99) is FAILED
    assert status("E5", anc_per_mm3=None) is UNKNOWN


@pytest.mark.req("E6")
def test_platelets_100000_pass_e6_and_99999_fail() -> None:
    assert status("E6", platelets_per_mm3=100000) is MET
    assert status("E6", platelets_per_mm3=99999) is FAILED
    assert status("E6", platelets_per_mm3=None) is UNKNOWN


@pytest.mark.req("E7")
def test_alt_exactly_1_5_times_uln_passes_e7() -> None:
    assert status("E7", alt_u_l=60, alt_uln_u_l=40) is MET
    assert status("E7", alt_u_l=60.01, alt_uln_u_l=40) is FAILED


@pytest.mark.req("E7")
def test_ratio_exactly_1_5_passes_even_where_binary_floats_round_up() -> None:
    # 15.3 / 10.2 == 1.5000000000000002 in binary floating point; in decimal it is 1.5.
    assert 15.3 / 10.2 > 1.5
    assert status("E7", alt_u_l=15.3, alt_uln_u_l=10.2) is MET
    assert status("E7", ast_u_l=15.3, ast_uln_u_l=10.2) is MET


@pytest.mark.req("E7")
def test_ast_above_1_5_times_uln_fails_e7() -> None:
    assert status("E7", ast_u_l=61, ast_uln_u_l=40) is FAILED


@pytest.mark.req("E7")
def test_alt_twice_uln_fails_e7_with_ast_missing_and_ast_not_listed() -> None:
    result = screen(drop=("ast_u_l", "ast_uln_u_l"), alt_u_l=80, alt_uln_u_l=40)
    assert result.criteria["E7"] is FAILED
    assert "ast_u_l" not in result.missing and "ast_uln_u_l" not in result.missing


@pytest.mark.req("E7")
def test_ast_decides_e7_with_alt_missing() -> None:
    result = screen(drop=("alt_u_l",), ast_u_l=100, ast_uln_u_l=40)
    assert result.criteria["E7"] is FAILED and result.missing == ()


@pytest.mark.req("E7")
def test_normal_alt_with_ast_missing_leaves_e7_unknown_and_lists_ast_fields() -> None:
    result = screen(drop=("ast_u_l", "ast_uln_u_l"), alt_u_l=40, alt_uln_u_l=40)
    assert result.criteria["E7"] is UNKNOWN
    assert result.missing == ("ast_u_l", "ast_uln_u_l")


@pytest.mark.req("E7")
def test_only_the_missing_half_of_a_lab_pair_is_listed() -> None:
    result = screen(drop=("ast_uln_u_l",))
    assert result.criteria["E7"] is UNKNOWN and result.missing == ("ast_uln_u_l",)


# ------------------------------------------------------------------------------ missing


@pytest.mark.req("§5")
def test_null_fields_count_as_missing_like_absent_ones() -> None:
    result = screen(anc_per_mm3=None, drop=("platelets_per_mm3",))
    assert result.missing == ("anc_per_mm3", "platelets_per_mm3")


@pytest.mark.req("§5")
def test_missing_lists_each_field_once_and_sorted() -> None:
    result = screen(drop=("site_timezone", "tnf_blocker", "anc_per_mm3"))
    assert result.missing == ("anc_per_mm3", "site_timezone", "tnf_blocker")
    assert result.unknown == ("E4", "E5", "I1", "I5")


@pytest.mark.req("§5")
def test_fields_that_no_criterion_needs_are_never_missing() -> None:
    result = screen(drop=("weight_kg", "febrile_illness_onset"))
    assert result.missing == () and result.unknown == ()
