"""A real browser (Debian's chromium, driven by Playwright) signs the system administrator in
through the password and TOTP pages and finds the 33 sites in the admin."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]  # fmt: skip

pytestmark = [pytest.mark.req("#2", "#3"), pytest.mark.django_db(transaction=True)]


def _browser_or_skip() -> Any:
    """Playwright's sync API; skipped without a browser unless REQUIRE_BROWSER=1 (CI)."""
    required = os.environ.get("REQUIRE_BROWSER") == "1"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if required:
            raise
        pytest.skip("playwright is not installed")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        if required:
            pytest.fail(f"REQUIRE_BROWSER=1 but {CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} is not installed")
    return sync_playwright


def test_administrator_signs_in_with_totp_and_sees_the_33_sites(
    live_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from combat_norse.accounts.actions import do_add_user
    from combat_norse.accounts.models import PasswordState

    sync_playwright = _browser_or_skip()
    user = do_add_user("sysadmin", "admin").user
    user.set_password("lantern orchard 7 violet quay")
    user.save()
    PasswordState.objects.filter(user=user).update(must_change=False)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    key, step, digits = device.bin_key, device.step, device.digits
    # Playwright's sync API runs an event loop in this thread; the ORM work is done above and
    # the live server answers from its own thread.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{live_server.url}/admin/trial_sites/site/")
            assert "/accounts/login/" in page.url
            page.fill("input[name=username]", "sysadmin")
            page.fill("input[name=password]", "lantern orchard 7 violet quay")
            page.click("main button[type=submit]")
            page.wait_for_url("**/accounts/2fa/verify/**")
            page.fill("input[name=token]", _code(key, step, digits))
            page.click("main button[type=submit]")
            page.wait_for_load_state()
            landed = page.url
            assert landed.endswith("/admin/trial_sites/site/"), (landed, page.inner_text("body"))
            page.screenshot(path=str(tmp_path / "admin-sites.png"), full_page=True)
            body = page.inner_text("body")
            assert "33 sites" in body
            assert "Seoul National University Hospital" in body
            assert "Great Ormond Street Hospital" in body
        finally:
            browser.close()


def _code(key: bytes, step: int, digits: int) -> str:
    from django_otp.oath import TOTP

    totp = TOTP(key, step=step, digits=digits)
    return f"{totp.token():0{digits}d}"
