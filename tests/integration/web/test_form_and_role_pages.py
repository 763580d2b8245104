"""The generic form page, the assessor's pages and the query pages (issue 17): the same
actions and presenters as the command line; nothing typed is lost; masked pages say nothing
of the arm."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.html import strip_tags

from combat_norse.allocation.actions import do_randomize
from combat_norse.crf.actions.forms import do_save_form
from combat_norse.participants.actions import do_assign_assessor

pytestmark = [pytest.mark.django_db, pytest.mark.req("#17", "§11", "§14")]

BASELINE = "/participants/{}/visits/baseline/forms/baseline/"
MRS = "/participants/{}/visits/day30/forms/mrs/"


def words(response: Any) -> str:
    return re.sub(r"\s+", " ", unescape(strip_tags(response.content.decode())))


def html(response: Any) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def baseline_post(**overrides: Any) -> dict[str, Any]:
    posted = {"if_version": "0", "weight_kg": "72.5", "premorbid_mrs": "0",
              "first_seizure_at": "2026-03-10T21:00", "anesthetic_infusion": "yes",
              "first_line_immunotherapy": ["steroids", "ivig"], "ketogenic_diet": "unknown",
              "eeg_done": "yes", "final_etiology": "", "notes": "", "reason": ""}  # fmt: skip
    posted.update(overrides)
    return posted


def test_a_form_generated_from_its_metadata_saves_with_the_version_it_was_read_at(
    personas: Any, enroll: Callable[..., Any], browser_for: Callable[..., Client]
) -> None:
    participant = enroll()
    coord = browser_for(personas.coord)
    url = BASELINE.format(participant.study_id)
    page = html(coord.get(url))
    for item in ("weight_kg", "premorbid_mrs", "first_seizure_at", "first_line_immunotherapy"):
        assert f'name="{item}"' in page
    assert 'name="if_version" value="0"' in page
    saved = coord.post(url, baseline_post(), follow=True)
    assert "Saved: version 1, complete." in words(saved)
    page = html(saved)
    assert 'name="if_version" value="1"' in page and 'value="72.5"' in page
    assert 'value="2026-03-10T21:00"' in page  # shown back in the site's zone
    # a complete form changed without a reason: refused, every entry kept
    again = coord.post(url, baseline_post(if_version="1", weight_kg="70"))
    assert again.status_code == 422
    assert "refused: reason required" in words(again)
    assert 'value="70"' in html(again) and 'id="reason-error"' in html(again)


def test_a_failed_validation_shows_every_entry_again_with_the_error_by_its_field(
    personas: Any, enroll: Callable[..., Any], browser_for: Callable[..., Client]
) -> None:
    participant = enroll()
    coord = browser_for(personas.coord)
    url = BASELINE.format(participant.study_id)
    typed = baseline_post(weight_kg="seventy", premorbid_mrs="2")
    answer = coord.post(url, typed)
    assert answer.status_code == 400
    page = html(answer)
    assert 'id="weight_kg-error"' in page and 'value="seventy"' in page
    assert 'value="2"' in page and 'value="ivig" checked' in page
    # a value outside the item's range comes back from the action, next to its field
    answer = coord.post(url, baseline_post(weight_kg="400"))
    assert answer.status_code == 400
    assert 'id="weight_kg-error"' in html(answer) and "above 300 kg" in words(answer)
    assert 'value="400"' in html(answer)


def test_a_concurrent_edit_is_refused_and_both_values_are_shown(
    personas: Any, enroll: Callable[..., Any], browser_for: Callable[..., Client]
) -> None:
    participant = enroll()
    coord = browser_for(personas.coord)
    url = BASELINE.format(participant.study_id)
    coord.post(url, baseline_post(premorbid_mrs=""))  # version 1, in progress
    # the investigator saves a weight meanwhile, through the same action as the command line
    do_save_form(personas.investigator, participant.study_id, "baseline", "baseline",
                 {"weight_kg": 80}, if_version=1)  # fmt: skip
    answer = coord.post(url, baseline_post(if_version="1", weight_kg="75", premorbid_mrs="1"))
    assert answer.status_code == 409
    page = words(answer)
    assert "refused: conflict (version 2, not 1; changed: weight_kg)" in page
    assert "Saved meanwhile by someone else: 80" in page
    assert 'value="75"' in html(answer) and 'name="if_version" value="2"' in html(answer)
    resubmitted = coord.post(url, baseline_post(if_version="2", weight_kg="75", premorbid_mrs="1"),
                             follow=True)  # fmt: skip
    assert "Saved: version 3, complete." in words(resubmitted)


def _two_arms(personas: Any, enroll: Callable[..., Any]) -> dict[str, Any]:
    """One anakinra and one tocilizumab participant, both assigned to the YNH assessor."""
    by_arm: dict[str, Any] = {}
    for _ in range(12):
        p = enroll()
        arm = do_randomize(personas.coord, p).arm
        do_assign_assessor(personas.coord, p, personas.assessor)
        by_arm.setdefault(arm, p)
        if len(by_arm) == 2:
            return by_arm
    raise AssertionError("the list gave one arm twelve times")


def _pages(client: Client, p: Any) -> list[str]:
    """The assessor's pages about one participant."""
    return [words(client.get(u)) for u in (f"/participants/{p.study_id}/",
                                           MRS.format(p.study_id))]  # fmt: skip


