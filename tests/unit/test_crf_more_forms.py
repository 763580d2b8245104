"""The forms added to the catalog for issue 15 (daily course, discharge, PCPC, Neuro-QoL,
QOLIE-31, PedsQL, MoCA, seizure follow-up, biosamples, interview): each validates its items by
type, range and code list, licensed instruments carry scores only, and the rules query what they
should (pure: no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from combat_norse.crf import catalog, rules
from combat_norse.crf.metadata import ItemError, ItemType

pytestmark = pytest.mark.req("§14", "§9")

NEW = ("inpatient_daily", "discharge", "pcpc", "neuroqol", "qolie31", "pedsql", "moca",
       "seizure_followup", "biosamples", "interview")  # fmt: skip
GOOD: dict[str, dict[str, Any]] = {
    "inpatient_daily": {"clinical_seizures": True, "eeg_status": "electrographic_seizures",
                        "anesthetic_infusion": True, "anesthetic_agents": ["midazolam"],
                        "anesthetic_stopped_at": "2026-01-05T08:00:00-05:00",
                        "mechanical_ventilation": True, "in_icu": True, "asm_count": 3},
    "discharge": {"discharged_on": "2026-02-01", "icu_days": 20, "hospital_days": 40,
                  "ventilator_days": 15, "asms_at_discharge": ["levetiracetam", "lacosamide"],
                  "destination": "rehabilitation"},
    "pcpc": {"pcpc": 2, "assessed_on": "2026-02-01"},
    "neuroqol": {"respondent": "self", "cognitive_function_t": 42.5, "assessed_on": "2026-02-01"},
    "qolie31": {"qolie31_total": 61.2, "seizure_worry": 40, "assessed_on": "2026-02-01"},
    "pedsql": {"respondent": "parent", "pedsql_total": 70, "assessed_on": "2026-02-01"},
    "moca": {"moca": 26, "education_point_added": True, "assessed_on": "2026-02-01"},
    "seizure_followup": {"seizures_since_last_visit": False, "post_norse_epilepsy": False,
                         "asm_count": 1, "asms": ["levetiracetam"]},
    "biosamples": {"specimen": "csf", "collected_at": "2026-01-03T10:00:00+00:00",
                   "il6_pg_ml": 1200.5, "il1b_pg_ml": 3, "il1ra_pg_ml": 800, "tnfa_pg_ml": 12,
                   "cxcl8_pg_ml": 40, "ccl2_pg_ml": 900},
    "interview": {"interviewed_on": "2026-06-01", "respondent": "family", "duration_min": 60},
}  # fmt: skip
BAD = [
    ("inpatient_daily", {"clinical_seizures": "yes"}, "clinical_seizures", "true or false"),
    ("inpatient_daily", {"eeg_status": "burst_suppression_maybe"}, "eeg_status", "one of"),
    ("inpatient_daily", {"anesthetic_agents": ["midazolam", "chloroform"]}, "anesthetic_agents",
     "unknown choice"),
    ("inpatient_daily", {"anesthetic_stopped_at": "2026-01-05T08:00:00"},
     "anesthetic_stopped_at", "UTC offset"),
    ("inpatient_daily", {"asm_count": 2.5}, "asm_count", "whole number"),
    ("discharge", {"discharged_on": "01/02/2026"}, "discharged_on", "ISO date"),
    ("discharge", {"icu_days": -1}, "icu_days", "below 0"),
    ("discharge", {"hospital_days": 4000}, "hospital_days", "above 3650"),
    ("discharge", {"asms_at_discharge": "levetiracetam"}, "asms_at_discharge", "a list of"),
    ("discharge", {"destination": "moon"}, "destination", "one of"),
    ("pcpc", {"pcpc": 0}, "pcpc", "below 1"),
    ("pcpc", {"pcpc": 7}, "pcpc", "above 6"),
    ("neuroqol", {"anxiety_t": 120}, "anxiety_t", "above 100"),
    ("neuroqol", {"respondent": "neighbour"}, "respondent", "one of"),
    ("neuroqol", {"item_1": 3}, "item_1", "not an item"),  # no item-level entry (licensed)
    ("qolie31", {"qolie31_total": 100.5}, "qolie31_total", "above 100"),
    ("qolie31", {"seizure_worry": "high"}, "seizure_worry", "expected a number"),
    ("pedsql", {"pedsql_total": -3}, "pedsql_total", "below 0"),
    ("pedsql", {"respondent": "teacher"}, "respondent", "one of"),
    ("moca", {"moca": 31}, "moca", "above 30"),
    ("moca", {"moca": 25.5}, "moca", "whole number"),
    ("seizure_followup", {"post_norse_epilepsy": 1}, "post_norse_epilepsy", "true or false"),
    ("seizure_followup", {"asms": ["levetiracetam", "levetiracetam"]}, "asms", "repeated"),
    ("seizure_followup", {"asm_count": 21}, "asm_count", "above 20"),
    ("biosamples", {"specimen": "urine"}, "specimen", "one of"),
    ("biosamples", {"il6_pg_ml": -1}, "il6_pg_ml", "below 0"),
    ("biosamples", {"ccl2_pg_ml": float("inf")}, "ccl2_pg_ml", "finite"),
    ("biosamples", {"collected_at": "yesterday"}, "collected_at", "ISO datetime"),
    ("interview", {"duration_min": 0}, "duration_min", "below 1"),
    ("interview", {"respondent": "doctor"}, "respondent", "one of"),
]  # fmt: skip


@pytest.mark.parametrize("code", NEW)
def test_each_new_form_accepts_a_complete_document(code: str) -> None:
    form = catalog.form(code)
    values = form.validate(GOOD[code])
    assert form.missing_required(values) == []
    assert form.missing_required({}) == [i.code for i in form.items if i.required]


@pytest.mark.parametrize(("code", "values", "item", "problem"), BAD,
                         ids=[f"{b[0]}-{b[2]}" for b in BAD])  # fmt: skip
def test_bad_input_names_the_item_and_the_problem(
    code: str, values: dict[str, Any], item: str, problem: str
) -> None:
    with pytest.raises(ItemError) as raised:
        catalog.form(code).validate(values)
    assert raised.value.item == item and problem in raised.value.problem


def test_outcome_instruments_are_outcome_forms_entered_by_the_masked_assessor() -> None:
    outcome = {f.code for f in catalog.LATEST.values() if f.outcome}
    assert outcome == {"mrs", "gose", "gose_peds", "pcpc", "neuroqol", "qolie31", "pedsql",
                       "moca"}  # fmt: skip
    assert catalog.form("moca").visits == ("month12",)
    assert "reversed" in catalog.form("gose_peds").item_map["gose_peds"].help


def test_licensed_instruments_hold_scores_only_never_item_text() -> None:
    for code in ("neuroqol", "qolie31", "pedsql", "moca"):
        form = catalog.form(code)
        kinds = {i.type for i in form.items}
        assert ItemType.TEXT not in kinds, code
        scores = [i for i in form.items if i.type in (ItemType.DECIMAL, ItemType.INTEGER)]
        assert scores and all(i.min is not None and i.max is not None for i in scores), code


def test_cytokines_are_in_pg_per_ml_and_the_drug_targets_are_arm_revealing() -> None:
    items = catalog.form("biosamples").item_map
    cytokines = [c for c in items if c.endswith("_pg_ml")]
    assert len(cytokines) == 6 and all(items[c].unit == "pg/mL" for c in cytokines)
    assert {c for c in cytokines if items[c].arm_revealing} == {"il6_pg_ml", "il1ra_pg_ml"}
    masked = catalog.form("biosamples").as_json(masked=True)
    assert {i["code"] for i in masked["items"]} & {"il6_pg_ml", "il1ra_pg_ml"} == set()


def test_the_optional_consents_guard_the_interview_and_the_biosamples() -> None:
    assert catalog.CONSENT_FOR == {"interview": "interview", "biosamples": "biosamples"}


def ctx(form: str, values: dict[str, Any], *, age: int | None = 40, visit: str = "month12",
        enrolled_on: date | None = None) -> rules.RuleContext:  # fmt: skip
    return rules.RuleContext(
        form=form, visit=visit, values=values, se_onset=None,
        enrolled_at=datetime(2026, 1, 10, 3, tzinfo=UTC), age_years=age,
        visit_window=(None, None), death_recorded=False, enrolled_on=enrolled_on,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("form", "item", "child_only"),
    [("pcpc", "pcpc", True), ("pedsql", "pedsql_total", True),
     ("qolie31", "qolie31_total", False), ("moca", "moca", False)],
)  # fmt: skip
def test_age_rules_query_an_instrument_given_to_the_wrong_age_group(
    form: str, item: str, child_only: bool
) -> None:
    wrong, right = (30, 9) if child_only else (9, 30)
    found = rules.findings(ctx(form, {item: 2}, age=wrong))
    assert [k[1] for k in found] == [item]
    assert rules.findings(ctx(form, {item: 2}, age=right)) == {}
    assert rules.findings(ctx(form, {item: 2}, age=None)) == {}  # unknown age: no query


def test_discharge_is_queried_before_enrollment_and_with_days_beyond_the_stay() -> None:
    before = {"discharged_on": "2026-01-09"}
    assert rules.findings(ctx("discharge", before)) == {
        ("discharge_after_enrollment", "discharged_on"):
            "discharge before enrollment (2026-01-10)"}  # fmt: skip
    # the enrollment's date at the site (the day before in the Americas) is the bound
    assert rules.findings(ctx("discharge", before, enrolled_on=date(2026, 1, 9))) == {}
    found = rules.findings(ctx("discharge", {"hospital_days": 10, "icu_days": 12,
                                             "ventilator_days": 10}))  # fmt: skip
    assert list(found) == [("discharge_days_within_stay", "icu_days")]


def test_the_asm_count_is_queried_when_it_disagrees_with_the_list() -> None:
    found = rules.findings(ctx("seizure_followup", {"asm_count": 2, "asms": ["valproate"]}))
    assert found == {("asm_count_matches_list", "asm_count"): "2 ASMs counted but 1 listed"}
    assert rules.findings(ctx("seizure_followup", {"asm_count": 2})) == {}
