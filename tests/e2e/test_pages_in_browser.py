"""The role pages in a real browser (Debian's chromium driven by Playwright), PostgreSQL only:
the bedside flow on a phone-sized viewport (390 px), an assessor who signs in with a password
and enters an mRS (the session expiring mid-form loses nothing) without any page showing the
arm, a query raised by the monitor, answered in place (htmx) by the coordinator and closed,
and axe-core on every page reached (no
serious or critical violation). Each page is also checked for horizontal scrolling at 390 px.

Set ``SCREENSHOT_DIR`` to keep the screenshots (the README's come from here:
``SCREENSHOT_DIR=docs/images``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from .browser import CHROMIUM, CHROMIUM_ARGS, browser_or_skip

pytestmark = [pytest.mark.req("#17", "§11", "§13"), pytest.mark.django_db(transaction=True)]

PASSWORD = "lantern orchard 7 violet quay"
PHONE = {"width": 390, "height": 844}
DRUGS = ("anakinra", "tocilizumab", "kineret", "actemra")


def trial_team(*people: tuple[str, str, list[str]]) -> dict[str, Any]:
    """The registration's sites and these users (name, role, sites), each with PASSWORD and no
    forced change; PostgreSQL only (the browser suites run once, there)."""
    if connection.vendor != "postgresql":
        pytest.skip("browser tests run on PostgreSQL only")
    from combat_norse.accounts.actions import do_add_user
    from combat_norse.accounts.models import PasswordState
    from combat_norse.sites.data import load_sites
    from combat_norse.sites.models import Site

    load_sites(Site)
    users = {}
    for name, role, sites in people:
        user = do_add_user(name, role, sites).user
        user.set_password(PASSWORD)
        user.save()
        users[name] = user
    PasswordState.objects.filter(user__in=users.values()).update(must_change=False)
    return users


@pytest.fixture
def world() -> dict[str, Any]:
    """Sites, the YNH team (coordinator, assessor), a statistician and a production list."""
    from combat_norse.allocation.actions import do_setup_list

    users = trial_team(("coord.ynh", "site_coordinator", ["YNH"]),
                       ("assessor.ynh", "outcome_assessor", ["YNH"]),
                       ("monitor.ynh", "monitor", ["YNH"]),
                       ("statistician", "statistician", []))  # fmt: skip
    do_setup_list(users["statistician"], design="permuted_blocks", seed=None,
                  environment="production", blocks_per_stratum=4)  # fmt: skip
    return users


def _session_cookie(user: Any, live_server: Any) -> dict[str, Any]:
    """A signed-in session with the second factor done (as after a correct TOTP code)."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device, _ = TOTPDevice.objects.get_or_create(user=user, name="phone", confirmed=True)
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return {"name": "sessionid", "value": client.cookies["sessionid"].value,
            "url": live_server.url}  # fmt: skip


def signed_in_page(context: Any, user: Any, live_server: Any, *cookies: dict[str, Any]) -> Any:
    """A new page of ``context`` signed in as ``user`` (with ``cookies`` besides), waiting at
    most 20 s for anything."""
    context.add_cookies([_session_cookie(user, live_server), *cookies])
    page = context.new_page()
    page.set_default_timeout(20_000)
    return page


# The elements whose removal narrows the page (margins count, which bounding boxes miss).
WIDER_THAN_VIEWPORT = """() => { const out = []; const d = document.documentElement;
  for (const e of document.querySelectorAll('body *')) {
    const old = e.style.display, before = d.scrollWidth;
    e.style.display = 'none'; const after = d.scrollWidth; e.style.display = old;
    if (after < before) out.push(e.tagName.toLowerCase() + '.' + e.className); }
  return out.slice(0, 8); }"""


class Checks:
    """axe-core and the 390-px width on every page reached; screenshots when asked."""

    def __init__(self, page: Any) -> None:
        from axe_playwright_python.sync_playwright import Axe

        self.page = page
        self.axe = Axe()
        self.problems: list[str] = []
        self.shots = os.environ.get("SCREENSHOT_DIR", "")

    def __call__(self, name: str) -> None:
        page = self.page
        page.wait_for_load_state("load")
        results = self.axe.run(page, options={"runOnly": ["wcag2a", "wcag2aa", "wcag21a",
                                                          "wcag21aa", "best-practice"]})
        for v in results.response["violations"]:
            if v.get("impact") in ("serious", "critical"):
                targets = [n["target"] for n in v["nodes"]][:3]
                self.problems.append(f"{name}: {v['id']} ({v['impact']}) {targets}")
        wide = page.evaluate("document.documentElement.scrollWidth")
        if wide > PHONE["width"]:
            culprits = page.evaluate(WIDER_THAN_VIEWPORT)
            self.problems.append(f"{name}: scrolls sideways ({wide} px wide at 390 px): "
                                 f"{culprits}")
        if self.shots:
            Path(self.shots).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(self.shots) / f"{name}.png"), full_page=True)

    def assert_clean(self) -> None:
        assert not self.problems, "\n".join(self.problems)


