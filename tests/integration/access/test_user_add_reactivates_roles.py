"""``user add`` as the second person's way to grant or re-activate a role (review of issue 14)."""

from __future__ import annotations

from typing import Any

import pytest

from combat_norse.audit.models import AuditEvent
from combat_norse.cli.main import main

pytestmark = [pytest.mark.django_db, pytest.mark.req("#14", "§11")]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exited:
        code = int(exited.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.req("#14", "§13")
def test_user_add_re_activates_a_revoked_role_it_reports_as_added(
    capsys: pytest.CaptureFixture[str], personas: Any
) -> None:
    """The README sends the second person to ``user add`` to grant or re-activate a role the
    admin may not; a revoked (inactive) membership must come back active, audited, and not be
    reported as added while it stays revoked."""
    from combat_norse.sites.access import scope_for
    from combat_norse.sites.models import Membership

    membership = Membership.objects.get(user=personas.othercoord)
    membership.active = False
    membership.save()
    assert not scope_for(personas.othercoord).roles
    grants = AuditEvent.objects.filter(action="role_grant").count()

    code, out, err = run(capsys, "user", "add", "othercoord", "--role", "site_coordinator",
                         "--site", "SNU")  # fmt: skip

    assert code == 0, err
    assert '"role": "site_coordinator"' in out
    membership.refresh_from_db()
    assert membership.active
    assert "site_coordinator" in scope_for(personas.othercoord).roles
    assert AuditEvent.objects.filter(action="role_grant").count() == grants + 1


def test_a_role_granted_from_the_command_line_has_history_with_the_operator(
    capsys: pytest.CaptureFixture[str], personas: Any
) -> None:
    from combat_norse.sites.models import Membership

    code = main(["user", "add", "coord", "--role", "site_investigator", "--site", "YNH"])
    capsys.readouterr()
    assert code == 0
    grant = Membership.objects.get(user=personas.coord, role="site_investigator")
    assert grant.history.count() == 1  # the row's history exists from the grant on
    event = AuditEvent.objects.filter(action="role_grant").latest("seq")
    assert event.actor_username.startswith("os:") and event.changes["role"] == [
        None, "site_investigator"]  # fmt: skip
