"""The URL persona matrix: every endpoint, every role and a user of another site.

The endpoints come from the URL resolver, so a new one is covered without editing this file:
it must carry ``@view_policy`` (web/policy.py), and each persona must get what the policy
declares. Patterns of the ``admin`` namespace (Django's admin) are tested in
test_admin_access.py; the account pages (``accounts`` namespace: sign-in, sign-out, two-factor,
password change) are in the matrix, with the answers of the sign-in flow in :data:`SPECIAL`.

What each persona must get:
- anonymous: the page for a public view, otherwise a redirect to the sign-in page;
- a role the policy allows: 200, but 403 (reason ``other_site``, PROTOCOL §13) for an object of a
  site where the persona holds no role;
- any other role: 403.
URL parameters are filled from :data:`PARAMETERS`; an unknown parameter name fails with a
message saying where to add it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.test import Client, override_settings
from django.urls import (
    URLPattern,
    URLResolver,
    get_resolver,
    include,
    path,
    resolve,
    reverse,
)
from django.urls.resolvers import LocalePrefixPattern, RegexPattern, RoutePattern

from combat_norse.accounts.actions import do_add_user
from combat_norse.accounts.policy import has_confirmed_device, needs_two_factor
from combat_norse.participants.access import access_participant
from combat_norse.participants.actions import do_assign_assessor
from combat_norse.participants.models import Participant
from combat_norse.sites.access import scope_for
from combat_norse.sites.models import Membership, Site
from combat_norse.sites.roles import PARTICIPANT_ROLES, SITE_ROLES, Role
from combat_norse.web import account_urls
from combat_norse.web import views as site_views
from combat_norse.web.policy import ViewPolicy, view_policy

pytestmark = [pytest.mark.django_db, pytest.mark.req("#3")]

# the API (namespace "api") answers tokens, not sessions: tests/integration/api has its matrix;
# "api_root" (/api, /api/v1) is only the API's JSON 404 (tests/integration/api/test_api_root.py)
EXCLUDED_NAMESPACES = frozenset({"admin", "api", "api_root"})
OBJECT_SITE = "YNH"  # every object named by a URL parameter lives here

_ROUTE_PARAM = re.compile(r"<(?:[^>:]+:)?(?P<name>\w+)>")
_REGEX_PARAM = re.compile(r"\(\?P<(?P<name>\w+)>(?:[^()]|\([^()]*\))*\)")


# ------------------------------------------------------------------------------ endpoints
@dataclass(frozen=True)
class Endpoint:
    route: str  # the pattern text from the root, e.g. "participants/<str:study_id>/"
    name: str
    callback: Callable[..., Any]

    @property
    def label(self) -> str:
        view = getattr(self.callback, "__qualname__", repr(self.callback))
        module = getattr(self.callback, "__module__", "?")
        return f"/{self.route} ({module}.{view})"

    @property
    def params(self) -> list[str]:
        return [m["name"] for m in _ROUTE_PARAM.finditer(self.route)] + [
            m["name"] for m in _REGEX_PARAM.finditer(self.route)
        ]

    @property
    def policy(self) -> ViewPolicy | None:
        found = getattr(self.callback, "view_policy", None)
        if found is None and hasattr(self.callback, "view_class"):  # class-based view
            found = getattr(self.callback.view_class, "view_policy", None)
        return found if isinstance(found, ViewPolicy) else None


def _pattern_text(pattern: Any) -> str:
    if isinstance(pattern, RoutePattern):
        return str(pattern)
    if isinstance(pattern, RegexPattern):
        return str(pattern).removeprefix("^").removesuffix("$").removesuffix(r"\Z")
    if isinstance(pattern, LocalePrefixPattern):
        return pattern.language_prefix
    raise TypeError(f"unknown URL pattern type {type(pattern).__name__}: teach _pattern_text")


def endpoints(patterns: Iterable[Any], prefix: str = "") -> Iterator[Endpoint]:
    """Every URL pattern under ``patterns``, outside the excluded namespaces."""
    for entry in patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace in EXCLUDED_NAMESPACES:
                continue
            yield from endpoints(entry.url_patterns, prefix + _pattern_text(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield Endpoint(prefix + _pattern_text(entry.pattern), entry.name or "",
                           entry.callback)  # fmt: skip
        else:
            raise TypeError(f"unknown URL entry {entry!r}")


def undeclared(found: Iterable[Endpoint]) -> list[str]:
    return [e.label for e in found if e.policy is None]


# ------------------------------------------------------------------------------ parameters
class World:
    """Objects that URL parameters name, made on first use (all at site YNH)."""

    def __init__(self, personas: Any, enroll: Callable[..., Participant]) -> None:
        self.personas = personas
        self.enroll = enroll

    @cached_property
    def participant(self) -> Participant:
        """Enrolled at YNH and assigned to the YNH outcome assessor."""
        participant = self.enroll(site=OBJECT_SITE)
        do_assign_assessor(self.personas.coord, participant, self.personas.assessor)
        return participant


# Parameter name -> its value. A new endpoint with a new parameter fails until it is added here.
PARAMETERS: dict[str, Callable[[World], str]] = {
    "study_id": lambda w: w.participant.study_id,
    "screening_id": lambda w: w.participant.screening.screening_id,
    "site_code": lambda w: OBJECT_SITE,
    "visit": lambda w: "day30",
    "form": lambda w: "mrs",  # an outcome form: the assigned assessor reads it too
}


class UnknownParameter(LookupError):
    pass


def url_for(endpoint: Endpoint, world: World) -> str:
    unknown = [p for p in endpoint.params if p not in PARAMETERS]
    if unknown:
        raise UnknownParameter(
            f"{endpoint.label}: no value for URL parameter(s) {unknown}; add them to PARAMETERS "
            f"in {__name__} (an object at site {OBJECT_SITE})"
        )

    def value(match: re.Match[str]) -> str:
        return quote(PARAMETERS[match["name"]](world), safe="")

    url = "/" + _REGEX_PARAM.sub(value, _ROUTE_PARAM.sub(value, endpoint.route))
    match = resolve(url)
    assert match.func is endpoint.callback, f"{endpoint.label}: built {url}, which resolves " \
                                            f"to {match.func!r}"  # fmt: skip
    return url


# ------------------------------------------------------------------------------ expectations
@dataclass(frozen=True)
class Outcome:
    status: int
    location: str = ""  # for a redirect: where to

    def describe(self) -> str:
        return f"{self.status} -> {self.location}" if self.location else str(self.status)


def _sign_in_page(url: str) -> Outcome:
    return Outcome(302, f"{reverse('accounts:login')}?next={quote(url, safe='')}")


def generic_outcome(policy: ViewPolicy, user: User | None, url: str) -> Outcome:
    if policy.public:
        return Outcome(200)
    if user is None:
        return _sign_in_page(url)
    scope = scope_for(user)
    if not policy.allows_roles(scope.roles):
        return Outcome(403)
    if policy.scoped_object and not scope.roles_at(Site.objects.get(code=OBJECT_SITE).pk):
        return Outcome(403)
    return Outcome(200)


def _admin_sign_in(policy: ViewPolicy, user: User | None, url: str) -> Outcome:
    """/admin/login/ sends the anonymous and staff to the hardened sign-in page and refuses
    other signed-in users (sending them there would loop back to /admin/)."""
    if user is None or user.is_staff:
        return Outcome(302, f"{reverse('accounts:login')}?next=%2Fadmin%2F")
    return Outcome(403)


def _login_page(policy: ViewPolicy, user: User | None, url: str) -> Outcome:
    """Signed-in users are sent on to the home page (redirect_authenticated_user)."""
    return Outcome(200) if user is None else Outcome(302, reverse("home"))


def _logout(policy: ViewPolicy, user: User | None, url: str) -> Outcome:
    return Outcome(405)  # sign-out is a POST (CSRF-protected form); GET is not allowed


def _two_factor_setup(policy: ViewPolicy, user: User | None, url: str) -> Outcome:
    if user is None:
        return _sign_in_page(url)
    if has_confirmed_device(user):
        return Outcome(302, reverse("accounts:2fa_verify"))
    return Outcome(200)


def _two_factor_verify(policy: ViewPolicy, user: User | None, url: str) -> Outcome:
    if user is None:
        return _sign_in_page(url)
    return Outcome(200) if has_confirmed_device(user) else Outcome(302,
                                                                    reverse("accounts:2fa_setup"))


# Views whose allowed answer is not a 200 page, by design (keep this short).
SPECIAL: dict[Callable[..., Any], Callable[[ViewPolicy, User | None, str], Outcome]] = {
    site_views.admin_login_redirect: _admin_sign_in,
    account_urls.login: _login_page,
    account_urls.logout: _logout,
    account_urls.two_factor_setup: _two_factor_setup,
    account_urls.two_factor_verify: _two_factor_verify,
}
# Pages a signed-in user reaches before the second factor (accounts/middleware.py).
BEFORE_SECOND_FACTOR = frozenset({account_urls.login, account_urls.logout,
                                  account_urls.two_factor_setup, account_urls.two_factor_verify})


def expected(endpoint: Endpoint, user: User | None, url: str) -> Outcome:
    assert endpoint.policy is not None
    rule = SPECIAL.get(endpoint.callback, generic_outcome)
    return rule(endpoint.policy, user, url)


def answer(client: Client, url: str) -> Outcome:
    response = client.get(url)
    return Outcome(response.status_code, response.get("Location", ""))


def _target(location: str) -> tuple[str, dict[str, list[str]]]:
    parts = urlsplit(location)
    return parts.path, parse_qs(parts.query)


def matches(got: Outcome, want: Outcome) -> bool:
    """Same status and, for a redirect, the same path and query (however it is quoted)."""
    return got.status == want.status and _target(got.location) == _target(want.location)


# ------------------------------------------------------------------------------ personas
SUBJECTS = [*(r.value for r in Role), "site_coordinator@SNU", "anonymous"]


def subject_user(personas: Any, subject: str) -> User | None:
    """The persona holding ``role`` (at YNH for a site role, or at the site after ``@``);
    a role without a persona (a new one) gets a user made here."""
    if subject == "anonymous":
        return None
    role, _, site = subject.partition("@")
    site_code = (site or "YNH") if role in SITE_ROLES else None
    membership = Membership.objects.filter(
        user__in=personas.users.values(), role=role, active=True, site__code=site_code
    ).select_related("user").first()  # fmt: skip
    if membership is not None:
        return membership.user
    return do_add_user(f"new-{role}"[:40].replace("_", "-"), role,
                       [site_code] if site_code else []).user  # fmt: skip


def all_endpoints() -> list[Endpoint]:
    return list(endpoints(get_resolver().url_patterns))


# ------------------------------------------------------------------------------ tests
def test_the_account_pages_are_in_the_matrix() -> None:
    names = {e.name for e in all_endpoints()}
    assert {"login", "logout", "2fa_setup", "2fa_verify", "password_change"} <= names


def test_every_endpoint_declares_a_view_policy() -> None:
    found = all_endpoints()
    assert found, "the URL resolver yielded no endpoint outside the admin and accounts"
    missing = undeclared(found)
    assert not missing, "views without @view_policy (combat_norse.web.policy):\n" + "\n".join(
        missing
    )


def test_every_url_parameter_has_a_value_in_the_table() -> None:
    unknown = {p: e.label for e in all_endpoints() for p in e.params if p not in PARAMETERS}
    assert not unknown, f"add these URL parameters to PARAMETERS in {__name__}: {unknown}"


@pytest.mark.parametrize("subject", SUBJECTS)
def test_each_persona_reaches_exactly_what_each_endpoint_policy_allows(
    subject: str, personas: Any, enroll: Callable[..., Participant],
    client_for: Callable[..., Client],
) -> None:  # fmt: skip
    user = subject_user(personas, subject)
    client = client_for(user)
    world = World(personas, enroll)
    wrong = []
    for endpoint in all_endpoints():
        url = url_for(endpoint, world)
        want = expected(endpoint, user, url)
        got = answer(client, url)
        if not matches(got, want):
            wrong.append(f"{endpoint.label} GET {url}: expected {want.describe()}, "
                         f"got {got.describe()}")  # fmt: skip
    assert not wrong, f"{subject}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("subject", [s for s in SUBJECTS if s != "anonymous"])
def test_before_the_totp_step_only_masked_personas_reach_any_endpoint(
    subject: str, personas: Any, enroll: Callable[..., Participant],
    client_for: Callable[..., Client],
) -> None:  # fmt: skip
    """Unblinded roles (and administrators) are held at the two-factor gate on every endpoint,
    public ones included, but the sign-in flow's own pages; masked roles need no second factor
    and get the matrix's answers."""
    user = subject_user(personas, subject)
    assert user is not None
    client = client_for(user, second_factor=False)
    world = World(personas, enroll)
    for endpoint in all_endpoints():
        url = url_for(endpoint, world)
        got = answer(client, url)
        if needs_two_factor(user) and endpoint.callback not in BEFORE_SECOND_FACTOR:
            want = Outcome(302, f"{reverse('accounts:2fa_setup')}?next={quote(url, safe='')}")
        else:
            want = expected(endpoint, user, url)
        assert matches(got, want), f"{endpoint.label}: expected {want.describe()}, " \
                                   f"got {got.describe()}"  # fmt: skip


