"""The statistician's list set-up page, the closed (by-arm) report, the system administrator's
pages, the two-factor QR code and participant-facing words in the reader's language (issue 17):
each page calls the same ``access_*``/``do_*`` as the command line, with its refusals."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils.html import strip_tags

from combat_norse.allocation.actions import do_randomize
from combat_norse.allocation.models import RandomizationList
from combat_norse.audit.models import AuditEvent
from combat_norse.sites.models import Membership

pytestmark = [pytest.mark.django_db, pytest.mark.req("#17", "§11")]

DRUGS = ("anakinra", "tocilizumab")


def words(response: Any) -> str:
    return re.sub(r"\s+", " ", unescape(strip_tags(response.content.decode())))


# ------------------------------------------------------------------ statistician: list set-up
def test_the_statistician_sets_up_a_test_list_and_sees_its_seed_once(
    personas: Any, browser_for: Callable[..., Client],
) -> None:  # fmt: skip
    page = browser_for(personas.statistician)
    assert "Generate the list" in words(page.get("/randomization/setup/"))
    answer = page.post("/randomization/setup/", {
        "design": "permuted_blocks", "environment": "test", "seed_kind": "number",
        "seed": "20261130", "blocks_per_stratum": "5"})  # fmt: skip
    assert answer.status_code == 200
    made = RandomizationList.unscoped.get(environment="test", active=True)
    assert int(made.seed) == 20261130 and made.design == "permuted_blocks"
    assert re.search(rf"List {made.pk} \(test\) is set up", words(answer))
    assert '<code id="seed">20261130</code>' in answer.content.decode()
    assert "no-store" in answer["Cache-Control"]  # the seed is not kept by a browser cache
    # shown once: no later page of hers carries it
    assert "20261130" not in page.get("/randomization/").content.decode()
    assert "20261130" not in page.get("/randomization/setup/").content.decode()


def test_a_production_list_gets_a_random_seed_and_a_chosen_number_is_refused(
    personas: Any, browser_for: Callable[..., Client],
) -> None:  # fmt: skip
    page = browser_for(personas.statistician)
    refused = page.post("/randomization/setup/", {
        "design": "minimization", "environment": "production", "seed_kind": "number",
        "seed": "42", "blocks_per_stratum": "60"})  # fmt: skip
    assert refused.status_code == 400
    assert "seed" in words(refused) and "--seed random" in words(refused)
    assert not RandomizationList.unscoped.filter(environment="production").exists()
    # what was typed is shown again
    assert 'value="42"' in refused.content.decode()
    made = page.post("/randomization/setup/", {
        "design": "minimization", "environment": "production", "seed_kind": "random",
        "blocks_per_stratum": "60"})  # fmt: skip
    assert made.status_code == 200
    shown = re.search(r'<code id="seed">(\d+)</code>', made.content.decode())
    rlist = RandomizationList.unscoped.get(environment="production", active=True)
    assert shown and int(shown.group(1)) == int(rlist.seed) and int(rlist.seed).bit_length() > 64
    again = page.post("/randomization/setup/", {
        "design": "permuted_blocks", "environment": "production", "seed_kind": "random",
        "blocks_per_stratum": "60"})  # fmt: skip
    assert again.status_code == 409 and "retire it first" in words(again)
    assert RandomizationList.unscoped.filter(environment="production").count() == 1


@pytest.mark.parametrize("posted", [
    {"design": "permuted_blocks", "seed_kind": "number", "seed": "-1"},
    {"design": "permuted_blocks", "seed_kind": "number", "seed": "1" * 60},
    {"design": "permuted_blocks", "seed_kind": "number", "seed": str(2**128)},
    {"design": "permuted_blocks", "seed_kind": "number", "seed": "12e3"},
    {"design": "latin_square", "seed_kind": "random"},
    {"design": "permuted_blocks", "seed_kind": "guess"},
    {"design": "permuted_blocks", "seed_kind": "random", "blocks_per_stratum": "0"},
    {"design": "permuted_blocks", "seed_kind": "random", "environment": "staging"},
    {"design": "<script>alert(1)</script>", "seed_kind": "random"},
])  # fmt: skip
def test_malformed_set_up_entries_are_refused_and_nothing_is_generated(
    posted: dict[str, str], personas: Any, browser_for: Callable[..., Client],
) -> None:  # fmt: skip
    posted = {"environment": "test", "blocks_per_stratum": "5", **posted}
    answer = browser_for(personas.statistician).post("/randomization/setup/", posted)
    assert answer.status_code == 400
    assert "<script>alert" not in answer.content.decode()
    assert not RandomizationList.unscoped.exists()


def test_only_the_statistician_reaches_the_set_up_page(
    personas: Any, browser_for: Callable[..., Client],
) -> None:  # fmt: skip
    for user in (personas.coord, personas.dsmb, personas.sysadmin, personas.datamanager):
        answer = browser_for(user).post("/randomization/setup/", {
            "design": "permuted_blocks", "environment": "test", "seed_kind": "number",
            "seed": "1"})  # fmt: skip
        assert answer.status_code == 403
    assert not RandomizationList.unscoped.exists()
    assert AuditEvent.objects.filter(action="randomization_setup").count() == 0


def test_a_statistician_who_also_holds_a_masked_role_is_refused_masked(
    personas: Any, browser_for: Callable[..., Client],
) -> None:  # fmt: skip
    Membership.objects.create(user=personas.statistician, role="sponsor_viewer")
    answer = browser_for(personas.statistician).post("/randomization/setup/", {
        "design": "permuted_blocks", "environment": "test", "seed_kind": "random"})  # fmt: skip
    assert answer.status_code == 403
    assert not RandomizationList.unscoped.exists()


# ------------------------------------------------------------------ closed report (by arm)
def _randomized(personas: Any, enroll: Callable[..., Any], n: int) -> list[Any]:
    out = []
    for i in range(n):
        p = enroll(site="YNH" if i % 2 == 0 else "SNU")
        out.append(do_randomize(personas.coord if i % 2 == 0 else personas.othercoord, p))
    return out


@pytest.mark.req("§11")
def test_the_dsmb_and_the_statistician_read_allocations_by_arm_and_site(
    personas: Any, enroll: Callable[..., Any], production_list: Any,
    browser_for: Callable[..., Client],
) -> None:  # fmt: skip
    allocations = _randomized(personas, enroll, 4)
    by_arm = {arm: sum(1 for a in allocations if a.arm == arm) for arm in DRUGS}
    for reader in (personas.dsmb, personas.statistician):
        answer = browser_for(reader).get("/reports/closed/")
        assert answer.status_code == 200
        page = words(answer)
        assert (f"Randomized: 4 (anakinra {by_arm['anakinra']} · "
                f"tocilizumab {by_arm['tocilizumab']})") in page  # fmt: skip
        assert "YNH" in page and "SNU" in page
        # aggregates only: no participant and nothing about the list's next rows
        assert not [a.participant.study_id for a in allocations
                    if a.participant.study_id in page]  # fmt: skip
        assert "stratum" not in page.lower() and "block" not in page.lower()
    assert "Closed report" in words(browser_for(personas.dsmb).get("/"))


@pytest.mark.req("§11")
def test_the_sponsor_viewer_sites_and_masked_readers_never_get_the_closed_report(
    personas: Any, enroll: Callable[..., Any], production_list: Any,
    browser_for: Callable[..., Client],
) -> None:  # fmt: skip
    _randomized(personas, enroll, 2)
    for reader in (personas.sponsor, personas.coord, personas.assessor, personas.pharmacist,
                   personas.monitor, personas.datamanager, personas.sysadmin):  # fmt: skip
        client = browser_for(reader)
        assert client.get("/reports/closed/").status_code == 403
        assert "Closed report" not in words(client.get("/"))
    # a DSMB member who is also a sponsor viewer (a masked role) is refused, audited
    Membership.objects.create(user=personas.dsmb, role="sponsor_viewer")
    refused = browser_for(personas.dsmb).get("/reports/closed/")
    assert refused.status_code == 403
    assert not [d for d in DRUGS if d in words(refused).lower()]
    assert AuditEvent.objects.filter(action="closed_report_refused",
                                     actor=personas.dsmb).exists()  # fmt: skip


# ------------------------------------------------------------------ system administrator
def test_the_administrator_lists_accounts_and_sites_and_no_participant_data(
    personas: Any, enroll: Callable[..., Any], browser_for: Callable[..., Client],
) -> None:  # fmt: skip
    participant = enroll()
    admin = browser_for(personas.sysadmin)
    users = admin.get("/administration/users/")
    assert users.status_code == 200
    page = words(users)
    for name in ("coord", "statistician", "othercoord", "assessor"):
        assert name in page
    assert "outcome_assessor · YNH" in page and "statistician · all sites" in page
    assert participant.study_id not in page
    sites = words(admin.get("/administration/sites/"))
    assert "YNH" in sites and "America/New_York" in sites and "SNU" in sites
    assert participant.study_id not in sites
    assert admin.get(f"/participants/{participant.study_id}/").status_code == 403
    for other in (personas.coord, personas.statistician, personas.dsmb):
        assert browser_for(other).get("/administration/users/").status_code == 403
        assert browser_for(other).get("/administration/sites/").status_code == 403


def test_the_administrator_adds_a_coordinator_with_a_one_time_password_shown_once(
    personas: Any, browser_for: Callable[..., Client],
) -> None:  # fmt: skip
    from combat_norse.accounts.models import PasswordState

    admin = browser_for(personas.sysadmin)
    answer = admin.post("/administration/users/", {"action": "grant", "username": "newcoord",
                        "role": "site_coordinator", "site": ["YNH", "snu"],
                        "email": "n@example.invalid"})  # fmt: skip
    assert answer.status_code == 200
    assert "no-store" in answer["Cache-Control"]
    shown = re.search(r'<code id="one-time-password">([^<]+)</code>', answer.content.decode())
    user = User.objects.get(username="newcoord")
    assert shown and user.check_password(unescape(shown.group(1)))
    assert PasswordState.objects.get(user=user).must_change
    assert sorted(Membership.objects.filter(user=user).values_list("site__code", flat=True)) \
        == ["SNU", "YNH"]  # fmt: skip
    event = AuditEvent.objects.filter(action="user_create", object_id=str(user.pk)).get()
    assert event.actor == personas.sysadmin
    assert shown.group(1) not in str(event.changes)  # the password is never audited
    assert "one-time-password" not in admin.get("/administration/users/").content.decode()
    # a second grant adds the role, the password stays
    again = admin.post("/administration/users/", {"action": "grant", "username": "newcoord",
                       "role": "monitor", "site": ["YNH"]})  # fmt: skip
    assert "password left alone" in words(again)
    assert user.memberships.filter(role="monitor", active=True).exists()


@pytest.mark.parametrize("role", ["statistician", "data_manager", "dsmb_member", "admin"])
def test_the_administrator_cannot_grant_an_unmasked_central_role_from_the_pages(
    role: str, personas: Any, browser_for: Callable[..., Client],
) -> None:  # fmt: skip
    answer = browser_for(personas.sysadmin).post("/administration/users/", {
        "action": "grant", "username": "coord", "role": role})  # fmt: skip
    assert answer.status_code == 403
    assert "second person" in words(answer)
    assert not personas.coord.memberships.filter(role=role).exists()
    assert AuditEvent.objects.filter(action="role_grant_refused").exists()


def test_the_administrator_cannot_grant_themselves_any_role(
    personas: Any, browser_for: Callable[..., Client],
) -> None:  # fmt: skip
    answer = browser_for(personas.sysadmin).post("/administration/users/", {
        "action": "grant", "username": "sysadmin", "role": "site_coordinator",
        "site": ["YNH"]})  # fmt: skip
    assert answer.status_code == 403 and "their own roles" in words(answer)
    assert list(personas.sysadmin.memberships.values_list("role", flat=True)) == ["admin"]


@pytest.mark.parametrize("posted", [
    {"username": "Bad Name!", "role": "site_coordinator", "site": ["YNH"]},
    {"username": "x" * 500, "role": "site_coordinator", "site": ["YNH"]},
    {"username": "fine", "role": "site_coordinator"},
    {"username": "fine", "role": "pharmacist", "site": ["ZZZ"]},
    {"username": "fine", "role": "overlord"},
    {"username": "<script>x</script>", "role": "monitor", "site": ["YNH"]},
])  # fmt: skip
def test_malformed_grants_are_bad_input_and_create_nobody(
    posted: dict[str, Any], personas: Any, browser_for: Callable[..., Client],
) -> None:  # fmt: skip
    before = User.objects.count()
    answer = browser_for(personas.sysadmin).post("/administration/users/",
                                                 {"action": "grant", **posted})  # fmt: skip
    assert answer.status_code == 400
    assert "<script>x" not in answer.content.decode()
    assert User.objects.count() == before


def test_the_administrator_withdraws_a_role_but_not_their_own_nor_a_masking_one(
    personas: Any, browser_for: Callable[..., Client],
) -> None:  # fmt: skip
    admin = browser_for(personas.sysadmin)
    monitor = personas.monitor.memberships.get(role="monitor")
    answer = admin.post("/administration/users/", {"action": "revoke",
                                                   "membership": str(monitor.pk)})  # fmt: skip
    assert answer.status_code == 200 and "withdrawn" in words(answer)
    monitor.refresh_from_db()
    assert not monitor.active
    assert AuditEvent.objects.filter(action="role_revoke", object_id=str(monitor.pk)).exists()
    # their own
    own = personas.sysadmin.memberships.get(role="admin")
    assert admin.post("/administration/users/", {"action": "revoke",
                      "membership": str(own.pk)}).status_code == 403  # fmt: skip
    own.refresh_from_db()
    assert own.active
    # the assessor's masked role while they hold an unmasked one: that would unmask them
    Membership.objects.create(user=personas.assessor, role="site_coordinator",
                              site=personas.coord.memberships.get().site)  # fmt: skip
    masked = personas.assessor.memberships.get(role="outcome_assessor")
    refused = admin.post("/administration/users/", {"action": "revoke",
                         "membership": str(masked.pk)})  # fmt: skip
    assert refused.status_code == 403 and "unmask" in words(refused)
    masked.refresh_from_db()
    assert masked.active
    for bad in ("", "abc", "99999999", "1" * 40):
        assert admin.post("/administration/users/", {"action": "revoke",
                          "membership": bad}).status_code == 400  # fmt: skip
    assert admin.post("/administration/users/", {"action": "erase"}).status_code == 400


# ------------------------------------------------------------------ two-factor set-up
def test_the_two_factor_set_up_page_shows_a_qr_code_of_the_devices_uri(
    personas: Any,
) -> None:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = Client()
    client.force_login(personas.sysadmin)  # no authenticator yet: held at the set-up page
    assert client.get("/").status_code == 302
    answer = client.get("/accounts/2fa/setup/")
    assert answer.status_code == 200
    device = TOTPDevice.objects.get(user=personas.sysadmin, confirmed=False)
    body = answer.content.decode()
    shown = re.search(r'<code id="config-url">([^<]+)</code>', body)
    assert shown and unescape(shown.group(1)) == device.config_url
    assert device.config_url.startswith("otpauth://totp/")
    figure = re.search(r'<figure class="cn-qr-figure" id="qr">(.*?)</figure>', body, re.S)
    assert figure and "<svg" in figure.group(1) and 'role="img"' in figure.group(1)
    # the same device (and so the same QR) on a reload, until it is confirmed
    again = client.get("/accounts/2fa/setup/").content.decode()
    assert unescape(re.findall(r'<code id="config-url">([^<]+)</code>', again)[0]) \
        == device.config_url  # fmt: skip


def test_the_qr_code_encodes_the_uri_given_to_it() -> None:
    """segno's own reading of the matrix: the same URI gives the same SVG, another one not."""
    from combat_norse.accounts.views import qr_svg

    uri = "otpauth://totp/COMBAT-NORSE:alice?secret=JBSWY3DPEHPK3PXP&issuer=COMBAT-NORSE"
    assert qr_svg(uri) == qr_svg(uri)
    assert qr_svg(uri) != qr_svg(uri.replace("alice", "bob"))
    assert str(qr_svg(uri)).startswith("<svg") and "<script" not in str(qr_svg(uri + "<script>"))


