"""The routes of the review, pharmacy, report and administration pages (issue 18: "endpoints
for every action a page offers, same refusals"): what each answers a user who may call it,
its paging and filters, bad and hostile input, and the refusals the pages give (audited).
Who may call each at all is the persona matrix's table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from tests.integration.api.conftest import Api
from tests.integration.api.world import World

from combat_norse.accounts.models import PasswordState
from combat_norse.audit.models import AuditEvent
from combat_norse.sites.models import Membership, Site

pytestmark = [pytest.mark.django_db, pytest.mark.req("§11", "§13", "§14", "#18")]

DRUGS = ("anakinra", "tocilizumab")


@pytest.fixture
def world(personas: Any, enroll: Callable[..., Any], production_list: Any) -> World:
    return World(personas, enroll)


def refused_reads(user: User) -> int:
    return AuditEvent.objects.filter(actor=user, action__endswith="_refused").count()


# ---------------------------------------------------------------- audit trail
def test_the_audit_trail_pages_filters_and_shows_the_forms_saved(world: World, api: Api) -> None:
    path = f"/participants/{world.p.study_id}/audit"
    status, trail = api.get("datamanager", path)
    assert status == 200 and trail["study_id"] == world.p.study_id and trail["zone"]
    actions = [e["action"] for e in trail["events"]]
    assert {"enroll", "randomize", "form_save"} <= set(actions)
    seqs = [e["seq"] for e in trail["events"]]
    assert seqs == sorted(seqs)  # oldest first
    assert int(api.last["X-Total-Count"]) == len(trail["events"])
    status, one = api.get("datamanager", path, limit=1, offset=1)
    assert status == 200 and one["events"] == trail["events"][1:2]
    status, saves = api.get("datamanager", path, action="form_save")
    assert saves["events"] and {e["action"] for e in saves["events"]} == {"form_save"}
    assert api.get("monitor", path)[0] == 200  # the site's monitor too


def test_a_long_audit_trail_is_whole_and_ends_with_the_newest_event(
    world: World, api: Api,
) -> None:  # fmt: skip
    """The trail stopped at the oldest 2000 events: a busy participant's newest changes (what a
    monitor comes to read) were missing, with nothing to say so."""
    from django.db import transaction

    from combat_norse.audit.api import record_event

    with transaction.atomic():
        for n in range(2001):
            record_event(actor=None, action="export", changes={"n": [None, n]},
                         site_code="YNH", participant_ref=world.p.study_id)  # fmt: skip
    newest = AuditEvent.objects.filter(participant_ref=world.p.study_id).order_by("-seq")[0]
    path = f"/participants/{world.p.study_id}/audit"
    status, last = api.get("datamanager", path, limit=1, offset=2050)
    total = int(api.last["X-Total-Count"])
    assert status == 200 and total > 2001
    status, last = api.get("datamanager", path, limit=1, offset=total - 1)
    assert status == 200 and [e["seq"] for e in last["events"]] == [newest.seq]


def test_a_masked_data_manager_reads_no_dose_in_the_audit_trail(world: World, api: Api) -> None:
    """A reader holding a masked role (here also a sponsor viewer) gets no arm-revealing event,
    item or word, though the same trail shows the dose to an unmasked reader."""
    path = f"/participants/{world.p.study_id}/audit"
    assert any(d in str(api.get("datamanager", path)[1]).lower() for d in DRUGS)
    Membership.objects.create(user=world.personas.datamanager, role="sponsor_viewer")
    status, trail = api.get("datamanager", path)
    assert status == 200 and trail["events"]
    assert not any(d in str(trail).lower() for d in DRUGS)


@pytest.mark.parametrize("study_id", ["ZZZ-999", "YNH-9999", "%27%20OR%201=1", "x" * 300,
                                      "..%2F..%2Fetc"])  # fmt: skip
def test_an_unknown_or_hostile_study_id_is_404(study_id: str, world: World, api: Api) -> None:
    status, body = api.get("datamanager", f"/participants/{study_id}/audit")
    assert (status, body["code"]) == (404, "not_found")
    assert body["field"] in ("study_id", "path")  # "../" leaves the route: an unknown path


def test_another_sites_monitor_is_refused_other_site_and_the_read_is_audited(
    world: World, api: Api,
) -> None:  # fmt: skip
    snu = User.objects.create_user("snumonitor")
    Membership.objects.create(user=snu, role="monitor", site=Site.objects.get(code="SNU"))
    before = refused_reads(snu)
    status, body = api.get("snumonitor", f"/participants/{world.p.study_id}/audit")
    assert (status, body["code"]) == (403, "other_site")
    assert refused_reads(snu) == before + 1


# ---------------------------------------------------------------- review worklist
def test_the_review_worklist_follows_a_form_from_sdv_to_lock_to_locked(
    world: World, api: Api,
) -> None:  # fmt: skip
    def stage(who: str, name: str) -> list[tuple[str, str, str]]:
        status, body = api.get(who, "/review/forms", stage=name)
        assert status == 200, body
        return [(r["study_id"], r["visit"], r["form"]) for r in body["forms"]]

    baseline = (world.p.study_id, "baseline", "baseline")
    assert baseline in stage("monitor", "sdv") and baseline in stage("datamanager", "sdv")
    assert baseline not in stage("datamanager", "lock")
    form = f"/participants/{world.p.study_id}/visits/baseline/forms/baseline"
    assert api.post("monitor", form + "/verify", {})[0] == 200
    assert baseline not in stage("monitor", "sdv") and baseline in stage("datamanager", "lock")
    assert api.post("datamanager", form + "/lock", {})[0] == 200
    assert baseline in stage("datamanager", "locked") and baseline not in stage("monitor", "lock")
    # filters: form, site (another site's list is empty), paging
    status, only = api.get("datamanager", "/review/forms", stage="locked", form="baseline")
    assert [r["form"] for r in only["forms"]] == ["baseline"]
    status, snu = api.get("datamanager", "/review/forms", stage="locked", site="SNU")
    assert (status, snu["forms"], api.last["X-Total-Count"]) == (200, [], "0")


def test_the_review_worklist_shows_a_masked_reviewer_no_dose_form(world: World, api: Api) -> None:
    rows = api.get("datamanager", "/review/forms", stage="sdv")[1]["forms"]
    assert "dose" in {r["form"] for r in rows}
    Membership.objects.create(user=world.personas.datamanager, role="sponsor_viewer")
    rows = api.get("datamanager", "/review/forms", stage="sdv")[1]["forms"]
    assert rows and "dose" not in {r["form"] for r in rows}


@pytest.mark.parametrize(("query", "status", "field"), [
    ({"stage": "verified"}, 422, "stage"), ({"stage": ""}, 422, "stage"),
    ({"stage": "sdv", "site": "ZZZ"}, 404, "site"), ({"stage": "sdv", "limit": 0}, 422, "limit"),
    ({"stage": "sdv", "offset": -1}, 422, "offset"), ({"bogus": "1"}, 200, None),
])  # fmt: skip
def test_review_worklist_bad_input(query: dict[str, Any], status: int, field: str | None,
                                   world: World, api: Api) -> None:  # fmt: skip
    got, body = api.call("get", "monitor", "/review/forms", query=query)
    assert got == status, body
    if status != 200:
        assert body["field"] == field


def test_a_site_coordinator_is_refused_the_worklist_and_the_read_is_audited(
    world: World, api: Api,
) -> None:  # fmt: skip
    before = refused_reads(world.personas.coord)
    status, body = api.get("coord", "/review/forms")
    assert (status, body["code"]) == (403, "role")
    assert refused_reads(world.personas.coord) == before + 1


# ---------------------------------------------------------------- pharmacy
def test_the_pharmacist_lists_allocations_and_records_a_held_dose_and_a_new_plan(
    world: World, api: Api,
) -> None:  # fmt: skip
    status, body = api.get("pharmacist", "/pharmacy/allocations")
    assert status == 200
    row = next(r for r in body["allocations"] if r["study_id"] == world.p.study_id)
    assert row["arm"] in DRUGS and row["code"] and row["randomized_at"] and row["zone"]
    assert api.get("pharmacist", "/pharmacy/allocations", site="SNU")[1]["allocations"] == []
    assert api.get("pharmacist", "/pharmacy/allocations", site="ZZZ")[0] == 404
    # the administration records: a held dose is a dose form saved through the API
    treatment = f"/participants/{world.p.study_id}/treatment"
    held_before = [d for d in api.get("pharmacist", treatment)[1]["doses"]
                   if d["administered"] == "held"]  # fmt: skip
    dose = {"drug": row["arm"], "administered": "held", "not_given_reason": "fever",
            "given_at": world.aware.isoformat()}  # fmt: skip
    status, saved = api.put("pharmacist",
                            f"/participants/{world.p.study_id}/visits/unscheduled/forms/dose",
                            {"values": dose})  # fmt: skip
    assert status == 200, saved
    held = [d for d in api.get("pharmacist", treatment)[1]["doses"] if d["administered"] == "held"]
    assert len(held) == len(held_before) + 1
    # the dose plan for a new weight
    status, plan = api.post("pharmacist", treatment + "/plan", {"weight_kg": 71, "reason": "w"})
    assert status == 200 and plan["weight_kg"] == 71, plan
    status, bad = api.post("pharmacist", treatment + "/plan", {"weight_kg": "heavy",
                                                              "reason": "w"})  # fmt: skip
    assert (status, bad["code"], bad["field"]) == (422, "bad_input", "weight_kg"), bad


def test_a_coordinator_is_refused_the_allocation_list(world: World, api: Api) -> None:
    before = refused_reads(world.personas.coord)
    status, body = api.get("coord", "/pharmacy/allocations")
    assert (status, body["code"]) == (403, "role")
    assert refused_reads(world.personas.coord) == before + 1


# ---------------------------------------------------------------- closed report
def test_the_closed_report_counts_the_allocations(world: World, api: Api) -> None:
    status, report = api.get("dsmb", "/reports/closed")
    assert status == 200
    assert sum(report["total"].values()) == sum(
        sum(by.values()) for by in report["by_site"].values()) >= 1
    assert set(report["total"]) <= set(DRUGS) and "marked_in_error" in report
    assert api.get("statistician", "/reports/closed")[1] == report


def test_the_closed_report_is_refused_to_the_sponsor_and_to_a_masked_statistician(
    world: World, api: Api,
) -> None:  # fmt: skip
    status, body = api.get("sponsor", "/reports/closed")
    assert (status, body["code"]) == (403, "role")
    assert AuditEvent.objects.filter(actor=world.personas.sponsor,
                                     action="closed_report_refused").exists()  # fmt: skip
    Membership.objects.create(user=world.personas.statistician, role="outcome_assessor",
                              site=Site.objects.get(code="YNH"))  # fmt: skip
    status, body = api.get("statistician", "/reports/closed")
    assert (status, body["code"]) == (403, "masked")
    assert not any(d in str(body).lower() for d in DRUGS)


# ---------------------------------------------------------------- administration
def test_the_administrator_lists_users_with_their_roles_and_no_secret(
    personas: Any, api: Api,
) -> None:  # fmt: skip
    status, body = api.get("sysadmin", "/admin/users")
    assert status == 200
    by_name = {u["username"]: u for u in body["users"]}
    assert {"coord", "sysadmin", "othercoord"} <= set(by_name)
    coord = by_name["coord"]["memberships"]
    assert [(m["role"], m["site"], m["active"]) for m in coord] == \
        [("site_coordinator", "YNH", True)]  # fmt: skip
    assert isinstance(coord[0]["id"], int)
    assert "password" not in str(body).lower() and "pbkdf2" not in str(body)
    monitors = api.get("sysadmin", "/admin/users", role="monitor")[1]["users"]
    assert [u["username"] for u in monitors] == ["monitor"]
    at_snu = api.get("sysadmin", "/admin/users", site="snu")[1]["users"]
    assert [u["username"] for u in at_snu] == ["othercoord"]
    assert api.get("sysadmin", "/admin/users", active=False)[1]["users"] == []
    page = api.get("sysadmin", "/admin/users", limit=2, offset=1)[1]["users"]
    assert page == body["users"][1:3] and api.last["X-Total-Count"] == str(len(body["users"]))


def test_the_administrator_grants_a_new_user_a_role_and_the_password_is_shown_once(
    personas: Any, api: Api,
) -> None:  # fmt: skip
    status, body = api.post("sysadmin", "/admin/grants", {
        "username": "newcoord", "role": "site_coordinator", "sites": ["YNH", "snu"],
        "email": "n@example.invalid"})  # fmt: skip
    assert status == 200, body
    assert (body["username"], body["role"], sorted(body["sites"])) == \
        ("newcoord", "site_coordinator", ["SNU", "YNH"])  # fmt: skip
    assert "no-store" in api.last["Cache-Control"]
    user = User.objects.get(username="newcoord")
    assert user.check_password(body["one_time_password"])
    assert PasswordState.objects.get(user=user).must_change
    event = AuditEvent.objects.get(action="user_create", object_id=str(user.pk))
    assert event.actor == personas.sysadmin
    assert body["one_time_password"] not in str(event.changes)
    status, again = api.post("sysadmin", "/admin/grants", {
        "username": "newcoord", "role": "monitor", "sites": ["YNH"]})  # fmt: skip
    assert status == 200 and again["one_time_password"] is None
    assert user.memberships.filter(role="monitor", active=True).exists()


@pytest.mark.parametrize(("body", "reason"), [
    ({"username": "sysadmin", "role": "site_coordinator", "sites": ["YNH"]}, "their own roles"),
    ({"username": "coord", "role": "statistician"}, "second person"),
    ({"username": "coord", "role": "data_manager"}, "second person"),
    ({"username": "coord", "role": "dsmb_member"}, "second person"),
    ({"username": "coord", "role": "admin"}, "second person"),
])  # fmt: skip
def test_a_grant_to_oneself_or_of_an_unmasked_central_role_is_refused_and_audited(
    body: dict[str, Any], reason: str, personas: Any, api: Api,
) -> None:  # fmt: skip
    roles = sorted(Membership.objects.values_list("user__username", "role", "active"))
    status, answer = api.post("sysadmin", "/admin/grants", body)
    assert (status, answer["code"]) == (403, "role") and reason in answer["detail"]
    assert sorted(Membership.objects.values_list("user__username", "role", "active")) == roles
    assert AuditEvent.objects.filter(action="role_grant_refused").exists()


@pytest.mark.parametrize(("body", "field"), [
    ({"username": "Bad Name!", "role": "site_coordinator", "sites": ["YNH"]}, "username"),
    ({"username": "x" * 500, "role": "site_coordinator", "sites": ["YNH"]}, "username"),
    ({"username": "fine", "role": "site_coordinator"}, "site"),
    ({"username": "fine", "role": "pharmacist", "sites": ["ZZZ"]}, "site"),
    ({"username": "fine", "role": "overlord"}, "role"),
    ({"username": "<script>x</script>", "role": "monitor", "sites": ["YNH"]}, "username"),
    ({"username": "fine", "role": "monitor", "sites": ["YNH"], "password": "x"}, "password"),
    ({"username": "fine", "role": "monitor", "sites": "YNH"}, "sites"),
    ({"role": "monitor", "sites": ["YNH"]}, "username"),
])  # fmt: skip
def test_a_malformed_grant_is_bad_input_and_creates_nobody(
    body: dict[str, Any], field: str, personas: Any, api: Api,
) -> None:  # fmt: skip
    before = (User.objects.count(), Membership.objects.count())
    status, answer = api.post("sysadmin", "/admin/grants", body)
    assert (status, answer["code"]) == (422, "bad_input"), answer
    assert field in (answer["field"] or answer["detail"]), answer
    assert "<script>" not in answer["detail"]
    assert (User.objects.count(), Membership.objects.count()) == before


def test_only_the_administrator_grants_or_withdraws(personas: Any, api: Api) -> None:
    membership = personas.monitor.memberships.get(role="monitor")
    for who in ("datamanager", "coord", "statistician"):
        status, body = api.post(who, "/admin/grants", {"username": "someone", "role": "monitor",
                                                       "sites": ["YNH"]})  # fmt: skip
        assert (status, body["code"]) == (403, "role")
        status, body = api.post(who, "/admin/revocations", {"membership": membership.pk})
        assert (status, body["code"]) == (403, "role")
    assert not User.objects.filter(username="someone").exists()
    membership.refresh_from_db()
    assert membership.active


def test_the_administrator_withdraws_a_role_but_not_their_own_nor_a_masking_one(
    personas: Any, api: Api,
) -> None:  # fmt: skip
    monitor = personas.monitor.memberships.get(role="monitor")
    status, body = api.post("sysadmin", "/admin/revocations", {"membership": monitor.pk})
    assert status == 200 and body == {"membership": monitor.pk, "username": "monitor",
                                      "role": "monitor", "site": "YNH", "active": False}
    monitor.refresh_from_db()
    assert not monitor.active
    assert AuditEvent.objects.filter(action="role_revoke", object_id=str(monitor.pk)).exists()
    # a second time: no longer active, bad input
    status, body = api.post("sysadmin", "/admin/revocations", {"membership": monitor.pk})
    assert (status, body["code"], body["field"]) == (422, "bad_input", "membership")
    # their own
    own = personas.sysadmin.memberships.get(role="admin")
    status, body = api.post("sysadmin", "/admin/revocations", {"membership": own.pk})
    assert (status, body["code"]) == (403, "role") and "their own roles" in body["detail"]
    own.refresh_from_db()
    assert own.active
    # the assessor's masked role while they hold an unmasked one: that would unmask them
    Membership.objects.create(user=personas.assessor, role="site_coordinator",
                              site=Site.objects.get(code="YNH"))  # fmt: skip
    masked = personas.assessor.memberships.get(role="outcome_assessor")
    status, body = api.post("sysadmin", "/admin/revocations", {"membership": masked.pk})
    assert (status, body["code"]) == (403, "role") and "unmask" in body["detail"]
    masked.refresh_from_db()
    assert masked.active
    assert AuditEvent.objects.filter(action="role_revoke_refused").count() == 2


@pytest.mark.parametrize("membership", ["", "abc", 0, -1, 99_999_999, 2**70, 1.5, None, [1]])
def test_a_bad_membership_is_bad_input(membership: Any, personas: Any, api: Api) -> None:
    active = Membership.objects.filter(active=True).count()
    status, body = api.post("sysadmin", "/admin/revocations", {"membership": membership})
    assert (status, body["code"], body["field"]) == (422, "bad_input", "membership"), body
    assert Membership.objects.filter(active=True).count() == active


# ---------------------------------------------------------------- one's own tokens
def test_a_user_lists_and_revokes_their_own_tokens_never_anothers(
    personas: Any, api: Api,
) -> None:  # fmt: skip
    from combat_norse.accounts.tokens import do_create_token

    spare = do_create_token(personas.coord, personas.coord)
    theirs = do_create_token(personas.monitor, personas.monitor)
    status, body = api.get("coord", "/me/tokens")
    assert status == 200
    prefixes = [t["prefix"] for t in body["tokens"]]
    assert spare.row.prefix in prefixes and theirs.row.prefix not in prefixes
    assert all(t["username"] == "coord" and "token" not in t for t in body["tokens"])
    assert spare.token not in str(body)
    # another user's token: unknown to this user, and left active
    status, body = api.post("coord", f"/me/tokens/{theirs.row.prefix}/revoke")
    assert (status, body["code"], body["field"]) == (404, "not_found", "prefix")
    assert api.call("get", None, "/me", token=theirs.token)[0] == 200
    # one's own: revoked (audited), then refused; a second revocation changes nothing
    status, body = api.post("coord", f"/me/tokens/{spare.row.prefix}/revoke")
    assert status == 200 and body["state"] == "revoked" and body["revoked_at"]
    assert AuditEvent.objects.filter(action="token_revoke", actor=personas.coord).count() == 1
    assert api.call("get", None, "/me", token=spare.token)[0] == 401
    assert api.post("coord", f"/me/tokens/{spare.row.prefix}/revoke")[1] == body
    assert AuditEvent.objects.filter(action="token_revoke", actor=personas.coord).count() == 1


def test_revoking_the_token_in_use_refuses_it_from_the_next_request(
    personas: Any, api: Api,
) -> None:  # fmt: skip
    token = api.token("coord")
    prefix = token.split("_")[1]
    assert api.post("coord", f"/me/tokens/{prefix}/revoke")[0] == 200
    status, body = api.get("coord", "/me")
    assert (status, body["code"]) == (401, "unauthorized")


@pytest.mark.parametrize("prefix", ["zzzzzzzz", "x" * 500, "%27%20OR%201=1", "cn_"])
def test_an_unknown_or_hostile_prefix_is_404(prefix: str, personas: Any, api: Api) -> None:
    status, body = api.post("coord", f"/me/tokens/{prefix}/revoke")
    assert (status, body["code"], body["field"]) == (404, "not_found", "prefix")