# ------------------------------------------------------------------------------ the harness
# The matrix must catch a new endpoint on its own: these run it over a URL configuration with
# a view of the kind the application will grow (a participant page, scoped to its site).
def _unmarked(request: HttpRequest) -> HttpResponse:
    return HttpResponse("no policy")


@view_policy(roles=PARTICIPANT_ROLES, scoped_object=True)
def _participant_page(request: HttpRequest, study_id: str) -> HttpResponse:
    """What a participant page does: the access layer decides (another site's object: 403
    ``other_site`` from the error middleware)."""
    participant = access_participant(request.user, study_id)  # type: ignore[arg-type]
    return HttpResponse(participant.study_id)


@view_policy(roles=PARTICIPANT_ROLES)
def _visit_page(request: HttpRequest, visit_code: str) -> HttpResponse:
    return HttpResponse(visit_code)


class GrownUrls:
    urlpatterns = [
        *get_resolver().url_patterns,
        # a path of its own: the real participant page (web/urls.py) answers /participants/
        path("matrix-harness/participants/<str:study_id>/", _participant_page, name="harness"),
    ]


def test_a_view_without_a_policy_is_reported() -> None:
    found = list(endpoints([path("export/", _unmarked), path("x/", include([
        path("y/", _participant_page)]))]))  # fmt: skip
    assert [e.route for e in found] == ["export/", "x/y/"]
    missing = undeclared(found)
    assert len(missing) == 1
    assert missing[0].startswith("/export/ (") and missing[0].endswith("._unmarked)")