# ------------------------------------------------------------------ participant-facing words
@pytest.mark.req("§14")
@pytest.mark.parametrize("language, title, label", [
    ("en", "Optional interview", "Interview date"),
    ("fr", "Entretien facultatif", "Date de l'entretien"),
    ("it", "Intervista facoltativa", "Data dell'intervista"),
    ("ko", "선택 면담", "면담 날짜"),
    ("sv", "Frivillig intervju", "Intervjudatum"),
])  # fmt: skip
def test_the_interview_form_shows_its_words_in_the_readers_language(
    language: str, title: str, label: str, personas: Any, enroll: Callable[..., Any],
    browser_for: Callable[..., Client],
) -> None:  # fmt: skip
    participant = enroll()
    client = browser_for(personas.coord)
    client.post("/language/", {"language": language, "next": "/"})
    answer = client.get(f"/participants/{participant.study_id}/visits/interview/forms/interview/")
    assert answer.status_code == 200
    page = words(answer)
    assert title in page and label in page
    assert f'<label class="usa-label" for="id_interviewed_on">{label}' in unescape(
        answer.content.decode())  # fmt: skip
    if language != "en":
        assert "Interview date" not in page
    # what is saved keeps the item codes, whatever the language of the page
    assert 'name="interviewed_on"' in answer.content.decode()


