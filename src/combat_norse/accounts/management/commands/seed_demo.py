"""Load the demo personas (one per role across two sites) and print who is who.

Passwords are random and printed once, when the user is created; re-running prints the table
without them (``--reset-passwords`` issues new ones). Users who must use two-factor get a TOTP
authenticator whose key is printed with the password. Demo data only: never run in production.
"""

from __future__ import annotations

import base64
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from combat_norse.accounts.actions import do_add_user
from combat_norse.accounts.policy import needs_two_factor

# (username, role, sites): two sites, one east of UTC (Seoul), one in the US.
PERSONAS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("coord.ynh", "site_coordinator", ("YNH",)),
    ("coord.snu", "site_coordinator", ("SNU",)),
    ("investigator.ynh", "site_investigator", ("YNH",)),
    ("investigator.snu", "site_investigator", ("SNU",)),
    ("pharmacist.ynh", "pharmacist", ("YNH",)),
    ("assessor.ynh", "outcome_assessor", ("YNH",)),
    ("assessor.snu", "outcome_assessor", ("SNU",)),
    ("monitor.both", "monitor", ("YNH", "SNU")),
    ("datamanager", "data_manager", ()),
    ("statistician", "statistician", ()),
    ("dsmb", "dsmb_member", ()),
    ("sponsor", "sponsor_viewer", ()),
    ("sysadmin", "admin", ()),
)


class Command(BaseCommand):
    help = "Create the demo personas (one per role, sites YNH and SNU) and print who is who."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--reset-passwords", action="store_true",
                            help="issue new one-time passwords and TOTP keys")  # fmt: skip

    def handle(self, *args: Any, **options: Any) -> None:
        rows = []
        for username, role, sites in PERSONAS:
            created = do_add_user(username, role, sites,
                                  email=f"{username}@demo.combat-norse.invalid")  # fmt: skip
            password = created.one_time_password
            user = created.user
            if password is None and options["reset_passwords"]:
                password = _random_password()
                user.set_password(password)
                user.save(update_fields=["password"])
            totp = ""
            if needs_two_factor(user) and (password is not None):
                totp = _fresh_totp_key(user)
            shown = password or "(set earlier)"
            rows.append((username, role, ",".join(sites) or "all", shown, totp))
        widths = [max(len(str(r[i])) for r in [*rows, _HEADER]) for i in range(5)]
        out = self.stdout
        out.write("\nDemo personas (synthetic; passwords shown once; TOTP key for an app):")
        for row in [_HEADER, *rows]:
            out.write("  " + "  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)))
        out.write("")


_HEADER = ("username", "role", "sites", "password", "TOTP key (base32)")


def _random_password() -> str:
    import secrets

    return secrets.token_urlsafe(12)


@transaction.atomic
def _fresh_totp_key(user: User) -> str:
    TOTPDevice.objects.filter(user=user).delete()
    device = TOTPDevice.objects.create(user=user, name="demo authenticator", confirmed=True)
    return base64.b32encode(device.bin_key).decode("ascii").rstrip("=")
