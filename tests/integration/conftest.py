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