def test_an_unknown_url_parameter_fails_with_a_message_naming_it(
    personas: Any, enroll: Callable[..., Participant],
) -> None:  # fmt: skip
    endpoint = next(iter(endpoints([path("visits/<slug:visit_code>/", _visit_page)])))
    with pytest.raises(UnknownParameter, match=r"visit_code.*add them to PARAMETERS"):
        url_for(endpoint, World(personas, enroll))


@pytest.mark.parametrize(
    "subject",
    [
        "site_coordinator",
        "outcome_assessor",
        "monitor",
        "sponsor_viewer",
        "site_coordinator@SNU",
        "anonymous",
    ],
)
def test_a_new_participant_page_is_covered_with_403_other_site_for_another_sites_persona(
    subject: str, personas: Any, enroll: Callable[..., Participant],
    client_for: Callable[..., Client],
) -> None:  # fmt: skip
    with override_settings(ROOT_URLCONF=GrownUrls):
        endpoint = next(e for e in endpoints(get_resolver().url_patterns)
                        if e.callback is _participant_page)  # fmt: skip
        user = subject_user(personas, subject)
        url = url_for(endpoint, World(personas, enroll))
        want = expected(endpoint, user, url)
        got = answer(client_for(user), url)
    assert matches(got, want), f"{subject}: expected {want.describe()}, got {got.describe()}"
    assert want.status == {"site_coordinator": 200, "outcome_assessor": 200, "monitor": 200,
                           "sponsor_viewer": 403, "site_coordinator@SNU": 403,
                           "anonymous": 302}[subject]  # fmt: skip


