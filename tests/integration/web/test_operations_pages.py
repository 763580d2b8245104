"""The operations pages of issue 17: the pharmacist's allocations and dose preparation, the
review worklist (SDV, lock, unlock), missing and overdue forms by site, bulk query changes, a
participant's audit trail, an SAE report recorded from the participant page, and the autosave
of a form page's entries. Each page calls the same ``access_*``/``do_*`` as the command line."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from html import unescape
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client, override_settings
from django.utils import timezone
from django.utils.html import strip_tags

from combat_norse.allocation.actions import do_randomize
from combat_norse.audit.models import AuditEvent
from combat_norse.crf.actions.forms import do_save_form
from combat_norse.crf.actions.queries import do_raise_query
from combat_norse.crf.models import DataQuery, FormInstance
from combat_norse.participants.actions import do_assign_assessor
from combat_norse.safety.models import SafetyClock

pytestmark = [pytest.mark.django_db, pytest.mark.req("#17", "§7", "§11", "§13", "§14")]

BASELINE = "/participants/{}/visits/baseline/forms/baseline/"
NY = ZoneInfo("America/New_York")
DRUGS = ("anakinra", "tocilizumab", "kineret", "actemra")


def words(response: Any) -> str:
    return re.sub(r"\s+", " ", unescape(strip_tags(response.content.decode())))


def html(response: Any) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def _randomized(personas: Any, enroll: Callable[..., Any], site: str = "YNH") -> Any:
    p = enroll(site=site)
    do_randomize(personas.coord if site == "YNH" else personas.othercoord, p)
    p.refresh_from_db()
    return p


def _complete_baseline(actor: Any, study_id: str) -> None:
    do_save_form(actor, study_id, "baseline", "baseline", {
        "weight_kg": 72.5, "premorbid_mrs": 0, "first_seizure_at": "2026-03-10T21:00:00-04:00",
        "anesthetic_infusion": True, "first_line_immunotherapy": ["steroids"], "eeg_done": True,
    })  # fmt: skip


# ------------------------------------------------------------------------------ pharmacist
def test_the_pharmacist_sees_the_allocations_of_their_site_with_arm_and_time(
    personas: Any, enroll: Callable[..., Any], production_list: Any,
    browser_for: Callable[..., Client],
) -> None:  # fmt: skip
    ours = _randomized(personas, enroll)
    theirs = _randomized(personas, enroll, site="SNU")
    not_yet = enroll()
    page = browser_for(personas.pharmacist).get("/pharmacy/")
    assert page.status_code == 200
    text = words(page)
    assert ours.study_id in text and ours.allocation.arm in text and ours.allocation.code in text
    assert theirs.study_id not in text and not_yet.study_id not in text
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d E[SD]T", text)  # in the site's zone
    assert 'href="/pharmacy/"' in html(page)  # the role's navigation
    # the assessor, the coordinator and the monitor are not pharmacists
    for persona in (personas.assessor, personas.coord, personas.monitor):
        assert browser_for(persona).get("/pharmacy/").status_code == 403


def test_dose_preparation_shows_the_plan_per_weight_and_the_administration_records(
    personas: Any, enroll: Callable[..., Any], production_list: Any,
    browser_for: Callable[..., Client],
) -> None:  # fmt: skip
    from decimal import Decimal

    from combat_norse.protocol.dosing import suggested_dose
    from combat_norse.safety.models import DosePlan

    p = _randomized(personas, enroll)
    arm = p.allocation.arm
    pharmacist = browser_for(personas.pharmacist)
    url = f"/pharmacy/{p.study_id}/"
    page = pharmacist.get(url)
    assert page.status_code == 200
    plan = DosePlan.unscoped.filter(participant=p).order_by("created_at", "id").last()
    assert plan is not None
    text = words(page)
    assert f"{plan.suggestion['dose_mg']} mg" in text and f"{float(plan.weight_kg)} kg" in text
    assert f"every {plan.suggestion['interval_hours']} h" in text and arm in text
    assert "No dose recorded yet." in text
    # a dose given and one held, through the dose form (the same action as ``form save``)
    now = timezone.now().astimezone(NY).replace(microsecond=0)
    given = {"drug": arm, "dose_mg": plan.suggestion["dose_mg"],
             "given_at": (now - timedelta(hours=2)).isoformat(), "route": "iv"}
    do_save_form(personas.pharmacist, p.study_id, "unscheduled", "dose", given)
    do_save_form(personas.pharmacist, p.study_id, "unscheduled", "dose", {
        "drug": arm, "administered": "held", "not_given_reason": "fever",
        "given_at": (now - timedelta(hours=1)).isoformat()})  # fmt: skip
    text = words(pharmacist.get(url))
    assert "Given: 1 · Held: 1 · Missed: 0" in text and "held (fever)" in text
    # a new weight recomputes the plan (``treatment plan``): bad input is shown, nothing changes
    bad = pharmacist.post(url, {"action": "plan", "weight_kg": "heavy", "reason": "weighed"})
    assert bad.status_code == 400 and 'value="heavy"' in html(bad)
    no_reason = pharmacist.post(url, {"action": "plan", "weight_kg": "80", "reason": ""})
    assert no_reason.status_code == 422 and "refused: reason required" in words(no_reason)
    done = pharmacist.post(url, {"action": "plan", "weight_kg": "80", "reason": "weighed"},
                           follow=True)  # fmt: skip
    new = DosePlan.unscoped.filter(participant=p).order_by("created_at", "id").last()
    assert new is not None and float(new.weight_kg) == 80.0
    assert new.suggestion == suggested_dose(arm, Decimal(80)).to_json()  # the §7 rule's
    assert f"New dose plan: {new.suggestion['dose_mg']} mg for 80.0 kg." in words(done)


def test_the_dose_preparation_of_another_site_or_for_a_masked_role_is_refused(
    personas: Any, enroll: Callable[..., Any], production_list: Any,
    browser_for: Callable[..., Client],
) -> None:  # fmt: skip
    theirs = _randomized(personas, enroll, site="SNU")
    ours = _randomized(personas, enroll)
    do_assign_assessor(personas.coord, ours, personas.assessor)
    pharmacist = browser_for(personas.pharmacist)
    other = pharmacist.get(f"/pharmacy/{theirs.study_id}/")
    assert other.status_code == 403 and 'data-code="other_site"' in html(other)
    assert theirs.allocation.arm not in words(other)
    assert pharmacist.post(f"/pharmacy/{theirs.study_id}/", {
        "action": "plan", "weight_kg": "50", "reason": "x"}).status_code == 403
    assessor = browser_for(personas.assessor)
    for url in ("/pharmacy/", f"/pharmacy/{ours.study_id}/", "/review/",
                f"/participants/{ours.study_id}/audit/"):
        answer = assessor.get(url)
        assert answer.status_code == 403, url
        assert not [d for d in DRUGS if d in html(answer).lower()], url
    with override_settings(COMBAT_NORSE_MASKED_ROLES=["outcome_assessor", "sponsor_viewer",
                                                      "pharmacist"]):  # fmt: skip
        masked = browser_for(personas.pharmacist)
        assert masked.get(f"/pharmacy/{ours.study_id}/").status_code == 403
        listed = masked.get("/pharmacy/")
        assert ours.allocation.arm not in words(listed) and ours.study_id not in words(listed)


# ------------------------------------------------------------------------------ review worklist
def test_a_monitor_verifies_and_the_data_manager_locks_and_unlocks_from_the_worklist(
    personas: Any, enroll: Callable[..., Any], browser_for: Callable[..., Client],
) -> None:  # fmt: skip
    p = enroll()
    _complete_baseline(personas.coord, p.study_id)
    theirs = enroll(site="SNU")
    _complete_baseline(personas.othercoord, theirs.study_id)
    monitor = browser_for(personas.monitor)
    listed = words(monitor.get("/review/"))
    assert f"{p.study_id} · baseline · baseline" in listed
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d E[SD]T", listed)  # saved, site time
    assert theirs.study_id not in listed  # another site's form is not on the monitor's list
    post = {"study_id": p.study_id, "visit": "baseline", "form": "baseline", "instance": "1"}
    done = monitor.post("/review/?stage=sdv", {**post, "action": "verify"}, follow=True)
    assert f"{p.study_id} · baseline · baseline: verified." in words(done)
    assert FormInstance.unscoped.get(participant=p, form="baseline").sdv == "verified"
    assert AuditEvent.objects.filter(action="form_verify", participant_ref=p.study_id).exists()
    # the monitor neither locks nor verifies another site's form
    refused = monitor.post("/review/", {**post, "action": "lock"})
    assert refused.status_code == 403 and "refused: role" in words(refused)
    other = monitor.post("/review/", {**post, "study_id": theirs.study_id, "action": "verify"})
    assert other.status_code == 403 and "refused: other site" in words(other)
    assert FormInstance.unscoped.get(participant=theirs, form="baseline").sdv == "not_verified"
    bad = monitor.post("/review/", {**post, "action": "delete"})
    assert bad.status_code == 400
    # the data manager locks it from "ready to lock", then unlocks it with a reason
    dm = browser_for(personas.datamanager)
    assert f"{p.study_id} · baseline · baseline" in words(dm.get("/review/"))  # lock first
    awaiting = words(dm.get("/review/?stage=sdv"))  # the data manager reads every site's
    assert theirs.study_id in awaiting and p.study_id not in awaiting
    dm.post("/review/?stage=lock", {**post, "action": "lock"})
    assert FormInstance.unscoped.get(participant=p, form="baseline").status == "locked"
    assert f"{p.study_id} · baseline · baseline" in words(dm.get("/review/?stage=locked"))
    no_reason = dm.post("/review/?stage=locked", {**post, "action": "unlock", "reason": " "})
    assert no_reason.status_code == 422 and "refused: reason required" in words(no_reason)
    dm.post("/review/?stage=locked", {**post, "action": "unlock", "reason": "late lab result"})
    assert FormInstance.unscoped.get(participant=p, form="baseline").status == "complete"
    assert AuditEvent.objects.filter(action="form_unlock", reason="late lab result").exists()


def test_a_masked_reader_gets_no_dose_record_on_the_worklist(
    personas: Any, enroll: Callable[..., Any], production_list: Any,
    browser_for: Callable[..., Client],
) -> None:  # fmt: skip
    p = _randomized(personas, enroll)
    now = timezone.now().astimezone(NY).replace(microsecond=0)
    do_save_form(personas.pharmacist, p.study_id, "unscheduled", "dose", {
        "drug": p.allocation.arm, "dose_mg": 100, "route": "iv",
        "given_at": (now - timedelta(hours=1)).isoformat()})  # fmt: skip
    assert f"{p.study_id} · unscheduled · dose" in words(browser_for(personas.monitor)
                                                          .get("/review/"))  # fmt: skip
    with override_settings(COMBAT_NORSE_MASKED_ROLES=["outcome_assessor", "sponsor_viewer",
                                                      "monitor"]):  # fmt: skip
        page = browser_for(personas.monitor).get("/review/")
        assert page.status_code == 200 and "dose" not in words(page).lower()


def test_missing_and_overdue_forms_are_listed_by_site(
    personas: Any, enroll: Callable[..., Any], browser_for: Callable[..., Client],
) -> None:  # fmt: skip
    ours, theirs = enroll(), enroll(site="SNU")
    for actor, p in ((personas.coord, ours), (personas.othercoord, theirs)):
        do_save_form(actor, p.study_id, "baseline", "baseline", {"weight_kg": 70})  # incomplete
    dm = words(browser_for(personas.datamanager).get("/missing/"))
    assert "SNU · 0 overdue visits · 1 forms in progress" in dm
    assert "YNH · 0 overdue visits · 1 forms in progress" in dm
    assert f"{ours.study_id} · baseline · baseline" in dm
    monitor = words(browser_for(personas.monitor).get("/missing/"))
    assert ours.study_id in monitor and theirs.study_id not in monitor and "SNU" not in monitor
    assert browser_for(personas.coord).get("/missing/").status_code == 403


def test_the_missing_page_lists_each_form_never_started_with_a_link_to_it(
    personas: Any, enroll: Callable[..., Any], browser_for: Callable[..., Client],
) -> None:  # fmt: skip
    now = timezone.now()
    late = {"now": now - timedelta(days=5), "se_onset": (now - timedelta(days=45)).isoformat()}
    ours, theirs = enroll(**late), enroll(site="SNU", **late)
    page = browser_for(personas.datamanager).get("/missing/")
    text, markup = words(page), html(page)
    assert "YNH · 2 overdue visits · 0 forms in progress · 3 forms never started" in text
    assert "SNU · 2 overdue visits · 0 forms in progress · 3 forms never started" in text
    day30 = ours.visits.get(code="day30")
    assert f"{ours.study_id} · day30 · gose · window closed {day30.latest.isoformat()} (" in text
    for visit, form in (("day30", "mrs"), ("day30", "gose"), ("baseline", "baseline")):
        assert f'href="/participants/{ours.study_id}/visits/{visit}/forms/{form}/"' in markup
    assert "gose_peds" not in text and "days overdue)" in text
    monitor = words(browser_for(personas.monitor).get("/missing/"))
    assert "3 forms never started" in monitor and theirs.study_id not in monitor
    do_save_form(personas.coord, ours.study_id, "baseline", "baseline", {"weight_kg": 70})
    fr = browser_for(personas.datamanager)
    fr.cookies["django_language"] = "fr"
    assert "2 formulaires jamais commencés" in words(fr.get("/missing/"))


# ------------------------------------------------------------------------------ bulk queries
def _queries(personas: Any, enroll: Callable[..., Any]) -> tuple[list[DataQuery], DataQuery]:
    p = enroll()
    _complete_baseline(personas.coord, p.study_id)
    ours = [do_raise_query(personas.monitor, p.study_id, "baseline", "baseline", item,
                           text=f"check {item}") for item in ("weight_kg", "premorbid_mrs")]
    theirs_p = enroll(site="SNU")
    _complete_baseline(personas.othercoord, theirs_p.study_id)
    theirs = do_raise_query(personas.datamanager, theirs_p.study_id, "baseline", "baseline",
                            "weight_kg", text="check")  # fmt: skip
    return ours, theirs


def test_bulk_close_changes_each_query_through_its_own_action_and_reports_each(
    personas: Any, enroll: Callable[..., Any], browser_for: Callable[..., Client],
) -> None:  # fmt: skip
    ours, theirs = _queries(personas, enroll)
    monitor = browser_for(personas.monitor)
    ids = [str(q.pk) for q in ours]
    page = html(monitor.get("/queries/"))
    assert 'id="bulk-form"' in page and f'form="bulk-form" name="ids" value="{ids[0]}"' in page
    answer = monitor.post("/queries/", {"bulk_action": "close", "ids": [*ids, str(theirs.pk),
                                                                      "x1"],
                                        "text": "resolved at the visit"})  # fmt: skip
    assert answer.status_code == 403  # one of them was another site's
    text = words(answer)
    assert "2 queries changed, 2 not changed" in text
    assert f"#{ids[0]}: now closed" in text and f"#{ids[1]}: now closed" in text
    assert f"#{theirs.pk}: refused: other site" in text
    assert "#x1: id: a query id is a positive whole number" in text
    for q in ours:
        q.refresh_from_db()
        assert q.status == "closed"
    theirs.refresh_from_db()
    assert theirs.status == "open"
    closes = AuditEvent.objects.filter(action="query_close", object_id__in=ids)
    assert closes.count() == 2  # one audit event per query changed


def test_bulk_answer_by_the_site_and_bad_bulk_input(
    personas: Any, enroll: Callable[..., Any], browser_for: Callable[..., Client],
) -> None:  # fmt: skip
    ours, _theirs = _queries(personas, enroll)
    coord = browser_for(personas.coord)
    ids = [str(q.pk) for q in ours]
    done = coord.post("/queries/", {"bulk_action": "answer", "ids": ids, "text": "Checked"})
    assert done.status_code == 200 and "2 queries changed" in words(done)
    assert {q.status for q in DataQuery.unscoped.filter(pk__in=ids)} == {"answered"}
    # the coordinator may not close: each refusal reported, nothing changed
    refused = coord.post("/queries/", {"bulk_action": "close", "ids": ids})
    assert refused.status_code == 403 and "refused: role" in words(refused)
    assert coord.post("/queries/", {"bulk_action": "close"}).status_code == 400
    assert coord.post("/queries/", {"bulk_action": "delete", "ids": ids}).status_code == 400
    many = coord.post("/queries/", {"bulk_action": "answer", "ids": [str(i) for i in range(300)]})
    assert many.status_code == 400 and "at most 200" in words(many)


# ------------------------------------------------------------------------------ audit trail
def test_the_audit_trail_of_a_participant_for_the_monitor_and_the_data_manager(
    personas: Any, enroll: Callable[..., Any], production_list: Any,
    browser_for: Callable[..., Client],
) -> None:  # fmt: skip
    p = _randomized(personas, enroll)
    _complete_baseline(personas.coord, p.study_id)
    url = f"/participants/{p.study_id}/audit/"
    for persona in (personas.monitor, personas.datamanager):
        page = browser_for(persona).get(url)
        assert page.status_code == 200
        text = words(page)
        assert "coord" in text and "form_save" in text and "enroll" in text
        assert "America/New_York" in text and "item:weight_kg: [None, 72.5]" in text
        assert "randomize" in text  # unmasked readers see the randomization event
    assert browser_for(personas.coord).get(url).status_code == 403
    assert browser_for(personas.assessor).get(url).status_code == 403
    theirs = enroll(site="SNU")
    assert browser_for(personas.monitor).get(
        f"/participants/{theirs.study_id}/audit/").status_code == 403
    link = html(browser_for(personas.monitor).get(f"/participants/{p.study_id}/"))
    assert f'href="{url}"' in link


def test_a_masked_reader_of_the_audit_trail_sees_nothing_arm_revealing(
    personas: Any, enroll: Callable[..., Any], production_list: Any,
    browser_for: Callable[..., Client],
) -> None:  # fmt: skip
    p = _randomized(personas, enroll)
    arm = p.allocation.arm
    now = timezone.now().astimezone(NY).replace(microsecond=0)
    do_save_form(personas.pharmacist, p.study_id, "unscheduled", "dose", {
        "drug": arm, "dose_mg": 100, "route": "iv",
        "given_at": (now - timedelta(hours=1)).isoformat()})  # fmt: skip
    do_save_form(personas.coord, p.study_id, "unscheduled", "adverse_event", {
        "term": f"rash after {arm}", "grade": 2, "onset_date": now.date().isoformat(),
        "serious": False, "awareness_at": now.isoformat(), "related_to_study_drug": "possible",
        "expected": True, "outcome": "recovering"})  # fmt: skip
    url = f"/participants/{p.study_id}/audit/"
    unmasked = html(browser_for(personas.monitor).get(url)).lower()
    assert arm in unmasked and 'data-label="what">dose_plan' in unmasked
    assert 'data-label="what">randomize' in unmasked
    with override_settings(COMBAT_NORSE_MASKED_ROLES=["outcome_assessor", "sponsor_viewer",
                                                      "monitor"]):  # fmt: skip
        page = browser_for(personas.monitor).get(url)
        assert page.status_code == 200
        text = html(page).lower()
        assert not [d for d in DRUGS if d in text]
        assert 'data-label="what">dose_plan' not in text
        assert 'data-label="what">randomize' not in text
        assert "/dose#" not in text and "adverse_event" in text and "[masked]" in text


# ------------------------------------------------------------------------------ SAE report
def test_the_site_records_an_sae_report_from_the_participant_page(
    personas: Any, enroll: Callable[..., Any], browser_for: Callable[..., Client],
) -> None:  # fmt: skip
    p = enroll()
    aware = timezone.now().astimezone(NY).replace(second=0, microsecond=0) - timedelta(hours=3)
    do_save_form(personas.coord, p.study_id, "unscheduled", "adverse_event", {
        "term": "Lung infection", "grade": 3, "onset_date": aware.date().isoformat(),
        "serious": True, "seriousness": ["hospitalization"], "awareness_at": aware.isoformat(),
        "related_to_study_drug": "not_related", "expected": False, "outcome": "recovering"})
    coord = browser_for(personas.coord)
    url = f"/participants/{p.study_id}/"
    page = coord.get(url)
    ae = f"{p.study_id}-AE1"
    assert f"{ae} · coordinating_centre_24h (US)" in words(page) and "open" in words(page)
    assert 'value="sae_report"' in html(page)
    post = {"action": "sae_report", "ae_id": ae, "to": "coordinating_centre"}
    missing = coord.post(url, post)
    assert missing.status_code == 400 and "at: when the report was sent" in words(missing)
    future = (aware + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    assert coord.post(url, {**post, "at": future}).status_code == 400
    early = (aware - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    assert "before the site became aware" in words(coord.post(url, {**post, "at": early}))
    sent = (aware + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")  # site-local time
    done = coord.post(url, {**post, "at": sent}, follow=True)
    assert f"Report of {ae} recorded: coordinating_centre_24h clock met." in words(done)
    clock = SafetyClock.unscoped.get(participant=p)
    assert clock.reported_at == aware + timedelta(hours=1) and clock.reported_by == personas.coord
    again = coord.post(url, {**post, "at": sent})
    assert again.status_code == 409 and "refused: already reported" in words(again)
    # the monitor follows the clocks but does not report; another site's team is refused
    assert 'value="sae_report"' not in html(browser_for(personas.monitor).get(url))
    other = browser_for(personas.othercoord).post(url, {**post, "at": sent})
    assert other.status_code == 403 and "refused: other site" in words(other)


# ------------------------------------------------------------------------------ autosave
def test_autosaved_entries_come_back_when_the_page_is_reopened_and_go_on_save(
    personas: Any, enroll: Callable[..., Any], browser_for: Callable[..., Client],
) -> None:  # fmt: skip
    p = enroll()
    url = BASELINE.format(p.study_id)
    coord = browser_for(personas.coord)
    page = html(coord.get(url))
    assert f'data-autosave-url="{url}autosave/"' in page and "web/autosave.js" in page
    assert json.loads(coord.get(url + "autosave/").content) == {"kept": False, "saved_at": None}
    kept = coord.post(url + "autosave/", {"if_version": "0", "weight_kg": "71",
                                          "first_line_immunotherapy": ["ivig"],
                                          "unknown_item": "dropped", "drafted_by": "x"})
    assert kept.status_code == 200 and json.loads(kept.content)["kept"] is True
    reopened = coord.get(url)
    assert "Your unsaved entries are back" in words(reopened)
    assert 'value="71"' in html(reopened) and 'value="ivig" checked' in html(reopened)
    assert FormInstance.unscoped.filter(participant=p).count() == 0  # shown, not saved
    # discarded on request: the saved form (none yet) is shown again
    coord.post(url + "autosave/", {"if_version": "0", "weight_kg": "99"})
    discarded = coord.post(url, {"action": "discard_autosave"}, follow=True)
    assert "The kept entries were discarded." in words(discarded)
    assert 'value="99"' not in html(discarded) and FormInstance.unscoped.count() == 0
    coord.post(url + "autosave/", {"if_version": "0", "weight_kg": "71",
                                   "first_line_immunotherapy": ["ivig"]})
    # another user of the same site never gets them
    assert "Your unsaved entries are back" not in words(browser_for(personas.investigator)
                                                        .get(url))  # fmt: skip
    saved = coord.post(url, {"if_version": "0", "weight_kg": "71", "reason": ""}, follow=True)
    assert "Saved: version 1" in words(saved)
    assert "Your unsaved entries are back" not in words(coord.get(url))
    assert json.loads(coord.get(url + "autosave/").content)["kept"] is False


def test_autosave_is_refused_without_csrf_for_another_site_and_when_too_large(
    personas: Any, enroll: Callable[..., Any], verified_login: Callable[..., None],
    browser_for: Callable[..., Client],
) -> None:  # fmt: skip
    p = enroll()
    url = BASELINE.format(p.study_id) + "autosave/"
    strict = Client(enforce_csrf_checks=True)
    verified_login(strict, personas.coord)
    assert strict.post(url, {"weight_kg": "70"}).status_code == 403
    other = browser_for(personas.othercoord).post(url, {"weight_kg": "70"},
                                                  HTTP_ACCEPT="application/json")
    assert other.status_code == 403 and other.json()["code"] == "other_site"
    coord = browser_for(personas.coord)
    big = coord.post(url, {"notes": "x" * 70_000})
    assert big.status_code == 400
    assert json.loads(coord.get(url).content)["kept"] is False
    anonymous = Client().post(url, {"weight_kg": "70"})
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