DRUGS = ("anakinra", "tocilizumab", "kineret", "actemra")


def test_the_assessors_pages_are_the_same_for_either_arm_but_for_identifiers(
    personas: Any, enroll: Callable[..., Any], production_list: Any,
    browser_for: Callable[..., Client],
) -> None:  # fmt: skip
    arms = _two_arms(personas, enroll)
    a, t = arms["anakinra"], arms["tocilizumab"]
    assessor = browser_for(personas.assessor)
    today = timezone.localdate().isoformat()
    for p in (a, t):
        saved = assessor.post(MRS.format(p.study_id), {"if_version": "0", "mrs": "3",
                                                       "assessed_on": today}, follow=True)
        assert "Saved: version 1" in words(saved)

    def neutral(page: str, p: Any) -> str:
        page = page.replace(p.study_id, "STUDY").replace(p.screening.screening_id, "SCREENING")
        page = re.sub(r"#\d+", "#ID", page)  # query ids
        page = re.sub(r"\d{4}-\d\d-\d\dT[\d:.]+[+-]\d\d:\d\d", "TIME", page)
        # times shown in the site's zone ("2026-11-30 00:23 EST"): the two were randomized
        # apart, perhaps a minute apart
        return re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d \S+", "TIME", page)

    for page_a, page_t in zip(_pages(assessor, a), _pages(assessor, t), strict=True):
        assert neutral(page_a, a) == neutral(page_t, t)
    for url in ("/", "/participants/", "/queries/", f"/participants/{a.study_id}/",
                f"/participants/{t.study_id}/", MRS.format(a.study_id)):
        response = assessor.get(url)
        assert response.status_code in (200, 403), url
        page = html(response).lower()
        assert not [d for d in DRUGS if d in page], url
        assert 'id="arm"' not in page and "randomize now" not in page
    assert "dose" not in _pages(assessor, a)[0]


def test_the_assessor_records_being_unmasked_from_the_participant_page(
    personas: Any, enroll: Callable[..., Any], browser_for: Callable[..., Client]
) -> None:
    participant = enroll()
    do_assign_assessor(personas.coord, participant, personas.assessor)
    assessor = browser_for(personas.assessor)
    url = f"/participants/{participant.study_id}/"
    assert "I was unmasked" in words(assessor.get(url))
    blank = assessor.post(url, {"action": "unmasked", "how": " "})
    assert blank.status_code == 400 and "how: say how the arm became known" in words(blank)
    done = assessor.post(url, {"action": "unmasked", "how": "the family mentioned it"},
                         follow=True)  # fmt: skip
    assert "Recorded: you learned this participant's treatment" in words(done)
    today = timezone.localdate().isoformat()
    saved = assessor.post(MRS.format(participant.study_id),
                          {"if_version": "0", "mrs": "2", "assessed_on": today}, follow=True)
    assert "entered after the assessor was unmasked" in words(saved)


