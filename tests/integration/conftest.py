"""Personas and factories for the Django tests (DESIGN.md principle 9: personas, not fixture
files). Sites: YNH (America/New_York) and SNU (Asia/Seoul, east of UTC)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# username -> (role, site codes); one persona per role plus a coordinator of another site.
PERSONAS: dict[str, tuple[str, tuple[str, ...]]] = {
    "coord": ("site_coordinator", ("YNH",)),
    "investigator": ("site_investigator", ("YNH",)),
    "pharmacist": ("pharmacist", ("YNH",)),
    "assessor": ("outcome_assessor", ("YNH",)),
    "datamanager": ("data_manager", ()),
    "monitor": ("monitor", ("YNH",)),
    "statistician": ("statistician", ()),
    "dsmb": ("dsmb_member", ()),
    "sponsor": ("sponsor_viewer", ()),
    "sysadmin": ("admin", ()),
    "othercoord": ("site_coordinator", ("SNU",)),
}
PASSWORD = "correct horse battery staple 42"


@dataclass
class Personas:
    users: dict[str, User]

    def __getattr__(self, name: str) -> User:
        try:
            return self.users[name]
        except KeyError:
            raise AttributeError(name) from None


@pytest.fixture
def personas(db: Any) -> Personas:
    from combat_norse.accounts.actions import do_add_user
    from combat_norse.accounts.models import PasswordState

    users = {}
    for name, (role, sites) in PERSONAS.items():
        user = do_add_user(name, role, sites).user
        user.set_password(PASSWORD)
        user.email = f"{name}@example.invalid"
        user.save()
        users[name] = user
    # the personas have long since replaced their one-time passwords
    PasswordState.objects.filter(user__in=users.values()).update(must_change=False)
    return Personas(users)


def screening_record(**overrides: Any) -> dict[str, Any]:
    """A randomized-cohort record (example file) with onset 2 days ago, evaluated now."""
    record = json.loads((EXAMPLES / "screening-randomized.json").read_text())
    record.pop("site_timezone", None)
    record.pop("evaluated_at", None)
    record["se_onset"] = (timezone.now() - timedelta(days=2)).isoformat()
    record["febrile_illness_onset"] = None
    record.update(overrides)
    return record


@pytest.fixture
def make_record() -> Callable[..., dict[str, Any]]:
    return screening_record


@pytest.fixture
def enroll(personas: Personas) -> Callable[..., Any]:
    """enroll(site="YNH", actor=None, consent=True, **record overrides) -> Participant."""
    from combat_norse.participants.actions import do_enroll, do_record_consent, do_screen
    from combat_norse.sites.models import Site

    def _enroll(site: str = "YNH", actor: User | None = None, consent: bool = True,
                now: datetime | None = None, **overrides: Any) -> Any:  # fmt: skip
        actor = actor or (personas.coord if site == "YNH" else personas.othercoord)
        entry, _ = do_screen(actor, Site.objects.get(code=site), screening_record(**overrides),
                             now=now)  # fmt: skip
        if consent:
            do_record_consent(actor, entry, signer="lar", form_version="1.0", signed_at=now,
                              now=now)  # fmt: skip
        return do_enroll(actor, entry, now=now)

    return _enroll


@pytest.fixture
def production_list(personas: Personas) -> Any:
    from combat_norse.allocation.actions import do_setup_list

    return do_setup_list(personas.statistician, design="permuted_blocks", seed=None,
                         environment="production", blocks_per_stratum=10)  # fmt: skip


@pytest.fixture
def on_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")


@pytest.fixture
def verified_login() -> Callable[[Any, User], None]:
    """Sign a user in on a test client with a confirmed TOTP device, as after a correct code."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    def _login(client: Any, user: User) -> None:
        device, _ = TOTPDevice.objects.get_or_create(user=user, name="test", confirmed=True)
        client.force_login(user)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()

    return _login


@pytest.fixture
def trial_sites(transactional_db: None) -> None:
    """The registration's sites (a transactional test's flush removes the migration's rows)."""
    from combat_norse.sites.data import load_sites
    from combat_norse.sites.models import Site

    load_sites(Site)