def test_a_form_without_translations_falls_back_to_english(
    personas: Any, enroll: Callable[..., Any], browser_for: Callable[..., Client],
) -> None:  # fmt: skip
    participant = enroll()
    client = browser_for(personas.coord)
    client.post("/language/", {"language": "ko", "next": "/"})
    page = words(client.get(f"/participants/{participant.study_id}/visits/baseline/forms/"
                            "baseline/"))  # fmt: skip
    assert "Weight" in page


def test_the_data_dictionary_lists_the_languages_and_keeps_english_labels() -> None:
    from combat_norse.crf import catalog
    from combat_norse.crf.presenters import present_forms
    from combat_norse.sites.access import Scope

    reader = Scope(user_id=0, username="reader")
    full = {f["code"]: f for f in present_forms(reader, full=True)["forms"]}
    assert full["interview"]["languages"] == ["en", "fr", "it", "ko", "sv"]
    assert full["mrs"]["languages"] == ["en"]
    assert full["interview"]["items"][0]["label"] == "Interview date"
    short = present_forms(reader)["forms"]
    assert all("languages" not in f for f in short)
    # a translation is words, not definition: the sealed fingerprint does not move
    interview = catalog.form("interview")
    assert "labels" not in str(interview.as_json()) and "Entretien" not in str(
        interview.as_json())  # fmt: skip