@pytest.fixture
def phone(live_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A chromium browser context with a phone's viewport."""
    sync_playwright = browser_or_skip()
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # ORM set-up in this thread
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser.new_context(viewport=PHONE, device_scale_factor=1)
        finally:
            browser.close()


def _local(hours_ago: float) -> str:
    moment = timezone.now() - timedelta(hours=hours_ago)
    return moment.astimezone(ZoneInfo("America/New_York")).strftime("%Y-%m-%dT%H:%M")


def test_coordinator_screens_consents_enrolls_and_randomizes_on_a_phone(
    world: dict[str, Any], live_server: Any, phone: Any
) -> None:
    page = signed_in_page(phone, world["coord.ynh"], live_server)
    check = Checks(page)
    page.goto(f"{live_server.url}/")
    check("1-home-due-work")
    assert page.is_visible("#identity") and "coord.ynh" in page.inner_text("#identity")
    page.goto(f"{live_server.url}/sites/YNH/screen/")
    check("2-screen-empty")
    page.fill("#id_date_of_birth", "1994-05-17")
    page.fill("#id_se_onset", _local(30))
    for name in ("usual_health_before_se-yes", "active_epilepsy-no",
                 "preexisting_neuro_disorder-no", "acute_cause_identified-no",
                 "systemic_illness-no", "hypersensitivity-no", "active_serious_infection-no",
                 "tnf_blocker-no", "gi_perforation_risk-no"):  # fmt: skip
        page.click(f"label[for={name}]")  # USWDS draws the label; the input is hidden
    page.fill("#id_failed_asm_count", "three")  # a typing slip: shown again, nothing lost
    page.select_option("#id_planned_therapy", "either")
    for name, value in (("anc_per_mm3", "5400"), ("platelets_per_mm3", "231000"),
                        ("alt_u_l", "38"), ("alt_uln_u_l", "40"), ("ast_u_l", "41"),
                        ("ast_uln_u_l", "35"), ("weight_kg", "72.5")):  # fmt: skip
        page.fill(f"#id_{name}", value)
    page.click("label[for=no_febrile_illness]")
    page.click("main button[type=submit]")
    page.wait_for_selector("#failed_asm_count-error")
    check("3-screen-error-kept")
    assert page.input_value("#id_weight_kg") == "72.5"
    page.fill("#id_failed_asm_count", "3")
    page.click("main button[type=submit]")
    page.wait_for_url("**/screening/YNH-S0001/")
    assert "Eligible for the randomized cohort" in page.inner_text("main")
    assert "Time left to randomize" in page.inner_text("#clock")
    check("4-screening-decision-and-clock")
    page.fill("#form_version", "2.0")
    page.click("form:has(input[value=consent]) button[type=submit]")
    page.wait_for_selector("text=Consent recorded")
    page.click("form:has(input[value=enroll]) button[type=submit]")
    page.wait_for_url("**/participants/YNH-001/")
    check("5-participant-before-randomization")
    page.click("text=Randomize now")
    page.wait_for_selector("#arm")
    arm = page.inner_text("#arm")
    assert "anakinra" in arm or "tocilizumab" in arm
    check("6-randomized")
    page.goto(f"{live_server.url}/participants/YNH-001/visits/baseline/forms/baseline/")
    check("7-baseline-form")
    page.goto(f"{live_server.url}/queries/")
    check("8-queries")
    check.assert_clean()


def test_an_assessor_signs_in_with_a_password_enters_an_mrs_and_never_sees_the_arm(
    world: dict[str, Any], live_server: Any, phone: Any
) -> None:
    from combat_norse.allocation.actions import do_randomize
    from combat_norse.participants.actions import do_assign_assessor

    coord, assessor = world["coord.ynh"], world["assessor.ynh"]
    participant = _enrolled(coord)
    do_randomize(coord, participant)
    do_assign_assessor(coord, participant, assessor)

    page = phone.new_page()
    page.set_default_timeout(20_000)
    check = Checks(page)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "assessor.ynh")
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")  # no second factor for a masked role
    check("a1-assessor-home")
    seen = [page.content()]
    page.click(f"text={participant.study_id}")
    page.wait_for_url(f"**/participants/{participant.study_id}/")
    check("a2-assessor-participant")
    seen.append(page.content())
    page.click("#visits a:has-text('mrs') >> nth=0")
    page.wait_for_selector("#form-entry")
    visit_url = page.url
    page.fill("#id_mrs", "3")
    page.fill("#id_assessed_on", timezone.localdate().isoformat())
    from django.contrib.sessions.models import Session

    Session.objects.all().delete()  # the session expires while the assessor types
    page.click("#form-entry button[type=submit]")
    page.wait_for_url("**/accounts/login/**")
    page.fill("input[name=username]", "assessor.ynh")
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_selector("text=Saved: version 1")  # the draft, submitted once after sign-in
    assert "You were signed out before your entries were saved" in page.inner_text("main")
    check("a3-assessor-mrs-saved")
    seen.append(page.content())
    for url in ("/participants/", "/queries/", "/me/"):
        page.goto(f"{live_server.url}{url}")
        check("a4-assessor" + url.strip("/").replace("/", "-"))
        seen.append(page.content())
    assert visit_url.endswith("/forms/mrs/")
    for content in seen:
        lowered = content.lower()
        assert not [d for d in DRUGS if d in lowered]
        assert 'id="arm"' not in lowered
    check.assert_clean()


