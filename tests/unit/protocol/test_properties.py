"""Property tests of the routing (§4–§5): a worse record never routes better.

"Worse" means one of: an inclusion input flipped to failing, an exclusion input made present
(a flag set, a count lowered below its threshold, a transaminase raised above 1.5 × ULN), or
``evaluated_at`` pushed later. Records are generated across zones, with fields absent or null.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from combat_norse.protocol.eligibility import Decision, ScreeningResult, evaluate, study_day
from combat_norse.protocol.records import RECORD_FIELDS, parse_screening_record

ZONES = ["America/New_York", "America/Phoenix", "Europe/London", "Asia/Seoul", "Pacific/Chatham"]
BOOLS = [
    "usual_health_before_se", "active_epilepsy", "preexisting_neuro_disorder",
    "acute_cause_identified", "systemic_illness", "hypersensitivity",
    "active_serious_infection", "tnf_blocker", "gi_perforation_risk",
]  # fmt: skip
# Fields a worsening may touch, with the change that makes that input worse.
WORSENINGS: dict[str, Any] = {
    "usual_health_before_se": False,
    "failed_asm_count": 1,
    "active_epilepsy": True,
    "preexisting_neuro_disorder": True,
    "acute_cause_identified": True,
    "planned_therapy": "none",
    "systemic_illness": True,
    "hypersensitivity": True,
    "active_serious_infection": True,
    "tnf_blocker": True,
    "gi_perforation_risk": True,
    "anc_per_mm3": 1500,
    "platelets_per_mm3": 60000,
    "alt_u_l": "raise",
    "ast_u_l": "raise",
    "date_of_birth": "onset date",  # age 0 fails I1
}
BETTER_OR_EQUAL = {
    Decision.NOT_ELIGIBLE: {Decision.NOT_ELIGIBLE},
    Decision.OBSERVATIONAL_COHORT: {Decision.NOT_ELIGIBLE, Decision.OBSERVATIONAL_COHORT,
                                    Decision.INCOMPLETE},
}  # fmt: skip


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    zone = draw(st.sampled_from(ZONES))
    local_onset = draw(
        st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31))
    )
    onset = local_onset.replace(tzinfo=ZoneInfo(zone))
    delay = draw(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=12)))

    def elapsed(by: timedelta) -> str:
        # elapsed time, not wall-clock arithmetic: 01:30 of a DST fold's second pass (fold=1)
        # plus nothing must not become the first pass, an hour earlier
        return (onset.astimezone(UTC) + by).astimezone(onset.tzinfo).isoformat()

    age_days = draw(st.integers(min_value=0, max_value=90 * 366))
    data: dict[str, Any] = {
        "site_timezone": zone,
        "se_onset": onset.isoformat(),
        "evaluated_at": elapsed(delay),
        "date_of_birth": (onset.date() - timedelta(days=age_days)).isoformat(),
        "failed_asm_count": draw(st.integers(min_value=0, max_value=6)),
        "planned_therapy": draw(st.sampled_from(["anakinra", "tocilizumab", "either", "none"])),
        "anc_per_mm3": draw(st.integers(min_value=0, max_value=9000)),
        "platelets_per_mm3": draw(st.integers(min_value=20000, max_value=400000)),
        "alt_u_l": draw(st.floats(min_value=5, max_value=120)),
        "alt_uln_u_l": draw(st.floats(min_value=20, max_value=60)),
        "ast_u_l": draw(st.floats(min_value=5, max_value=120)),
        "ast_uln_u_l": draw(st.floats(min_value=20, max_value=60)),
        "febrile_illness_onset": draw(st.none() | st.just(elapsed(-delay))),
        "weight_kg": draw(st.floats(min_value=5, max_value=300)),
    }
    # Mostly favourable flags, so that many records reach the later routing steps.
    for name in BOOLS:
        data[name] = draw(st.sampled_from([True, False, False, False]))
    data["usual_health_before_se"] = not data["usual_health_before_se"]
    for name in draw(st.sets(st.sampled_from(RECORD_FIELDS), max_size=4)):
        if draw(st.booleans()):
            data.pop(name)
        else:
            data[name] = None
    return data


def _evaluate(data: dict[str, Any]) -> ScreeningResult:
    return evaluate(parse_screening_record(data).record)


def _worsen(data: dict[str, Any], name: str) -> dict[str, Any]:
    worse = dict(data)
    change = WORSENINGS[name]
    if change == "raise":
        uln_name = name.replace("_u_l", "_uln_u_l")
        uln = worse.get(uln_name) or 40
        worse[uln_name] = uln
        worse[name] = max(worse.get(name) or 0, 2 * uln)
    elif change == "onset date":
        if worse.get("se_onset") is None or worse.get("site_timezone") is None:
            worse[name] = "2025-01-01"  # not before any generated onset, but maybe not age 0
        else:
            onset = datetime.fromisoformat(worse["se_onset"])
            worse[name] = onset.astimezone(ZoneInfo(worse["site_timezone"])).date().isoformat()
    elif name in ("anc_per_mm3", "platelets_per_mm3", "failed_asm_count"):
        current = worse.get(name)
        worse[name] = change if current is None else min(current, change)
    else:
        worse[name] = change
    return worse


def _check_not_better(before: ScreeningResult, after: ScreeningResult) -> None:
    assert set(before.failed) <= set(after.failed)
    if before.decision in BETTER_OR_EQUAL:
        assert after.decision in BETTER_OR_EQUAL[before.decision]
    if before.decision is not Decision.RANDOMIZED_COHORT:
        assert after.decision is not Decision.RANDOMIZED_COHORT


@pytest.mark.req("§5", "I1", "I2", "I3", "I4", "E1", "E2", "E3", "E4", "E5", "E6", "E7", "E8")
@settings(max_examples=250, deadline=None)
@given(data=records(), name=st.sampled_from(sorted(WORSENINGS)))
def test_worsening_an_input_never_routes_a_record_better(data: dict[str, Any], name: str) -> None:
    _check_not_better(_evaluate(data), _evaluate(_worsen(data, name)))


@pytest.mark.req("§5", "I5")
@settings(max_examples=150, deadline=None)
@given(data=records(), later=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=20)))
def test_a_later_evaluation_never_routes_a_record_better(
    data: dict[str, Any], later: timedelta
) -> None:
    if data.get("evaluated_at") is None:
        return
    pushed = dict(data)
    pushed["evaluated_at"] = (datetime.fromisoformat(data["evaluated_at"]) + later).isoformat()
    before, after = _evaluate(data), _evaluate(pushed)
    _check_not_better(before, after)
    if before.study_day is not None and after.study_day is not None:
        assert after.study_day >= before.study_day


@pytest.mark.req("§5")
@settings(max_examples=150, deadline=None)
@given(data=records())
def test_decision_agrees_with_the_criteria(data: dict[str, Any]) -> None:
    result = _evaluate(data)
    assert set(result.failed) | set(result.unknown) <= set(result.criteria)
    assert (result.strata is not None) == (result.decision is Decision.RANDOMIZED_COHORT)
    if result.decision is Decision.RANDOMIZED_COHORT:
        assert result.failed == result.unknown == result.missing == ()
    if not result.unknown:
        assert result.missing == ()
    if result.missing:
        assert result.unknown


@pytest.mark.req("I5")
@settings(max_examples=150, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    local_onset=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31)),
    delay=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30)),
)
def test_study_day_is_the_difference_of_local_dates(
    zone: str, local_onset: datetime, delay: timedelta
) -> None:
    tz = ZoneInfo(zone)
    onset = local_onset.replace(tzinfo=tz)
    at = onset + delay
    day = study_day(onset, at, zone)
    local_days: int = (at.astimezone(tz).date() - onset.astimezone(tz).date()).days
    assert day == local_days >= 0
    # A study day spans at most 24 local hours plus a DST hour: never more than 1 day off.
    assert abs(day - delay / timedelta(days=1)) < 1 + 1 / 24 + 1e-9