def test_a_query_is_raised_answered_and_closed_on_the_pages(
    personas: Any, enroll: Callable[..., Any], browser_for: Callable[..., Client]
) -> None:
    participant = enroll()
    coord = browser_for(personas.coord)
    coord.post(BASELINE.format(participant.study_id), baseline_post())
    monitor = browser_for(personas.monitor)
    assert "Raise a query" in words(monitor.get(BASELINE.format(participant.study_id)))
    raised = monitor.post("/queries/", {"action": "raise", "study_id": participant.study_id,
                                        "visit": "baseline", "form": "baseline",
                                        "item": "weight_kg", "text": "Please check the scale"},
                          follow=True)  # fmt: skip
    page = words(raised)
    found = re.search(r"Query #(\d+) is now open", page)
    assert found, page
    query_id = found.group(1)
    assert "Please check the scale" in words(coord.get(f"/participants/{participant.study_id}/"))
    refused = monitor.post("/queries/", {"action": "answer", "id": query_id, "text": "ok"})
    assert refused.status_code == 403 and "refused: role" in words(refused)
    answered = coord.post("/queries/", {"action": "answer", "id": query_id,
                                        "text": "Weighed again: 72.5 kg"}, follow=True)
    assert f"Query #{query_id} is now answered" in words(answered)
    closed = monitor.post("/queries/", {"action": "close", "id": query_id}, follow=True)
    assert f"Query #{query_id} is now closed" in words(closed)
    assert f"#{query_id}" in words(monitor.get("/queries/?status=closed"))
    other = browser_for(personas.othercoord)
    assert other.post("/queries/", {"action": "answer", "id": query_id,
                                    "text": "x"}).status_code == 403  # fmt: skip


def test_the_coordinators_home_page_is_the_due_work_list(
    personas: Any, enroll: Callable[..., Any], browser_for: Callable[..., Client]
) -> None:
    participant = enroll()
    coord = browser_for(personas.coord)
    coord.post(BASELINE.format(participant.study_id), baseline_post(premorbid_mrs=""))
    page = words(coord.get("/"))
    assert "Due work" in page and "Forms in progress" in page
    assert participant.study_id in page and "Open SAE clocks" in page
def test_the_pages_speak_the_chosen_language(
    personas: Any, browser_for: Callable[..., Client]
) -> None:
    coord = browser_for(personas.coord)
    answer = coord.post("/language/", {"language": "fr", "next": "/me/"})
    assert answer.status_code == 302
    page = words(coord.get("/me/"))
    assert "Se déconnecter" in page and 'lang="fr"' in html(coord.get("/me/"))
    coord.post("/language/", {"language": "ko", "next": "/"})
    assert "로그아웃" in words(coord.get("/"))


def _drafted_by(response: Any) -> str:
    found = re.search(r'name="drafted_by" value="([^"]+)"', html(response))
    assert found, "the form page carries no drafted_by token"
    return found.group(1)


def _expire_sessions() -> None:
    from django.contrib.sessions.models import Session

    Session.objects.all().delete()  # what SESSION_IDLE_SECONDS of inactivity does


def test_entries_posted_after_the_session_expired_are_saved_once_after_signing_in(
    personas: Any, enroll: Callable[..., Any], browser_for: Callable[..., Client],
    verified_login: Callable[[Any, Any], None],
) -> None:  # fmt: skip
    participant = enroll()
    coord = browser_for(personas.coord)
    url = BASELINE.format(participant.study_id)
    token = _drafted_by(coord.get(url))
    _expire_sessions()
    answer = coord.post(url, {**baseline_post(), "drafted_by": token})
    assert answer.status_code == 302 and answer["Location"].startswith("/accounts/login/")
    verified_login(coord, personas.coord)  # signing in keeps the session's draft
    back = coord.get(url, follow=True)
    page = words(back)
    assert "You were signed out before your entries were saved" in page
    assert "Saved: version 1, complete." in page and 'value="72.5"' in html(back)
    again = coord.get(url)  # submitted once: nothing left to submit
    assert "Saved:" not in words(again) and 'name="if_version" value="1"' in html(again)


def test_a_draft_is_never_submitted_for_someone_else_who_signs_in(
    personas: Any, enroll: Callable[..., Any], browser_for: Callable[..., Client],
    verified_login: Callable[[Any, Any], None],
) -> None:  # fmt: skip
    participant = enroll()
    coord = browser_for(personas.coord)
    url = BASELINE.format(participant.study_id)
    token = _drafted_by(coord.get(url))
    _expire_sessions()
    coord.post(url, {**baseline_post(weight_kg="64"), "drafted_by": token})
    verified_login(coord, personas.investigator)  # another person at the same browser
    page = coord.get(url)
    assert "Saved:" not in words(page) and 'value="64"' not in html(page)
    assert 'name="if_version" value="0"' in html(page)
    verified_login(coord, personas.coord)  # the draft was dropped, not kept for later
    assert "Saved:" not in words(coord.get(url))


