"""The forms never started (issue 17, the page ``/missing/`` and ``GET /missing``): each form a
visit whose window has closed expects, for the participant's age group, with no saved
instance; scoped to the monitor's and the data manager's sites, never an arm-revealing form
for a masked reader."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from combat_norse.crf.access import access_missing_forms
from combat_norse.crf.actions.forms import do_save_form
from combat_norse.crf.actions.visits import do_mark_visit_missed
from combat_norse.crf.catalog import expected_forms
from combat_norse.crf.presenters import present_missing_forms
from combat_norse.sites.access import AccessDenied
from combat_norse.sites.models import Site

pytestmark = [pytest.mark.django_db, pytest.mark.req("§14", "#17")]


def _late(enroll: Callable[..., Any], site: str = "YNH", **overrides: Any) -> Any:
    """Enrolled 5 days ago, SE onset 45 days ago: the baseline (enrollment day) and day-30
    windows have closed; nothing saved."""
    now = timezone.now()
    return enroll(site=site, now=now - timedelta(days=5),
                  se_onset=(now - timedelta(days=45)).isoformat(), **overrides)  # fmt: skip


def rows(user: Any, **kw: Any) -> list[tuple[str, str, str]]:
    found = present_missing_forms(access_missing_forms(user, **kw))["forms"]
    return [(r["study_id"], r["visit"], r["form"]) for r in found]


def test_a_closed_visit_with_no_form_started_lists_each_expected_form(
    personas: Any, enroll: Callable[..., Any]
) -> None:
    p = _late(enroll)
    found = present_missing_forms(access_missing_forms(personas.datamanager))["forms"]
    # an adult: mRS and GOS-E at day 30 (not GOS-E Peds or PCPC), whose window closed first
    # (day 37 after onset: 8 days ago), then the baseline form (enrollment day: 5 days ago)
    assert [(r["visit"], r["form"]) for r in found] == [
        ("day30", "mrs"), ("day30", "gose"), ("baseline", "baseline")]  # fmt: skip
    day30 = found[0]
    assert set(day30) == {"study_id", "site", "visit", "form", "target", "window_closed_on",
                          "days_overdue"}  # fmt: skip
    assert day30["study_id"] == p.study_id and day30["site"] == "YNH"
    visit = p.visits.get(code="day30")
    assert day30["window_closed_on"] == visit.latest.isoformat()
    assert day30["target"] == visit.target.isoformat()
    assert day30["days_overdue"] > found[2]["days_overdue"] > 0


def test_starting_a_form_removes_it_and_a_missed_visit_lists_none(
    personas: Any, enroll: Callable[..., Any]
) -> None:
    p = _late(enroll)
    do_save_form(personas.coord, p, "baseline", "baseline", {"weight_kg": 70})  # in progress
    assert rows(personas.datamanager) == [(p.study_id, "day30", "mrs"),
                                          (p.study_id, "day30", "gose")]  # fmt: skip
    do_mark_visit_missed(personas.coord, p, "day30", reason="lost to follow-up that month")
    assert rows(personas.datamanager) == []


def test_a_visit_whose_window_is_still_open_lists_nothing(
    personas: Any, enroll: Callable[..., Any]
) -> None:
    enroll()  # onset 2 days ago, enrolled today: the baseline window is still open
    assert rows(personas.datamanager) == []


def test_a_child_is_expected_the_childrens_forms(
    personas: Any, enroll: Callable[..., Any]
) -> None:
    child = _late(enroll, date_of_birth=f"{timezone.now().year - 10}-01-15")
    assert child.screening.age_years is not None and child.screening.age_years < 18
    assert [f for _, v, f in rows(personas.datamanager) if v == "day30"] == [
        "mrs", "gose_peds", "pcpc"]  # fmt: skip


def test_the_monitor_sees_their_sites_only_and_the_site_filter_keeps_one(
    personas: Any, enroll: Callable[..., Any]
) -> None:
    ours, theirs = _late(enroll), _late(enroll, site="SNU")
    assert {s for s, _, _ in rows(personas.monitor)} == {ours.study_id}
    assert {s for s, _, _ in rows(personas.datamanager)} == {ours.study_id, theirs.study_id}
    snu = Site.objects.get(code="SNU")
    assert {s for s, _, _ in rows(personas.datamanager, site=snu)} == {theirs.study_id}
    assert rows(personas.monitor, site=snu) == []


@pytest.mark.parametrize("name", ["coord", "investigator", "pharmacist", "assessor",
                                  "statistician", "dsmb", "sponsor", "sysadmin"])  # fmt: skip
def test_other_roles_are_refused(name: str, personas: Any, enroll: Callable[..., Any]) -> None:
    _late(enroll)
    with pytest.raises(AccessDenied) as refused:
        access_missing_forms(getattr(personas, name))
    assert refused.value.code == "role"


def test_a_masked_reader_is_never_told_of_an_arm_revealing_form(
    personas: Any, enroll: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dose form is repeating (never expected of a visit); were an arm-revealing form
    expected, a reader masked at the site would not be told of it, an unmasked one would."""
    from combat_norse.crf import catalog

    p = _late(enroll)
    revealing = {"gose"}
    real = catalog.expected_forms

    def with_revealing(code: str, **kw: Any) -> list[Any]:
        import dataclasses

        return [dataclasses.replace(f, arm_revealing=True) if f.code in revealing else f
                for f in real(code, **kw)]  # fmt: skip

    monkeypatch.setattr(catalog, "expected_forms", with_revealing)
    assert (p.study_id, "day30", "gose") in rows(personas.datamanager)  # unmasked by default
    with override_settings(COMBAT_NORSE_MASKED_ROLES=frozenset({"outcome_assessor",
                                                               "sponsor_viewer", "monitor"})):
        assert rows(personas.monitor) == [(p.study_id, "day30", "mrs"),
                                          (p.study_id, "baseline", "baseline")]  # fmt: skip
    assert all(f.code != "dose" for v in ("baseline", "day30", "unscheduled")
               for f in expected_forms(v))  # fmt: skip
