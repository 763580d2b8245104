"""The operations pages of issue 17 in a real browser (Debian's chromium, Playwright),
PostgreSQL only, on a phone-sized viewport (390 px): a monitor verifies a form from the SDV
worklist, a monitor closes two queries at once, a pharmacist opens the dose preparation of a
randomized participant, and a coordinator's entries come back after the connection was cut
(autosave to a server-side draft, nothing in the browser's storage). axe-core runs on every
page reached (no serious or critical violation) and no page scrolls sideways."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .browser import CHROMIUM, CHROMIUM_ARGS, browser_or_skip
from .test_pages_in_browser import PHONE, Checks, _enrolled, signed_in_page, trial_team

pytestmark = [pytest.mark.req("#17", "§7", "§11", "§14"), pytest.mark.django_db(transaction=True)]


@pytest.fixture
def team() -> dict[str, Any]:
    """Sites, the YNH team (coordinator, pharmacist, monitor), a data manager, a statistician
    and a production list."""
    from combat_norse.allocation.actions import do_setup_list

    users = trial_team(("coord.ynh", "site_coordinator", ["YNH"]),
                       ("pharmacist.ynh", "pharmacist", ["YNH"]),
                       ("monitor.ynh", "monitor", ["YNH"]),
                       ("datamanager", "data_manager", []),
                       ("statistician", "statistician", []))  # fmt: skip
    do_setup_list(users["statistician"], design="permuted_blocks", seed=None,
                  environment="production", blocks_per_stratum=4)  # fmt: skip
    return users


@pytest.fixture
def browser(live_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    sync_playwright = browser_or_skip()
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # ORM set-up in this thread
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def _page_as(browser: Any, user: Any, live_server: Any) -> tuple[Any, Any]:
    context = browser.new_context(viewport=PHONE, device_scale_factor=1)
    return context, signed_in_page(context, user, live_server)


def _baseline(coord: Any, study_id: str) -> None:
    from combat_norse.crf.actions.forms import do_save_form

    do_save_form(coord, study_id, "baseline", "baseline", {
        "weight_kg": 72.5, "premorbid_mrs": 0, "first_seizure_at": "2026-03-10T21:00:00-04:00",
        "anesthetic_infusion": True, "first_line_immunotherapy": ["steroids"], "eeg_done": True,
    })  # fmt: skip


def test_a_monitor_verifies_a_form_from_the_sdv_worklist(
    team: dict[str, Any], live_server: Any, browser: Any
) -> None:
    from combat_norse.crf.models import FormInstance

    participant = _enrolled(team["coord.ynh"])
    _baseline(team["coord.ynh"], participant.study_id)
    _context, page = _page_as(browser, team["monitor.ynh"], live_server)
    check = Checks(page)
    page.goto(f"{live_server.url}/review/")
    check("ops1-sdv-worklist")
    row = page.locator("#worklist tr", has_text=f"{participant.study_id} · baseline · baseline")
    row.locator("button:has-text('Source data verified')").click()
    page.wait_for_selector(f"text={participant.study_id} · baseline · baseline: verified.")
    assert "Nothing to review here." in page.inner_text("main")
    check("ops2-sdv-verified")
    assert FormInstance.unscoped.get(participant=participant, form="baseline").sdv == "verified"
    page.goto(f"{live_server.url}/missing/")
    check("ops3-missing-forms")
    page.goto(f"{live_server.url}/participants/{participant.study_id}/audit/")
    page.wait_for_selector("#audit-events >> text=form_verify")
    check("ops4-audit-trail")
    check.assert_clean()


def test_a_monitor_closes_two_queries_at_once(
    team: dict[str, Any], live_server: Any, browser: Any
) -> None:
    from combat_norse.crf.actions.queries import do_raise_query
    from combat_norse.crf.models import DataQuery

    participant = _enrolled(team["coord.ynh"])
    _baseline(team["coord.ynh"], participant.study_id)
    raised = [do_raise_query(team["monitor.ynh"], participant.study_id, "baseline", "baseline",
                             item, text=f"Please check {item}")
              for item in ("weight_kg", "premorbid_mrs")]  # fmt: skip
    _context, page = _page_as(browser, team["monitor.ynh"], live_server)
    check = Checks(page)
    page.goto(f"{live_server.url}/queries/")
    check("ops5-queries-bulk")
    for q in raised:
        page.click(f"label[for=select-{q.pk}]")  # USWDS draws the box on the label
        assert page.is_checked(f"#select-{q.pk}")
    page.fill("#bulk-text", "Verified against the source at the visit")
    page.click("button:has-text('Close the selected')")
    page.wait_for_selector("#bulk-report >> text=2 queries changed")
    check("ops6-queries-bulk-closed")
    check.assert_clean()
    assert {q.status for q in DataQuery.unscoped.filter(pk__in=[q.pk for q in raised])} == {
        "closed"}


def test_a_pharmacist_prepares_a_dose_per_weight(
    team: dict[str, Any], live_server: Any, browser: Any
) -> None:
    from combat_norse.allocation.actions import do_randomize
    from combat_norse.safety.models import DosePlan

    participant = _enrolled(team["coord.ynh"])
    _baseline(team["coord.ynh"], participant.study_id)  # the weight the plan is made from
    do_randomize(team["coord.ynh"], participant)
    plan = DosePlan.unscoped.get(participant=participant)
    _context, page = _page_as(browser, team["pharmacist.ynh"], live_server)
    check = Checks(page)
    page.goto(f"{live_server.url}/pharmacy/")
    check("ops7-pharmacy-allocations")
    page.click(f"#allocations >> text={participant.study_id}")
    page.wait_for_selector("#dose-plan")
    assert f"{plan.suggestion['dose_mg']} mg" in page.inner_text("#dose-mg")
    assert plan.drug in page.inner_text("#dose-plan")
    check("ops8-dose-preparation")
    check.assert_clean()


def test_entries_typed_come_back_after_the_connection_was_cut(
    team: dict[str, Any], live_server: Any, browser: Any
) -> None:
    from combat_norse.crf.models import FormInstance

    participant = _enrolled(team["coord.ynh"])
    url = f"{live_server.url}/participants/{participant.study_id}/visits/baseline/forms/baseline/"
    context, page = _page_as(browser, team["coord.ynh"], live_server)
    check = Checks(page)
    page.goto(url)
    page.fill("#id_weight_kg", "68.4")
    page.click("label[for=first_line_immunotherapy-ivig]")
    page.wait_for_selector("#autosave-status >> text=Entries kept on the server")
    context.set_offline(True)
    page.fill("#id_notes", "typed while offline")
    page.wait_for_selector("#autosave-offline", state="visible")  # the retry notice
    assert "Connection lost" in page.inner_text("#autosave-offline")
    # nothing typed is kept in the browser (htmx keeps only the current path, and no page
    # snapshot: historyCacheSize 0)
    stored = page.evaluate("JSON.stringify([Object.entries(localStorage), "
                           "Object.entries(sessionStorage)])")  # fmt: skip
    assert "68.4" not in stored and "offline" not in stored and "htmx-history-cache" not in stored
    assert page.evaluate("localStorage.length") == 0
    context.set_offline(False)
    page.goto(url)  # the page reopened
    page.wait_for_selector("#restored")
    assert page.input_value("#id_weight_kg") == "68.4"
    assert page.is_checked("#first_line_immunotherapy-ivig")
    assert not FormInstance.unscoped.filter(participant=participant).exists()  # not saved yet
    check("ops9-autosave-restored")
    page.click("#form-entry button[type=submit]")
    page.wait_for_selector("text=Saved: version 1")
    saved = FormInstance.unscoped.get(participant=participant, form="baseline")
    assert saved.values["weight_kg"] == 68.4 and saved.version == 1
    page.goto(url)
    assert page.locator("#restored").count() == 0  # the kept entries went with the save
    check.assert_clean()