def _enrolled(coord: Any) -> Any:
    from combat_norse.participants.actions import do_enroll, do_record_consent, do_screen
    from combat_norse.sites.models import Site

    record = {"date_of_birth": "1994-05-17", "usual_health_before_se": True,
              "failed_asm_count": 3, "active_epilepsy": False,
              "preexisting_neuro_disorder": False, "acute_cause_identified": False,
              "planned_therapy": "either", "systemic_illness": False, "hypersensitivity": False,
              "active_serious_infection": False, "tnf_blocker": False, "anc_per_mm3": 5400,
              "platelets_per_mm3": 231000, "alt_u_l": 38, "alt_uln_u_l": 40, "ast_u_l": 41,
              "ast_uln_u_l": 35, "gi_perforation_risk": False, "febrile_illness_onset": None,
              "se_onset": (timezone.now() - timedelta(hours=30)).isoformat()}  # fmt: skip
    entry, _ = do_screen(coord, Site.objects.get(code="YNH"), record)
    do_record_consent(coord, entry, signer="lar", form_version="2.0")
    return do_enroll(coord, entry)


def test_a_query_is_raised_answered_in_place_and_closed_in_the_browser(
    world: dict[str, Any], live_server: Any, phone: Any
) -> None:
    from combat_norse.crf.actions.forms import do_save_form

    coord, monitor = world["coord.ynh"], world["monitor.ynh"]
    participant = _enrolled(coord)
    do_save_form(coord, participant.study_id, "baseline", "baseline", {"weight_kg": 72.5})
    form_url = (f"{live_server.url}/participants/{participant.study_id}"
                "/visits/baseline/forms/baseline/")
    page = signed_in_page(phone, monitor, live_server)
    check = Checks(page)
    page.goto(form_url)
    page.select_option("#query-item", "weight_kg")
    page.fill("#query-text", "Please confirm the weight")
    page.click("text=Raise the query")
    page.wait_for_selector("text=is now open")
    check("q1-monitor-raised")
    card = page.locator("article.cn-query").first
    query_id = card.get_attribute("id")

    other = phone.browser.new_context(viewport=PHONE)
    site_page = signed_in_page(other, coord, live_server)
    site_page.goto(f"{live_server.url}/queries/")
    site_page.fill(f"#{query_id} textarea[name=text]", "Weighed again: 72.5 kg")
    site_page.click(f"#{query_id} button:has-text('Answer')")
    site_page.wait_for_selector(f"#{query_id} >> text=is now answered")  # swapped in place
    assert site_page.url.endswith("/queries/")
    site_check = Checks(site_page)
    site_check("q2-coordinator-answered")
    site_check.assert_clean()

    page.goto(f"{live_server.url}/queries/?status=answered")
    page.click(f"#{query_id} button:has-text('Close')")
    page.wait_for_selector(f"#{query_id} >> text=is now closed")
    check("q3-monitor-closed")
    check.assert_clean()
