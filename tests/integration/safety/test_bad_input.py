"""Bad input to the safety forms and commands: a clear error naming the item, exit 2, and
nothing half-saved (no form, no clock, no alert, no deviation)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tests.integration.safety.conftest import run

from combat_norse.crf.models import FormInstance
from combat_norse.safety.models import DoseDeviation, DosePlan, LabAlert, SafetyClock

pytestmark = pytest.mark.req("§14", "#16")

AE = {"term": "Sepsis", "grade": 4, "onset_date": "2026-11-20", "serious": True,
      "seriousness": ["life_threatening"], "awareness_at": "2026-11-20T09:00:00-05:00",
      "related_to_study_drug": "probable", "expected": False, "outcome": "recovering"}  # fmt: skip


@pytest.mark.parametrize(("form", "values", "item"), [
    ("adverse_event", {**AE, "grade": 6}, "grade"),
    ("adverse_event", {**AE, "grade": "4"}, "grade"),
    ("adverse_event", {**AE, "serious": "yes"}, "serious"),
    ("adverse_event", {**AE, "seriousness": ["fatal"]}, "seriousness"),
    ("adverse_event", {**AE, "seriousness": "death"}, "seriousness"),
    ("adverse_event", {**AE, "awareness_at": "2026-11-20T09:00:00"}, "awareness_at"),
    ("adverse_event", {**AE, "related_to_study_drug": "maybe"}, "related_to_study_drug"),
    ("adverse_event", {**AE, "meddra_llt_code": 123}, "meddra_llt_code"),  # never invented
    ("adverse_event", {**AE, "expected_in_disease": "sepsis"}, "expected_in_disease"),
    ("adverse_event", {**AE, "narrative": "x" * 20_000}, "narrative"),
    ("adverse_event", {**AE, "onset_date": "20/11/2026"}, "onset_date"),
    ("adverse_event", {**AE, "<script>": 1}, "<script>"),
    ("dose", {"drug": "kineret", "dose_mg": 100, "given_at": "2026-11-20T09:00:00+00:00",
              "route": "iv"}, "drug"),
    ("dose", {"drug": "anakinra", "dose_mg": -1, "given_at": "2026-11-20T09:00:00+00:00",
              "route": "iv"}, "dose_mg"),
    ("dose", {"drug": "anakinra", "dose_mg": 1e309, "given_at": "2026-11-20T09:00:00+00:00",
              "route": "iv"}, "dose_mg"),
    ("dose", {"drug": "anakinra", "administered": "skipped",
              "given_at": "2026-11-20T09:00:00+00:00"}, "administered"),
    # a mistyped year would crash the clock arithmetic or silence the SAE clock (review)
    ("adverse_event", {**AE, "awareness_at": "9999-12-31T23:00:00+00:00"}, "awareness_at"),
    ("adverse_event", {**AE, "awareness_at": "0001-01-01T00:30:00+01:00"}, "awareness_at"),
    ("adverse_event", {**AE, "awareness_at": "2099-01-01T00:00:00+00:00"}, "awareness_at"),
    ("adverse_event", {**AE, "onset_date": "2099-01-01"}, "onset_date"),
    ("dose", {"drug": "anakinra", "dose_mg": 100, "given_at": "0001-01-01T00:30:00+01:00",
              "route": "iv"}, "given_at"),
    ("dose", {"drug": "anakinra", "dose_mg": 100, "given_at": "2099-01-01T00:30:00+01:00",
              "route": "iv"}, "given_at"),
    ("labs", {"collected_at": "1899-12-31T09:00:00+00:00", "anc_per_mm3": 5}, "collected_at"),
    ("labs", {"collected_at": "2026-11-20T09:00:00+00:00", "anc_per_mm3": -5}, "anc_per_mm3"),
    ("labs", {"collected_at": "2026-11-20T09:00:00+00:00", "anc_per_mm3": 500,
              "anc_1e9_per_l": 0.5}, "anc_1e9_per_l"),
])  # fmt: skip
def test_a_bad_value_saves_nothing_and_starts_no_safety_record(
    save: Any, enroll: Callable[..., Any], form: str, values: dict[str, Any], item: str
) -> None:
    p = enroll()
    before = FormInstance.unscoped.filter(participant=p).count()
    code, out, err = save(p.study_id, "unscheduled", form, values, "coord")
    assert code == 2 and out is None and err.startswith(f"error: {item[:40]}"), err
    assert FormInstance.unscoped.filter(participant=p).count() == before
    for model in (SafetyClock, LabAlert, DoseDeviation, DosePlan):
        assert not model.unscoped.exists(), model.__name__


@pytest.mark.parametrize("argv", [
    ["safety", "report"],  # no AE id
    ["safety", "report", "YNH-001-AE1", "--at", "2026-11-20T09:00:00+00:00"],  # no --to
    ["safety", "clocks", "--site", "NOPE"],
    ["alerts"],
    ["alerts", "NOPE-1"],
    ["treatment", "show", "'; DROP TABLE x; --"],
    ["treatment", "plan", "YNH-001", "--weight-kg", "70"],  # no reason: refused after lookup
    ["due", "--site", "<b>"],
    ["safety", "grade", "YNH-999"],
])  # fmt: skip
def test_malformed_or_hostile_commands_fail_with_one_clear_line(
    capsys: Any, enroll: Callable[..., Any], argv: list[str]
) -> None:
    enroll()
    code, out, err = run(capsys, *argv, "--as", "coord")
    assert code in (2, 3) and out is None
    assert len(err.strip().splitlines()) == 1 and err.startswith(("error:", "refused:")), err
    assert "Traceback" not in err
