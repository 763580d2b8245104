"""The bedside flow through the pages (issue 17): screen → consent → enroll → randomize, each
step through the same action as the command line, with refusals in plain words."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from html import unescape
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.html import strip_tags

from combat_norse.allocation.models import Allocation

pytestmark = [pytest.mark.django_db, pytest.mark.req("#17", "§4", "§13")]


def _local(hours_ago: float) -> str:
    moment = timezone.now() - timedelta(hours=hours_ago)
    return moment.astimezone(ZoneInfo("America/New_York")).strftime("%Y-%m-%dT%H:%M")


def bedside_record(**overrides: str) -> dict[str, str]:
    """What a coordinator types for the example randomized-cohort patient (onset 30 h ago)."""
    typed = {
        "date_of_birth": "1994-05-17", "se_onset": _local(30), "usual_health_before_se": "yes",
        "failed_asm_count": "3", "active_epilepsy": "no", "preexisting_neuro_disorder": "no",
        "acute_cause_identified": "no", "planned_therapy": "either", "systemic_illness": "no",
        "hypersensitivity": "no", "active_serious_infection": "no", "tnf_blocker": "no",
        "anc_per_mm3": "5400", "platelets_per_mm3": "231000", "alt_u_l": "38",
        "alt_uln_u_l": "40", "ast_u_l": "41", "ast_uln_u_l": "35", "gi_perforation_risk": "no",
        "no_febrile_illness": "on", "weight_kg": "72.5",
    }  # fmt: skip
    typed.update(overrides)
    return typed


def text(response: Any) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def words(response: Any) -> str:
    """The page as a reader reads it (no tags)."""
    return re.sub(r"\s+", " ", unescape(strip_tags(response.content.decode())))


def test_coordinator_screens_consents_enrolls_and_randomizes_on_the_pages(
    personas: Any, production_list: Any, browser_for: Callable[..., Client]
) -> None:
    coord = browser_for(personas.coord)
    answer = coord.post("/sites/YNH/screen/", bedside_record())
    assert answer.status_code == 302, text(answer)
    screening_url = answer["Location"]
    page = text(coord.get(screening_url))
    assert "Eligible for the randomized cohort" in page
    assert "Time left to randomize" in page and "America/New_York" in page

    refused = coord.post(screening_url, {"action": "enroll"})
    assert refused.status_code == 422
    assert "refused: no valid consent" in text(refused)

    consented = coord.post(screening_url, {"action": "consent", "signer": "lar",
                                           "form_version": "2.0", "optional": ["interview"]})
    assert consented.status_code == 302
    enrolled = coord.post(screening_url, {"action": "enroll"})
    assert enrolled.status_code == 302
    participant_url = enrolled["Location"]
    assert participant_url == "/participants/YNH-001/"
    page = text(coord.get(participant_url))
    assert "Randomize now" in page and "Time left to randomize" in page

    randomized = coord.post(participant_url, {"action": "randomize"}, follow=True)
    page = text(randomized)
    assert re.search(r"Randomized: (anakinra|tocilizumab) \(code", page), page
    assert 'id="arm"' in page
    assert "Randomize now" not in page
    # the dose plan the randomization started (safety's treatment read), in the same page
    plan = re.search(r'id="dose-plan">.*?</dl>', page)
    assert plan and re.search(r"(anakinra|tocilizumab)</strong> · [\d.]+ mg", plan.group(0))


def test_the_screening_page_names_failed_and_unknown_criteria_in_plain_words(
    personas: Any, browser_for: Callable[..., Client]
) -> None:
    coord = browser_for(personas.coord)
    typed = bedside_record(anc_per_mm3="1500", platelets_per_mm3="", tnf_blocker="unknown")
    answer = coord.post("/sites/YNH/screen/", typed, follow=True)
    page = words(answer)
    assert "Eligible for the observational cohort" in page  # E5 is no core criterion (§5)
    assert "E5 failed: Neutrophils (ANC) below 2000/mm³" in page
    assert "E4 unknown: Concomitant TNF-blocking agent" in page
    assert "E6 unknown: Platelets below 100,000/mm³" in page


def test_a_screening_typed_wrong_comes_back_with_every_entry_and_the_error_by_its_field(
    personas: Any, browser_for: Callable[..., Client]
) -> None:
    coord = browser_for(personas.coord)
    typed = bedside_record(failed_asm_count="three", weight_kg="72,5")
    answer = coord.post("/sites/YNH/screen/", typed)
    assert answer.status_code == 400
    page = text(answer)
    assert 'id="failed_asm_count-error"' in page and "a whole number" in page
    assert 'value="three"' in page  # what was typed is shown again
    assert 'value="72,5"' in page and 'value="5400"' in page
    # a value the record's own rules refuse (onset in the future) is named next to its field
    answer = coord.post("/sites/YNH/screen/", bedside_record(se_onset=_local(-5)))
    assert answer.status_code == 400
    assert 'id="se_onset-error"' in text(answer) and "is in the future" in text(answer)


def test_another_sites_coordinator_is_refused_other_site_and_a_monitor_the_reason_in_words(
    personas: Any, enroll: Callable[..., Any], production_list: Any,
    browser_for: Callable[..., Client],
) -> None:  # fmt: skip
    participant = enroll()
    other = browser_for(personas.othercoord)
    page = other.get(f"/participants/{participant.study_id}/")
    assert page.status_code == 403 and 'data-code="other_site"' in text(page)
    assert "refused: other site" in words(page)
    assert participant.screening.site.name not in text(page)
    assert other.get(f"/screening/{participant.screening.screening_id}/").status_code == 403
    assert other.post(f"/participants/{participant.study_id}/",
                      {"action": "randomize"}).status_code == 403  # fmt: skip
    assert not Allocation.unscoped.filter(participant=participant).exists()
    # a script asking for JSON gets the API's body (PROTOCOL §13: {"code": "other_site"})
    answer = other.get(f"/participants/{participant.study_id}/", HTTP_ACCEPT="application/json")
    assert answer.status_code == 403 and answer.json()["code"] == "other_site"
    # an id that does not exist anywhere is 404, with no reason to read
    unknown = other.get("/participants/YNH-999/")
    assert unknown.status_code == 404 and "refused" not in words(unknown)
    monitor = browser_for(personas.monitor)
    refused = monitor.post(f"/participants/{participant.study_id}/", {"action": "randomize"})
    assert refused.status_code == 403
    assert "refused: role (needs site_coordinator or site_investigator at YNH" in text(refused)