# ------------------------------------------------------------------------------ issue 17's pages
# The operations pages of issue 17, by URL name: the roles their policy admits. A masked role
# (outcome assessor, sponsor viewer) reaches none of them: they show arms, doses or audit events.
OPERATIONS_PAGES: dict[str, frozenset[str]] = {
    "web:pharmacy": frozenset({Role.PHARMACIST}),
    "web:preparation": frozenset({Role.PHARMACIST}),
    "web:review": frozenset({Role.MONITOR, Role.DATA_MANAGER}),
    "web:missing": frozenset({Role.MONITOR, Role.DATA_MANAGER}),
    "web:audit_trail": frozenset({Role.MONITOR, Role.DATA_MANAGER}),
}


def test_the_operations_pages_admit_exactly_their_roles_and_no_masked_role() -> None:
    from combat_norse.sites.roles import masked_roles

    by_name = {f"web:{e.name}": e for e in all_endpoints() if e.name}
    for name, roles in OPERATIONS_PAGES.items():
        policy = by_name[name].policy
        assert policy is not None and policy.roles == roles, name
        assert not policy.roles & masked_roles(), name
        assert policy.scoped_object == ("<str:study_id>" in by_name[name].route), name


@pytest.mark.parametrize("subject", ["pharmacist", "monitor", "data_manager", "outcome_assessor",
                                     "sponsor_viewer", "site_coordinator@SNU", "pharmacist@SNU",
                                     "monitor@SNU"])
def test_the_operations_pages_answer_each_persona(
    subject: str, personas: Any, enroll: Callable[..., Participant],
    client_for: Callable[..., Client],
) -> None:  # fmt: skip
    """Spelled out for the pages of issue 17 (the generic walk above derives the same from the
    policies): 200 for their roles, 403 for the others, 403 other_site for another site."""
    from combat_norse.accounts.models import PasswordState

    user = subject_user(personas, subject)
    PasswordState.objects.filter(user=user).update(must_change=False)  # a persona made here
    client = client_for(user)
    world = World(personas, enroll)
    by_name = {f"web:{e.name}": e for e in all_endpoints() if e.name}
    role, _, site = subject.partition("@")
    for name, roles in OPERATIONS_PAGES.items():
        url = url_for(by_name[name], world)
        response = client.get(url)
        scoped = by_name[name].policy.scoped_object  # type: ignore[union-attr]
        other_site = role in roles and site and scoped
        want = 200 if role in roles and not other_site else 403
        assert response.status_code == want, f"{subject} {url}: {response.status_code}"
        if other_site:
            assert 'data-code="other_site"' in response.content.decode(), url
