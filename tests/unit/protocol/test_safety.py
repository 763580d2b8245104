"""CTCAE v5 grading, tocilizumab alerts, DRESS watch and SAE data (§10)."""

from __future__ import annotations

import pytest

from combat_norse.protocol.safety import (
    EXPECTED_IN_DISEASE,
    Alert,
    AlertAction,
    SeriousnessCriterion,
    dress_watch,
    grade_anc,
    grade_platelets,
    grade_transaminase,
    tocilizumab_alerts,
)

HOLD, STOP = AlertAction.HOLD, AlertAction.DISCONTINUE


@pytest.mark.req("§10")
@pytest.mark.parametrize(
    ("value", "grade"),
    [(2000, 0), (1999, 1), (1500, 1), (1499, 2), (1000, 2), (999, 3), (500, 3), (499, 4), (0, 4)],
)
def test_anc_grades_at_each_boundary(value: int, grade: int) -> None:
    assert grade_anc(value, lln=2000) == grade


@pytest.mark.req("§10")
def test_anc_at_or_above_a_low_lln_is_grade_0() -> None:
    assert grade_anc(1300, lln=1200) == 0
    assert grade_anc(1100, lln=1200) == 2


@pytest.mark.req("§10")
@pytest.mark.parametrize(
    ("value", "grade"),
    [
        (150000, 0), (149999, 1), (75000, 1), (74999, 2), (50000, 2), (49999, 3),
        (25000, 3), (24999, 4),
    ],
)  # fmt: skip
def test_platelet_grades_at_each_boundary(value: int, grade: int) -> None:
    assert grade_platelets(value, lln=150000) == grade


@pytest.mark.req("§10")
@pytest.mark.parametrize(
    ("alt", "grade"),
    [(40, 0), (40.1, 1), (120, 1), (120.1, 2), (200, 2), (200.1, 3), (800, 3), (800.1, 4)],
)
def test_transaminase_boundaries_belong_to_the_lower_grade(alt: float, grade: int) -> None:
    assert grade_transaminase(alt, uln=40) == grade  # exactly 3 x ULN (120) is G1


@pytest.mark.req("§10")
def test_grading_refuses_impossible_limits() -> None:
    with pytest.raises(ValueError):
        grade_transaminase(50, uln=0)
    with pytest.raises(ValueError):
        grade_anc(-1, lln=2000)


@pytest.mark.req("§10")
def test_normal_labs_raise_no_tocilizumab_alert() -> None:
    normal = tocilizumab_alerts(anc=4000, platelets=250000, alt=30, alt_uln=40, ast=30, ast_uln=40)
    assert normal == ()
    assert tocilizumab_alerts() == ()


@pytest.mark.req("§10")
@pytest.mark.parametrize(
    ("alt", "action"),
    [(120, None), (120.5, HOLD), (200, HOLD), (200.5, STOP)],
)
def test_transaminase_alerts_hold_above_3_and_discontinue_above_5_uln(
    alt: float, action: AlertAction | None
) -> None:
    alerts = tocilizumab_alerts(alt=alt, alt_uln=40)
    assert [a.action for a in alerts] == ([] if action is None else [action])
    assert all(a.lab == "alt" for a in alerts)


@pytest.mark.req("§10")
@pytest.mark.parametrize(
    ("anc", "action"),
    [(1001, None), (1000, HOLD), (500, HOLD), (499, STOP)],
)
def test_anc_alerts(anc: int, action: AlertAction | None) -> None:
    alerts = tocilizumab_alerts(anc=anc)
    assert [a.action for a in alerts] == ([] if action is None else [action])


@pytest.mark.req("§10")
@pytest.mark.parametrize(
    ("platelets", "action"),
    [(100001, None), (100000, HOLD), (50000, HOLD), (49999, STOP)],
)
def test_platelet_alerts(platelets: int, action: AlertAction | None) -> None:
    alerts = tocilizumab_alerts(platelets=platelets)
    assert [a.action for a in alerts] == ([] if action is None else [action])


@pytest.mark.req("§10")
def test_several_alerts_come_in_a_fixed_order_with_messages() -> None:
    alerts = tocilizumab_alerts(anc=400, platelets=80000, alt=300, alt_uln=40, ast=150, ast_uln=40)
    assert [(a.lab, a.action) for a in alerts] == [
        ("alt", STOP), ("ast", HOLD), ("anc", STOP), ("platelets", HOLD),
    ]  # fmt: skip
    assert all(isinstance(a, Alert) and a.message for a in alerts)
    assert "hold until < 3 x ULN" in alerts[1].message


@pytest.mark.req("§10")
def test_dress_watch_needs_all_three_signs() -> None:
    alert = dress_watch(eosinophilia=True, new_rash=True, transaminase_rise=True)
    assert alert is not None and alert.lab == "dress" and alert.action is AlertAction.EVALUATE
    assert dress_watch(True, True, False) is None
    assert dress_watch(False, True, True) is None


@pytest.mark.req("§10")
def test_sae_seriousness_criteria_and_expected_events_are_listed() -> None:
    assert [c.value for c in SeriousnessCriterion] == [
        "death", "life_threatening", "hospitalization", "persistent_disability",
        "congenital_anomaly", "important_medical_event",
    ]  # fmt: skip
    assert {e.code for e in EXPECTED_IN_DISEASE} == {
        "prolonged_icu_stay", "recurrent_seizures", "anesthetic_complications",
    }  # fmt: skip