# ------------------------------------------------------------------------------ CLI faces
# A contract-test module that lists ``pytest.mark.usefixtures("cli_face")`` runs each test
# twice: the command line locally ("local"), and as an API client ("api", issue 18) against a
# live server started for the test, each ``--as USER`` replaced by USER's API token. The "api"
# runs are transactional (the server thread reads what the test committed; on SQLite it shares
# the test's in-memory connection), so they are ordered with the other transactional tests and
# load the registration's sites first (a transactional test's flush removes them).
# The "api" runs happen in the SQLite pass only: the client, the server's routes and their
# presenters are the same on both databases, while a transactional test's flush costs most
# on PostgreSQL (the API's own persona matrix, arm-invariance and fuzz tests run there).
CLI_FACES = ("local", "api")


def cli_faces() -> tuple[str, ...]:
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    return CLI_FACES if engine.endswith("sqlite3") else ("local",)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "cli_face" in metafunc.fixturenames:
        metafunc.parametrize("cli_face", cli_faces(), indirect=True)


@pytest.hookimpl(tryfirst=True)  # before pytest-django orders the tests by their db marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        spec = getattr(item, "callspec", None)
        if spec is not None and spec.params.get("cli_face") == "api":
            item.add_marker(pytest.mark.django_db(transaction=True), append=False)
            if "trial_sites" not in item.fixturenames:  # type: ignore[attr-defined]
                item.fixturenames.insert(0, "trial_sites")  # type: ignore[attr-defined]


@dataclass
class CliFace:
    name: str
    tokens: dict[str, str]


@pytest.fixture
def cli_face(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> CliFace:
    """The face the module's ``run`` helpers drive: their ``main`` is replaced, in API mode,
    by one that sends the command to the live server as the ``--as`` user's token."""
    import logging
    import sys
    import urllib.request

    from combat_norse.cli import main as cli_main
    from combat_norse.cli.client import LOCAL_ONLY, PURE, TOKEN_ENV, URL_ENV

    face = CliFace(request.param, {})
    monkeypatch.delenv(URL_ENV, raising=False)
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    if face.name == "local":
        return face
    request.getfixturevalue("trial_sites")  # before the personas, who hold roles at them
    server = request.getfixturevalue("live_server")
    real_main = cli_main.main

    def token_for(username: str) -> str | None:
        from combat_norse.accounts.tokens import do_create_token

        if username not in face.tokens:
            user = User.objects.filter(username=username, is_active=True).first()
            if user is None:
                return None
            face.tokens[username] = token = do_create_token(user, user).token
            # its first use from this address is audited now, not in the middle of a test
            warm = urllib.request.Request(f"{server.url}/api/v1/me",  # noqa: S310
                                          headers={"Authorization": f"Bearer {token}"})  # fmt: skip
            urllib.request.urlopen(warm, timeout=60).close()  # noqa: S310
        return face.tokens[username]

    def api_main(argv: list[str] | None = None) -> int:
        args = list(argv or [])
        username = None
        if "--as" in args:
            at = args.index("--as")
            username = args[at + 1] if at + 1 < len(args) else None
        command = args[0] if args else ""
        token = None
        if username is not None and command not in LOCAL_ONLY | PURE:
            token = token_for(username)
        if token is None:  # an operator's command, no --as, or no such user: run locally
            return real_main(args)
        del args[at:at + 2]
        with monkeypatch.context() as env:
            env.setenv(URL_ENV, server.url)
            env.setenv(TOKEN_ENV, token)
            for name in ("django.request", "django.server"):  # the server thread's request
                env.setattr(logging.getLogger(name), "disabled", True)  # log: not the command's
            return real_main(args)

    if "personas" in request.fixturenames:
        for name in request.getfixturevalue("personas").users:
            token_for(name)
    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith("tests.") and \
                getattr(module, "main", None) is real_main:  # fmt: skip
            monkeypatch.setattr(module, "main", api_main)
    return face
