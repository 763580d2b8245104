"""The statistician's list set-up, the DSMB's closed report, the administrator's pages with
the two-factor QR code, and a form in the reader's language, in a real browser (Debian's
chromium driven by Playwright, PostgreSQL only) at 390 px, with axe-core on every page: no
serious or critical violation, no sideways scrolling."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from .test_pages_in_browser import (
    Checks,
    _enrolled,
    _session_cookie,
    phone,
    signed_in_page,
    trial_team,
)

pytestmark = [pytest.mark.req("#17", "§11", "§14"), pytest.mark.django_db(transaction=True)]
__all__ = ["phone"]  # the phone-sized browser fixture, shared


@pytest.fixture
def people() -> dict[str, Any]:
    return trial_team(("coord.ynh", "site_coordinator", ["YNH"]),
                      ("statistician", "statistician", []),
                      ("dsmb", "dsmb_member", []), ("sysadmin", "admin", []))  # fmt: skip


def test_the_statistician_sets_up_a_list_and_the_dsmb_reads_the_closed_report(
    people: dict[str, Any], live_server: Any, phone: Any
) -> None:
    from combat_norse.allocation.actions import do_randomize

    page = signed_in_page(phone, people["statistician"], live_server)
    check = Checks(page)
    page.goto(f"{live_server.url}/randomization/setup/")
    check("s1-list-setup")
    page.click("label[for=design-permuted_blocks]")
    page.click("label[for=seed-random]")
    page.select_option("#id_environment", "production")
    page.fill("#id_blocks", "4")
    page.click("#setup-form button[type=submit]")
    page.wait_for_selector("#created")
    seed = page.inner_text("#seed")
    assert seed.isdigit() and int(seed) > 2**64
    check("s2-list-set-up-seed-shown-once")
    page.goto(f"{live_server.url}/randomization/")
    assert seed not in page.content()

    coord = people["coord.ynh"]
    for _ in range(2):
        do_randomize(coord, _enrolled(coord))
    dsmb = phone.browser.new_context(viewport={"width": 390, "height": 844})
    page = signed_in_page(dsmb, people["dsmb"], live_server)
    check_dsmb = Checks(page)
    page.goto(f"{live_server.url}/")
    page.click(".usa-menu-btn")  # the navigation folds into a menu at 390 px
    page.click("nav >> text=Closed report")
    page.wait_for_selector("#closed-total")
    assert "Randomized: 2" in page.inner_text("#closed-total")
    assert "YNH" in page.inner_text("#by-site")
    check_dsmb("d1-closed-report")
    page.goto(f"{live_server.url}/enrollment/")
    check_dsmb("d2-enrollment-blinded")
    check.assert_clean()
    check_dsmb.assert_clean()


def test_the_administrator_scans_the_qr_code_and_manages_users_and_sites(
    people: dict[str, Any], live_server: Any, phone: Any
) -> None:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    admin = people["sysadmin"]
    client = Client()
    client.force_login(admin)  # password done, no authenticator yet
    phone.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                        "url": live_server.url}])  # fmt: skip
    page = phone.new_page()
    page.set_default_timeout(20_000)
    check = Checks(page)
    page.goto(f"{live_server.url}/")
    page.wait_for_url("**/accounts/2fa/setup/**")
    assert page.is_visible("#qr svg")
    box = page.locator("#qr svg").bounding_box()
    assert box and box["width"] >= 100  # big enough for a phone's camera
    device = TOTPDevice.objects.get(user=admin, confirmed=False)
    assert page.inner_text("#config-url") == device.config_url
    check("t1-two-factor-qr")

    phone.clear_cookies()
    phone.add_cookies([_session_cookie(admin, live_server)])
    page.goto(f"{live_server.url}/administration/users/")
    check("t2-admin-users")
    page.fill("#id_username", "pharma.ynh")
    page.select_option("#id_role", "pharmacist")
    page.select_option("#id_site", ["YNH"])
    page.click("#grant-form button[type=submit]")
    page.wait_for_selector("#one-time-password")
    assert "pharma.ynh" in page.inner_text("#accounts")
    check("t3-admin-user-added")
    page.fill("#id_username", "sysadmin")
    page.select_option("#id_role", "monitor")
    page.select_option("#id_site", ["YNH"])
    page.click("#grant-form button[type=submit]")
    page.wait_for_selector("#problem")
    assert "own roles" in page.inner_text("#problem")
    check("t4-admin-refused")
    page.goto(f"{live_server.url}/administration/sites/")
    assert page.locator("#sites tbody tr").count() == 33
    check("t5-admin-sites")
    check.assert_clean()


def test_the_interview_form_speaks_the_readers_language(
    people: dict[str, Any], live_server: Any, phone: Any
) -> None:
    participant = _enrolled(people["coord.ynh"])
    page = signed_in_page(phone, people["coord.ynh"], live_server,
                          {"name": "django_language", "value": "fr", "url": live_server.url})
    check = Checks(page)
    page.goto(f"{live_server.url}/participants/{participant.study_id}/visits/interview/forms/"
              "interview/")  # fmt: skip
    assert page.inner_text("#form-title") == "Entretien facultatif"
    assert page.inner_text("label[for=id_interviewed_on]").startswith("Date de l'entretien")
    assert "à tout moment" in page.inner_text("#form-notice")
    assert page.get_attribute("html", "lang") == "fr"
    check("l1-interview-in-french")
    check.assert_clean()