def test_with_htmx_only_the_querys_card_comes_back(
    personas: Any, enroll: Callable[..., Any], browser_for: Callable[..., Client]
) -> None:
    participant = enroll()
    coord = browser_for(personas.coord)
    coord.post(BASELINE.format(participant.study_id), baseline_post())
    monitor = browser_for(personas.monitor)
    monitor.post("/queries/", {"action": "raise", "study_id": participant.study_id,
                               "visit": "baseline", "form": "baseline", "item": "eeg_done",
                               "text": "EEG report?"})  # fmt: skip
    query_id = re.search(r'id="query-(\d+)"', html(coord.get("/queries/")))
    assert query_id
    card = coord.post("/queries/", {"action": "answer", "id": query_id.group(1),
                                    "text": "Attached"}, HTTP_HX_REQUEST="true")  # fmt: skip
    assert card.status_code == 200
    assert "<html" not in html(card) and f'id="query-{query_id.group(1)}"' in html(card)
    assert f"Query #{query_id.group(1)} is now answered" in words(card)
    again = coord.post("/queries/", {"action": "answer", "id": query_id.group(1), "text": "x"},
                       HTTP_HX_REQUEST="true")  # fmt: skip
    assert again.status_code == 409 and "refused: the query is answered" in words(again)


def test_the_monitor_verifies_and_the_data_manager_locks_and_unlocks_on_the_form_page(
    personas: Any, enroll: Callable[..., Any], browser_for: Callable[..., Client]
) -> None:
    participant = enroll()
    url = BASELINE.format(participant.study_id)
    coord = browser_for(personas.coord)
    coord.post(url, baseline_post())
    assert "Source data verified" not in words(coord.get(url))  # not the coordinator's
    monitor = browser_for(personas.monitor)
    verified = monitor.post(url, {"action": "verify"}, follow=True)
    assert "Form complete, SDV verified." in words(verified)
    datamanager = browser_for(personas.datamanager)
    locked = datamanager.post(url, {"action": "lock"}, follow=True)
    assert "Form locked, SDV verified." in words(locked)
    refused = coord.post(url, baseline_post(if_version="1", weight_kg="70", reason="scale"))
    assert refused.status_code == 423 and "refused: locked" in words(refused)
    assert 'value="70"' in html(refused)  # the entry is kept
    no_reason = datamanager.post(url, {"action": "unlock", "reason": ""})
    assert no_reason.status_code == 422 and "refused: reason required" in words(no_reason)
    unlocked = datamanager.post(url, {"action": "unlock", "reason": "site correction"},
                                follow=True)  # fmt: skip
    assert "Form complete" in words(unlocked)


def test_the_statistician_reads_the_balance_verifies_the_list_and_reads_the_unmasking_log(
    personas: Any, enroll: Callable[..., Any], production_list: Any,
    browser_for: Callable[..., Client],
) -> None:  # fmt: skip
    from combat_norse.participants.actions import do_record_assessor_unmasked

    arms = _two_arms(personas, enroll)
    do_record_assessor_unmasked(personas.assessor, arms["anakinra"], personas.assessor,
                                how="saw the infusion chart")  # fmt: skip
    statistician = browser_for(personas.statistician)
    page = words(statistician.get("/randomization/"))
    total = re.search(r"All allocations: anakinra (\d+) · tocilizumab (\d+)", page)
    assert total and int(total.group(1)) >= 1 and int(total.group(2)) >= 1
    assert "saw the infusion chart" in page and arms["anakinra"].study_id in page
    checked = statistician.post("/randomization/")
    assert f"List {production_list.pk} matches its seed." in words(checked)
    coord = browser_for(personas.coord)
    assert coord.get("/randomization/").status_code == 403


@pytest.mark.req("§11")
def test_dsmb_and_sponsor_read_enrollment_by_site_and_month_blinded(
    personas: Any, enroll: Callable[..., Any], production_list: Any,
    browser_for: Callable[..., Client],
) -> None:  # fmt: skip
    _two_arms(personas, enroll)
    enroll(site="SNU")
    for reader in (personas.dsmb, personas.sponsor, personas.datamanager):
        page = words(browser_for(reader).get("/enrollment/"))
        found = re.search(r"Enrolled: (\d+) \(randomized cohort (\d+)", page)
        assert found and int(found.group(1)) >= 3, page
        assert "SNU" in page and "YNH" in page
        assert not [d for d in DRUGS if d in page.lower()]
    assert browser_for(personas.coord).get("/enrollment/").status_code == 403
