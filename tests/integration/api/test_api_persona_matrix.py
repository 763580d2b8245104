"""The API persona matrix (issue 18): every route of the OpenAPI schema, called as every role
of §11 at its own site (YNH) and, for the site roles, as a user holding the role at another
site (SNU), against the objects of :class:`~tests.integration.api.world.World` (all at YNH).
Each cell answers what :data:`TABLE` says: ``ok`` (200), or 403 with that ``code`` (``role``,
``masked``, ``other_site``), or 401/404/409/422 with its code.

The table pins the answers the pages and the command line give (the API calls the same
``access_*``/``do_*``; tests/integration/crf and safety's command matrices read their tables
from PROTOCOL.md §11/§14), in particular:
- a record of another site is ``other_site`` (403) before any role check; lists are only
  filtered for the other site (ok, without the record);
- the outcome assessor never reaches an arm-revealing route (``masked``) and is refused
  ``role`` for what is not theirs; the aggregate-only roles and the administrator get no
  participant data (``role``);
- only the statistician reaches the randomization list's routes;
- the pages' own routes answer as the pages do: the audit trail for the data manager and the
  site's monitor, the review worklist and the missing forms for the monitor (any site: a list)
  and the data manager, the allocation list for the pharmacist, the closed report for the DSMB
  member and the statistician (§11), users and roles for the administrator; one's own tokens
  for everyone.
A route added to the API without a row here (and a request in world.REQUESTS) fails
:func:`test_every_route_of_the_schema_has_a_request_and_a_row`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from tests.integration.api.conftest import Api
from tests.integration.api.world import REQUESTS, World, schema_routes
from tests.integration.crf.test_command_persona_matrix import DRUGS, subject_user

from combat_norse.sites.roles import SITE_ROLES, Role, is_masked

pytestmark = [pytest.mark.django_db, pytest.mark.req("§11", "§13", "#18")]

# Columns: the ten roles at YNH, then the site roles held at SNU only.
TABLE = """
method path                                                        site_coordinator@YNH site_investigator@YNH pharmacist@YNH outcome_assessor@YNH data_manager@YNH monitor@YNH statistician@YNH dsmb_member@YNH sponsor_viewer@YNH admin@YNH monitor@SNU outcome_assessor@SNU pharmacist@SNU site_coordinator@SNU site_investigator@SNU
GET    /admin/users                                                role                 role                  role           role                 role             role        role             role            role               ok        role        role                 role           role                 role
POST   /admin/grants                                               role                 role                  role           role                 role             role        role             role            role               ok        role        role                 role           role                 role
POST   /admin/revocations                                          role                 role                  role           role                 role             role        role             role            role               ok        role        role                 role           role                 role
GET    /due                                                        ok                   ok                    ok             ok                   ok               ok          ok               ok              ok                 ok        ok          ok                   ok             ok                   ok
GET    /forms                                                      ok                   ok                    ok             ok                   ok               ok          ok               ok              ok                 ok        ok          ok                   ok             ok                   ok
GET    /me                                                         ok                   ok                    ok             ok                   ok               ok          ok               ok              ok                 ok        ok          ok                   ok             ok                   ok
GET    /me/tokens                                                  ok                   ok                    ok             ok                   ok               ok          ok               ok              ok                 ok        ok          ok                   ok             ok                   ok
POST   /me/tokens/{prefix}/revoke                                  ok                   ok                    ok             ok                   ok               ok          ok               ok              ok                 ok        ok          ok                   ok             ok                   ok
GET    /missing                                                    role                 role                  role           role                 ok               ok          role             role            role               role      ok          role                 role           role                 role
GET    /participants                                               ok                   ok                    ok             ok                   ok               ok          ok               ok              ok                 ok        ok          ok                   ok             ok                   ok
GET    /participants/{study_id}                                    ok                   ok                    ok             ok                   ok               ok          ok               role            role               role      other_site  other_site           other_site     other_site           other_site
GET    /participants/{study_id}/alerts                             ok                   ok                    ok             masked               ok               ok          role             role            role               role      other_site  other_site           other_site     other_site           other_site
GET    /participants/{study_id}/audit                              role                 role                  role           role                 ok               ok          role             role            role               role      other_site  other_site           other_site     other_site           other_site
POST   /participants/{study_id}/allocation/error                   role                 role                  role           role                 role             role        ok               role            role               role      role        role                 role           role                 role
POST   /participants/{study_id}/assessor                           ok                   ok                    role           role                 ok               role        role             role            role               role      other_site  other_site           other_site     other_site           other_site
POST   /participants/{study_id}/follow-up-end                      ok                   ok                    role           role                 ok               role        role             role            role               role      other_site  other_site           other_site     other_site           other_site
GET    /participants/{study_id}/grades                             ok                   ok                    ok             ok                   ok               ok          ok               role            role               role      other_site  other_site           other_site     other_site           other_site
POST   /participants/{study_id}/onset                              role                 role                  role           role                 ok               role        role             role            role               role      other_site  other_site           other_site     other_site           other_site
POST   /participants/{study_id}/randomize                          ok                   ok                    role           role                 role             role        role             role            role               role      other_site  other_site           other_site     other_site           other_site
GET    /participants/{study_id}/signatures                         ok                   ok                    ok             ok                   ok               ok          ok               role            role               role      other_site  other_site           other_site     other_site           other_site
POST   /participants/{study_id}/signatures                         role                 ok                    role           role                 role             role        role             role            role               role      other_site  other_site           other_site     other_site           other_site
GET    /participants/{study_id}/treatment                          ok                   ok                    ok             masked               ok               ok          role             role            role               role      other_site  other_site           other_site     other_site           other_site
POST   /participants/{study_id}/treatment/plan                     ok                   ok                    ok             role                 role             role        role             role            role               role      other_site  other_site           other_site     other_site           other_site
POST   /participants/{study_id}/unmask                             role                 role                  role           ok                   role             role        role             role            role               role      other_site  other_site           other_site     other_site           other_site
POST   /participants/{study_id}/unmaskings                         ok                   ok                    role           ok                   ok               role        role             role            role               role      other_site  other_site           other_site     other_site           other_site
GET    /participants/{study_id}/visits                             ok                   ok                    ok             ok                   ok               ok          ok               role            role               role      other_site  other_site           other_site     other_site           other_site
GET    /participants/{study_id}/visits/{visit}/forms/{form}        ok                   ok                    ok             ok                   ok               ok          ok               role            role               role      other_site  other_site           other_site     other_site           other_site
PUT    /participants/{study_id}/visits/{visit}/forms/{form}        ok                   ok                    role           role                 ok               role        role             role            role               role      other_site  other_site           other_site     other_site           other_site
POST   /participants/{study_id}/visits/{visit}/forms/{form}/lock   role                 role                  role           role                 ok               role        role             role            role               role      other_site  other_site           other_site     other_site           other_site
POST   /participants/{study_id}/visits/{visit}/forms/{form}/unlock role                 role                  role           role                 ok               role        role             role            role               role      other_site  other_site           other_site     other_site           other_site
POST   /participants/{study_id}/visits/{visit}/forms/{form}/verify role                 role                  role           role                 role             ok          role             role            role               role      other_site  other_site           other_site     other_site           other_site
POST   /participants/{study_id}/visits/{visit}/missed              ok                   ok                    role           role                 ok               role        role             role            role               role      other_site  other_site           other_site     other_site           other_site
POST   /participants/{study_id}/withdrawal                         ok                   ok                    role           role                 ok               role        role             role            role               role      other_site  other_site           other_site     other_site           other_site
GET    /pharmacy/allocations                                       role                 role                  ok             role                 role             role        role             role            role               role      role        role                 ok             role                 role
GET    /queries                                                    ok                   ok                    ok             ok                   ok               ok          ok               ok              ok                 ok        ok          ok                   ok             ok                   ok
POST   /queries                                                    role                 role                  role           role                 ok               ok          role             role            role               role      other_site  other_site           other_site     other_site           other_site
GET    /queries/summary                                            ok                   ok                    ok             ok                   ok               ok          ok               ok              ok                 ok        ok          ok                   ok             ok                   ok
POST   /queries/{query_id}/answer                                  ok                   ok                    role           role                 role             role        role             role            role               role      other_site  other_site           other_site     other_site           other_site
POST   /queries/{query_id}/close                                   role                 role                  role           role                 ok               ok          role             role            role               role      other_site  other_site           other_site     other_site           other_site
POST   /queries/{query_id}/reopen                                  role                 role                  role           role                 ok               ok          role             role            role               role      other_site  other_site           other_site     other_site           other_site
GET    /randomization/balance                                      role                 role                  role           role                 role             role        ok               role            role               role      role        role                 role           role                 role
POST   /randomization/lists                                        role                 role                  role           role                 role             role        ok               role            role               role      role        role                 role           role                 role
GET    /randomization/lists/active/export                          role                 role                  role           role                 role             role        ok               role            role               role      role        role                 role           role                 role
POST   /randomization/lists/active/extend                          role                 role                  role           role                 role             role        ok               role            role               role      role        role                 role           role                 role
POST   /randomization/lists/active/retire                          role                 role                  role           role                 role             role        ok               role            role               role      role        role                 role           role                 role
GET    /randomization/lists/active/verify                          role                 role                  role           role                 role             role        ok               role            role               role      role        role                 role           role                 role
GET    /reports/closed                                             role                 role                  role           role                 role             role        ok               ok              role               role      role        role                 role           role                 role
GET    /reports/enrollment                                         role                 role                  role           role                 ok               role        ok               ok              ok                 role      role        role                 role           role                 role
GET    /review/forms                                               role                 role                  role           role                 ok               ok          role             role            role               role      ok          role                 role           role                 role
GET    /safety/clocks                                              ok                   ok                    ok             ok                   ok               ok          ok               ok              ok                 ok        ok          ok                   ok             ok                   ok
GET    /safety/events                                              ok                   ok                    ok             ok                   ok               ok          ok               ok              ok                 ok        ok          ok                   ok             ok                   ok
POST   /safety/events/{ae_id}/reports                              ok                   ok                    role           role                 ok               role        role             role            role               role      other_site  other_site           other_site     other_site           other_site
GET    /screenings                                                 ok                   ok                    ok             ok                   ok               ok          ok               ok              ok                 ok        ok          ok                   ok             ok                   ok
POST   /screenings                                                 ok                   ok                    role           role                 role             role        role             role            role               role      other_site  other_site           other_site     other_site           other_site
GET    /screenings/{screening_id}                                  ok                   ok                    ok             role                 ok               ok          ok               role            role               role      other_site  other_site           other_site     other_site           other_site
PUT    /screenings/{screening_id}                                  ok                   ok                    role           role                 role             role        role             role            role               role      other_site  other_site           other_site     other_site           other_site
POST   /screenings/{screening_id}/consents                         ok                   ok                    role           role                 role             role        role             role            role               role      other_site  other_site           other_site     other_site           other_site
POST   /screenings/{screening_id}/enroll                           ok                   ok                    role           role                 role             role        role             role            role               role      other_site  other_site           other_site     other_site           other_site
POST   /screenings/{screening_id}/not-enrolled                     ok                   ok                    role           role                 role             role        role             role            role               role      other_site  other_site           other_site     other_site           other_site
GET    /sites                                                      ok                   ok                    ok             ok                   ok               ok          ok               ok              ok                 ok        ok          ok                   ok             ok                   ok
GET    /treatment/deviations                                       ok                   ok                    ok             ok                   ok               ok          ok               ok              ok                 ok        ok          ok                   ok             ok                   ok
GET    /unmaskings                                                 role                 role                  role           role                 ok               role        ok               role            role               role      role        role                 role           role                 role
"""  # noqa: E501  (one row a line: the table is the specification)

#: A masked user unmasked on purpose (a safety need, re-authenticated, audited) is told the arm.
DELIBERATE_UNMASKING = "POST /participants/{study_id}/unmask"
SUBJECTS = [f"{r.value}@YNH" for r in Role] + [f"{r}@SNU" for r in sorted(SITE_ROLES)]


def parse(table: str) -> dict[str, dict[str, str]]:
    lines = [line.split() for line in table.strip().splitlines()]
    header, rows = lines[0], lines[1:]
    return {f"{row[0]} {row[1]}": dict(zip(header[2:], row[2:], strict=True)) for row in rows}


EXPECTED = parse(TABLE) if TABLE.strip() else {}


def outcome(status: int, body: Any) -> str:
    if status == 200:
        return "ok"
    code = body.get("code") if isinstance(body, dict) else None
    return str(code) if status == 403 else f"{status}:{code}"


def answers_of(api: Api, world: World, user: Any,
               expected: dict[str, str] | None = None) -> dict[str, tuple[str, Any]]:  # fmt: skip
    """Each route's outcome for ``user``, and the answer's body (a fresh object only for the
    calls ``expected`` says succeed)."""
    out = {}
    for route in sorted(REQUESTS):
        method = route.split()[0].lower()
        world.fresh = expected is None or expected[route] == "ok"
        req = REQUESTS[route](world, user)
        status, body = api.call(method, user, req.path, req.body, req.query)
        out[route] = (outcome(status, body), body)
    return out


def test_every_route_of_the_schema_has_a_request_and_a_row() -> None:
    schema = Client().get("/api/v1/openapi.json").json()
    routes = schema_routes(schema)
    assert routes == set(REQUESTS), "add the route to world.REQUESTS and to TABLE"
    assert routes == set(EXPECTED), "add the route's row to TABLE"
    assert set(next(iter(EXPECTED.values()))) == set(SUBJECTS)


@pytest.mark.parametrize("subject", SUBJECTS)
def test_each_role_at_its_own_and_another_site_gets_what_the_table_says(
    subject: str, personas: Any, enroll: Callable[..., Any], production_list: Any, api: Api,
) -> None:  # fmt: skip
    world = World(personas, enroll)
    user = subject_user(personas, subject)
    got = answers_of(api, world, user, {route: row[subject] for route, row in EXPECTED.items()})
    wrong = [f"{route}: expected {EXPECTED[route][subject]}, got {found} {str(body)[:160]}"
             for route, (found, body) in got.items()
             if found != EXPECTED[route][subject]]  # fmt: skip
    assert not wrong, f"{subject}:\n" + "\n".join(wrong)
    if is_masked(subject.partition("@")[0]):  # not even a refusal names a drug
        for route, (_, body) in got.items():
            if route != DELIBERATE_UNMASKING:
                assert not any(d in str(body).lower() for d in DRUGS), route


UNKNOWN = {"{study_id}": "ZZZ-999", "{screening_id}": "ZZZ-S9999", "{visit}": "baseline",
           "{form}": "baseline", "{query_id}": "999999", "{ae_id}": "ZZZ-999-AE1",
           "{prefix}": "00000000"}  # fmt: skip


def test_an_unknown_id_answers_404_on_every_route_that_names_one(
    personas: Any, enroll: Callable[..., Any], production_list: Any, api: Api,
) -> None:  # fmt: skip
    """As the data manager (every site): an id that names nothing is 404 ``not_found``, with
    the field, whatever the route (never 403: there is no record whose site could refuse)."""
    world = World(personas, enroll)
    named = [r for r in REQUESTS if "{" in r]
    assert named
    for route in named:
        method, template = route.split()
        path = template
        for param, value in UNKNOWN.items():
            path = path.replace(param, value)
        req = REQUESTS[route](world, personas.datamanager)
        status, body = api.call(method.lower(), personas.datamanager, path, req.body, req.query)
        assert (status, body["code"]) == (404, "not_found"), (route, body)
        assert body["field"], route
