"""Dose plans and dose deviations (§7, §14 ``dose``; issue #16 part 1)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from tests.integration.safety.conftest import run

from combat_norse.allocation.actions import do_randomize

pytestmark = [pytest.mark.req("§7", "§14", "#16", "#18"),
              pytest.mark.usefixtures("cli_face")]  # locally and through the API


def _randomized(enroll: Callable[..., Any], personas: Any, **record: Any) -> Any:
    """A randomized participant (``now``: enrolled and randomized then, onset a day before)."""
    if "now" in record:
        record.setdefault("se_onset", (record["now"] - timedelta(days=1)).isoformat())
    p = enroll(**record)
    allocation = do_randomize(personas.coord, p, now=record.get("now"))
    p.refresh_from_db()
    return p, allocation


def _dose(arm: str, mg: float, at: Any, **more: Any) -> dict[str, Any]:
    return {"drug": arm, "dose_mg": mg, "given_at": at.isoformat(), "route": "iv", **more}


def test_randomization_starts_the_plan_from_the_screening_weight(
    capsys: Any, personas: Any, enroll: Callable[..., Any], production_list: Any
) -> None:
    p, allocation = _randomized(enroll, personas)  # the example record weighs 72.5 kg
    code, out, _ = run(capsys, "treatment", "show", p.study_id, "--as", "pharmacist")
    assert code == 0
    plan = out["plan"]
    assert plan["drug"] == allocation.arm and plan["weight_kg"] == 72.5
    assert plan["basis"] == "randomization"
    s = plan["suggestion"]
    if allocation.arm == "anakinra":  # 725 mg/day capped at 400: 100 mg every 6 h
        assert (s["dose_mg"], s["daily_mg"], s["capped"]) == (100.0, 400.0, True)
        assert s["per_day"]["mg_per_kg"] == 5.52 and s["units"]["mg_per_kg"] == "mg/kg per day"
    else:  # 8 mg/kg x 72.5 = 580 mg every 2 weeks
        assert (s["dose_mg"], s["interval_hours"], s["capped"]) == (580.0, 336, False)
    assert out["doses"] == [] and out["deviations"] == [] and out["exposure"] is None


def test_a_recorded_weight_change_replaces_the_plan_and_keeps_the_old_one(
    capsys: Any, save: Any, personas: Any, enroll: Callable[..., Any], production_list: Any
) -> None:
    p, allocation = _randomized(enroll, personas)
    baseline = {"weight_kg": 30}
    code, _, err = save(p.study_id, "baseline", "baseline", baseline, "coord")
    assert code == 0, err
    code, out, _ = run(capsys, "treatment", "show", p.study_id, "--as", "coord")
    assert out["plan"]["weight_kg"] == 30 and out["plan"]["basis"] == "weight_change"
    assert [x["weight_kg"] for x in out["earlier_plans"]] == [72.5]
    assert out["earlier_plans"][0]["superseded_at"] is not None
    # the treating team enters a weight by hand: a reason is required
    code, _, err = run(capsys, "treatment", "plan", p.study_id, "--weight-kg", "28", "--as",
                       "pharmacist")
    assert code == 3 and "reason" in err
    code, out, _ = run(capsys, "treatment", "plan", p.study_id, "--weight-kg", "28", "--reason",
                       "weighed on the ward", "--as", "pharmacist")
    assert code == 0 and out["weight_kg"] == 28
    if allocation.arm == "tocilizumab":  # below 30 kg: 12 mg/kg
        assert out["suggestion"]["mg_per_kg"] == 12 and out["suggestion"]["dose_mg"] == 336.0


@pytest.mark.parametrize("weight", ["abc", "4.9", "300.5", "", "nan", "-1", "4.999", "300.005"])
def test_a_bad_weight_is_bad_input_and_changes_no_plan(
    capsys: Any, personas: Any, enroll: Callable[..., Any], production_list: Any, weight: str
) -> None:
    p, _ = _randomized(enroll, personas)
    code, _, err = run(capsys, "treatment", "plan", p.study_id, "--weight-kg", weight,
                       "--reason", "r", "--as", "coord")
    assert code == 2 and err.startswith("error: weight_kg")
    code, out, _ = run(capsys, "treatment", "show", p.study_id, "--as", "coord")
    assert out["earlier_plans"] == [] and out["plan"]["weight_kg"] == 72.5


def _deviations(capsys: Any, study_id: str, *extra: str) -> list[dict[str, Any]]:
    code, out, err = run(capsys, "treatment", "deviations", *extra, "--as", "datamanager")
    assert code == 0, err
    return [d for d in out["deviations"] if d["study_id"] == study_id]


@pytest.mark.parametrize(("factor", "flagged"), [
    (1.10, False),  # exactly 10 % over: not a deviation
    (1.1001, True),
    (0.90, False),
    (0.8999, True),
])  # fmt: skip
def test_a_dose_more_than_10_percent_off_the_plan_is_flagged_never_blocked(
    capsys: Any, save: Any, personas: Any, enroll: Callable[..., Any], production_list: Any,
    factor: float, flagged: bool,
) -> None:
    p, allocation = _randomized(enroll, personas)
    suggested = 100.0 if allocation.arm == "anakinra" else 580.0
    code, out, err = save(p.study_id, "unscheduled", "dose",
                          _dose(allocation.arm, round(suggested * factor, 4),
                                timezone.now() - timedelta(minutes=5)), "pharmacist")
    assert code == 0 and out["status"] == "complete", err  # saved whatever the amount
    kinds = [d["kind"] for d in _deviations(capsys, p.study_id)]
    assert kinds == (["dose_off_plan"] if flagged else [])


def test_a_first_dose_later_than_24_hours_after_randomization_is_a_deviation(
    capsys: Any, save: Any, personas: Any, enroll: Callable[..., Any], production_list: Any
) -> None:
    # randomized two days ago, so the doses 24 h later lie in the past (no dose in the future)
    p, allocation = _randomized(enroll, personas, now=timezone.now() - timedelta(days=2))
    mg = 100.0 if allocation.arm == "anakinra" else 580.0
    at_24h = allocation.randomized_at + timedelta(hours=24)
    save(p.study_id, "unscheduled", "dose", _dose(allocation.arm, mg, at_24h), "pharmacist")
    assert _deviations(capsys, p.study_id) == []  # exactly 24 h: on time
    # corrected: it was given a minute later than written
    code, _, err = save(p.study_id, "unscheduled", "dose",
                        {"given_at": (at_24h + timedelta(minutes=1)).isoformat()}, "pharmacist",
                        "--instance", "1", "--reason", "transcription")
    assert code == 0, err
    found = _deviations(capsys, p.study_id)
    assert [d["kind"] for d in found] == ["late_first_dose"] and "24.0 h" in found[0]["detail"]
    # a dose recorded earlier makes the first one on time: the deviation is cleared, and kept
    save(p.study_id, "unscheduled", "dose",
         _dose(allocation.arm, mg, allocation.randomized_at + timedelta(hours=2)), "pharmacist")
    assert _deviations(capsys, p.study_id) == []
    kept = _deviations(capsys, p.study_id, "--all")
    assert [d["kind"] for d in kept] == ["late_first_dose"] and kept[0]["cleared_at"]


def test_the_other_drug_in_the_randomized_cohort_is_a_wrong_drug_deviation(
    capsys: Any, save: Any, personas: Any, enroll: Callable[..., Any], production_list: Any
) -> None:
    p, allocation = _randomized(enroll, personas)
    other = "tocilizumab" if allocation.arm == "anakinra" else "anakinra"
    mg = 580.0 if other == "tocilizumab" else 100.0
    code, _, _ = save(p.study_id, "unscheduled", "dose",
                      _dose(other, mg, timezone.now() - timedelta(minutes=1)), "pharmacist")
    assert code == 0
    found = _deviations(capsys, p.study_id)
    assert "wrong_drug" in [d["kind"] for d in found]
    assert f"allocated {allocation.arm}" in next(
        d["detail"] for d in found if d["kind"] == "wrong_drug")


def test_held_and_missed_doses_need_a_reason_and_are_not_amount_deviations(
    capsys: Any, save: Any, personas: Any, enroll: Callable[..., Any], production_list: Any
) -> None:
    p, allocation = _randomized(enroll, personas)
    at = (timezone.now() - timedelta(minutes=1)).isoformat()
    held = {"drug": allocation.arm, "administered": "held", "given_at": at}
    code, out, _ = save(p.study_id, "unscheduled", "dose", held, "pharmacist")
    assert code == 0 and out["status"] == "in_progress"  # the reason is missing
    code, out, _ = save(p.study_id, "unscheduled", "dose",
                        {"not_given_reason": "ALT 4 x ULN: held per §10"}, "pharmacist",
                        "--instance", "1")
    assert code == 0 and out["status"] == "complete"
    assert _deviations(capsys, p.study_id) == []
    code, out, _ = run(capsys, "treatment", "show", p.study_id, "--as", "coord")
    assert out["doses"][0]["administered"] == "held" and out["exposure"] is None


def test_observational_exposure_is_the_first_dose_and_its_study_day(
    capsys: Any, save: Any, personas: Any, enroll: Callable[..., Any]
) -> None:
    onset = timezone.now() - timedelta(days=9)  # past day 7: the observational cohort
    p = enroll(se_onset=onset.isoformat())
    assert p.cohort == "observational_cohort"
    code, _, err = save(p.study_id, "unscheduled", "dose",
                        _dose("tocilizumab", 580.0, onset + timedelta(days=8, hours=20)), "coord")
    assert code == 0, err
    save(p.study_id, "unscheduled", "dose",
         _dose("anakinra", 100.0, onset + timedelta(days=8, hours=12)), "coord")
    code, out, _ = run(capsys, "treatment", "show", p.study_id, "--as", "coord")
    assert out["exposure"]["drug"] == "anakinra" and out["exposure"]["instance"] == 2
    assert out["exposure"]["study_day"] in (8, 9)  # by the site's calendar
    assert out["plan"]["basis"] == "first_dose" and out["plan"]["drug"] == "tocilizumab"
    assert not any(d["kind"] == "wrong_drug" for d in _deviations(capsys, p.study_id))


@pytest.mark.parametrize("who", ["assessor", "sponsor"])
def test_a_masked_role_is_refused_every_treatment_record(
    capsys: Any, personas: Any, enroll: Callable[..., Any], production_list: Any, who: str
) -> None:
    p, _ = _randomized(enroll, personas)
    if who == "assessor":
        from combat_norse.participants.actions import do_assign_assessor

        do_assign_assessor(personas.datamanager, p, personas.assessor)
    code, out, err = run(capsys, "treatment", "show", p.study_id, "--as", who)
    assert code == 3 and out is None and "anakinra" not in err and "tocilizumab" not in err
    code, _, err = run(capsys, "treatment", "plan", p.study_id, "--weight-kg", "50",
                       "--reason", "x", "--as", who)
    assert code == 3
    code, out, _ = run(capsys, "treatment", "deviations", "--as", who)
    assert code == 0 and out == {"deviations": []}


def test_another_sites_coordinator_gets_nothing(
    capsys: Any, personas: Any, enroll: Callable[..., Any], production_list: Any
) -> None:
    p, _ = _randomized(enroll, personas)
    code, _, err = run(capsys, "treatment", "show", p.study_id, "--as", "othercoord")
    assert code == 3 and err == "refused: other site\n"


def test_without_a_screening_weight_the_first_recorded_weight_starts_the_plan(
    capsys: Any, save: Any, personas: Any, enroll: Callable[..., Any], production_list: Any
) -> None:
    p, allocation = _randomized(enroll, personas, weight_kg=None)
    _, out, _ = run(capsys, "treatment", "show", p.study_id, "--as", "coord")
    assert out["plan"] is None  # no weight yet: nothing to suggest
    save(p.study_id, "baseline", "baseline", {"weight_kg": 70}, "coord")
    _, out, _ = run(capsys, "treatment", "show", p.study_id, "--as", "coord")
    assert (out["plan"]["drug"], out["plan"]["weight_kg"]) == (allocation.arm, 70)
    overdose = 900.0 if allocation.arm == "anakinra" else 2000.0
    save(p.study_id, "unscheduled", "dose",
         _dose(allocation.arm, overdose, timezone.now() - timedelta(minutes=1)), "pharmacist")
    assert [d["kind"] for d in _deviations(capsys, p.study_id)] == ["dose_off_plan"]


def test_no_dose_24_hours_after_randomization_is_flagged_and_follows_the_late_dose(
    capsys: Any, save: Any, personas: Any, enroll: Callable[..., Any], production_list: Any
) -> None:
    from combat_norse.safety.actions.treatment import flag_missing_first_doses

    p, allocation = _randomized(enroll, personas, now=timezone.now() - timedelta(days=2))
    at_24h = allocation.randomized_at + timedelta(hours=24)
    assert flag_missing_first_doses(at_24h) == 0  # exactly 24 h: not yet
    assert flag_missing_first_doses(at_24h + timedelta(seconds=1)) == 1
    assert flag_missing_first_doses() == 0  # once
    [flag] = _deviations(capsys, p.study_id)
    assert (flag["kind"], flag["dose_instance"]) == ("late_first_dose", None)
    mg = 100.0 if allocation.arm == "anakinra" else 580.0
    save(p.study_id, "unscheduled", "dose", _dose(allocation.arm, mg, at_24h + timedelta(hours=3)),
         "pharmacist")
    [flag] = _deviations(capsys, p.study_id)  # the same flag, now on the late dose
    assert (flag["kind"], flag["dose_instance"]) == ("late_first_dose", 1)
    assert "27.0 h" in flag["detail"]


def test_a_first_dose_on_time_recorded_late_clears_the_missing_dose_flag(
    capsys: Any, save: Any, personas: Any, enroll: Callable[..., Any], production_list: Any
) -> None:
    from combat_norse.safety.actions.treatment import flag_missing_first_doses

    p, allocation = _randomized(enroll, personas, now=timezone.now() - timedelta(days=2))
    assert flag_missing_first_doses() == 1
    mg = 100.0 if allocation.arm == "anakinra" else 580.0
    save(p.study_id, "unscheduled", "dose",
         _dose(allocation.arm, mg, allocation.randomized_at + timedelta(hours=2)), "pharmacist")
    assert _deviations(capsys, p.study_id) == []
    assert [d["cleared_at"] is not None for d in _deviations(capsys, p.study_id, "--all")] == [True]


def test_a_held_dose_with_an_amount_opens_a_query(
    save: Any, personas: Any, enroll: Callable[..., Any], production_list: Any
) -> None:
    p, allocation = _randomized(enroll, personas)
    code, out, _ = save(p.study_id, "unscheduled", "dose", {
        "drug": allocation.arm, "administered": "held", "dose_mg": 100,
        "not_given_reason": "ANC 800", "given_at": timezone.now().isoformat()}, "pharmacist")
    assert code == 0 and [q["item"] for q in out["queries"]] == ["dose_mg"]
