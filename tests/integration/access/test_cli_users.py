"""§13 user commands (issue 14): `user add` with a one-time password from stdin or
generated, `user password` replacing it, and the operating-system user recorded in every event
the command line writes."""

from __future__ import annotations

import getpass
import io
import json
from typing import Any

import pytest
from django.contrib.auth.models import User

from combat_norse.accounts.models import must_change_password
from combat_norse.audit.context import os_operator
from combat_norse.audit.models import AuditEvent
from combat_norse.audit.verify import verify_chain
from combat_norse.cli.main import main

pytestmark = [pytest.mark.django_db, pytest.mark.req("#3", "§13")]

ONE_TIME = "quiet harbour lantern 58"
NEW = "violet orchard seventeen quay"


def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *argv: str,
        stdin: str = "") -> tuple[int, Any, str]:  # fmt: skip
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    try:
        code = main(list(argv))
    except SystemExit as exited:
        code = int(exited.code or 0)
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else None), err


def test_user_add_takes_the_one_time_password_from_stdin_and_is_audited_as_the_os_user(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run(capsys, monkeypatch, "user", "add", "jdoe", "--role",
                         "site_coordinator", "--site", "YNH", "--password-stdin",
                         stdin=ONE_TIME + "\n")  # fmt: skip
    assert (code, out) == (0, {"username": "jdoe", "role": "site_coordinator", "sites": ["YNH"]})
    assert ONE_TIME not in err
    user = User.objects.get(username="jdoe")
    assert user.check_password(ONE_TIME) and must_change_password(user)
    events = list(AuditEvent.objects.filter(action__in=["user_create", "role_grant"]))
    assert {e.action for e in events} == {"user_create", "role_grant"}
    assert {e.actor_username for e in events} == {f"os:{getpass.getuser()}"} == {os_operator()}
    assert all(e.actor_id is None and ONE_TIME not in str(e.changes) for e in events)
    assert verify_chain().ok


def test_user_add_generates_a_password_on_stderr_only_and_a_second_call_adds_the_role(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run(capsys, monkeypatch, "user", "add", "jdoe", "--role", "monitor",
                         "--site", "YNH")  # fmt: skip
    assert code == 0 and out == {"username": "jdoe", "role": "monitor", "sites": ["YNH"]}
    generated = err.rsplit(": ", 1)[1].strip()
    assert User.objects.get(username="jdoe").check_password(generated)
    code, out, err = run(capsys, monkeypatch, "user", "add", "jdoe", "--role",
                         "outcome_assessor", "--site", "SNU")  # fmt: skip
    assert code == 0 and out == {"username": "jdoe", "role": "outcome_assessor", "sites": ["SNU"]}
    assert "password unchanged" in err
    user = User.objects.get(username="jdoe")
    assert user.check_password(generated)
    assert set(user.memberships.values_list("role", flat=True)) == {"monitor", "outcome_assessor"}


@pytest.mark.parametrize("password", ["password123", "12345678901234", "short"])
def test_user_add_refuses_a_weak_one_time_password(
    password: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run(capsys, monkeypatch, "user", "add", "jdoe", "--role", "monitor",
                         "--site", "YNH", "--password-stdin", stdin=password + "\n")  # fmt: skip
    assert (code, out) == (2, None)
    assert err.startswith("error: password: ") and err.count("\n") == 1
    assert not User.objects.filter(username="jdoe").exists()
    assert not AuditEvent.objects.exists()


@pytest.fixture
def new_user(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> User:
    code, _, _ = run(capsys, monkeypatch, "user", "add", "jdoe", "--role", "monitor", "--site",
                     "YNH", "--password-stdin", stdin=ONE_TIME + "\n")  # fmt: skip
    assert code == 0
    return User.objects.get(username="jdoe")


def test_user_password_replaces_the_one_time_password(
    new_user: User, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run(capsys, monkeypatch, "user", "password", "jdoe", "--password-stdin",
                         stdin=f"{ONE_TIME}\n{NEW}\n")  # fmt: skip
    assert (code, out, err) == (0, {"username": "jdoe", "changed": True}, "")
    new_user.refresh_from_db()
    assert new_user.check_password(NEW) and not must_change_password(new_user)
    event = AuditEvent.objects.get(action="password_changed")
    assert (event.actor_username, event.operator) == ("jdoe", os_operator())
    assert NEW not in str(event.changes) and ONE_TIME not in str(event.changes)
    assert verify_chain().ok


def test_user_password_with_a_wrong_current_password_is_refused_and_audited(
    new_user: User, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run(capsys, monkeypatch, "user", "password", "jdoe", "--password-stdin",
                         stdin=f"not the password\n{NEW}\n")  # fmt: skip
    assert (code, out) == (3, None)
    assert err.startswith("refused: password")
    new_user.refresh_from_db()
    assert new_user.check_password(ONE_TIME) and must_change_password(new_user)
    assert AuditEvent.objects.filter(action="password_changed_refused").count() == 1
    assert not AuditEvent.objects.filter(action="password_changed").exists()


@pytest.mark.parametrize("new", [ONE_TIME, "password123"])
def test_user_password_cannot_keep_the_one_time_password_or_take_a_weak_one(
    new: str, new_user: User, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    code, out, err = run(capsys, monkeypatch, "user", "password", "jdoe", "--password-stdin",
                         stdin=f"{ONE_TIME}\n{new}\n")  # fmt: skip
    assert (code, out) == (2, None)
    assert err.startswith("error: password: ")
    assert must_change_password(User.objects.get(username="jdoe"))
    assert not AuditEvent.objects.filter(action="password_changed").exists()


def test_user_password_needs_two_lines_on_stdin(
    new_user: User, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = run(capsys, monkeypatch, "user", "password", "jdoe", "--password-stdin",
                       stdin=f"{ONE_TIME}\n")  # fmt: skip
    assert code == 2 and err.startswith("error: password: ")
    code, _, err = run(capsys, monkeypatch, "user", "password", "nobody", "--password-stdin",
                       stdin=f"{ONE_TIME}\n{NEW}\n")  # fmt: skip
    assert code == 2 and err.startswith("error: username: ")


def test_a_command_run_as_a_user_keeps_the_actor_and_records_the_os_operator(
    personas: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any, make_record: Any,
) -> None:  # fmt: skip
    record = tmp_path / "record.json"
    record.write_text(json.dumps(make_record()))
    before = AuditEvent.objects.count()
    code, out, _ = run(capsys, monkeypatch, "screening", "add", str(record), "--site", "YNH",
                       "--as", "coord")  # fmt: skip
    assert code == 0, out
    new = list(AuditEvent.objects.order_by("seq")[before:])
    assert new and all((e.actor_username, e.operator) == ("coord", os_operator()) for e in new)
    # events written outside the command line (the personas' set-up) carry no operator
    assert set(AuditEvent.objects.order_by("seq")[:before].values_list("operator", flat=True)) \
        == {""}  # fmt: skip
    code, out, _ = run(capsys, monkeypatch, "audit", "verify")
    assert (code, out["ok"], out["events"]) == (0, True, AuditEvent.objects.count())


def test_an_operator_outside_the_hash_would_be_caught(personas: Any) -> None:
    """The operator is hashed when set: an edit of it breaks the chain (and an empty operator
    leaves the hash of events written before the field existed unchanged)."""
    from django.db import transaction

    from combat_norse.audit.api import record_event
    from combat_norse.audit.chain import compute_event_hash as compute_hash
    from combat_norse.audit.context import operating

    with operating("os:alice"), transaction.atomic():
        event = record_event(actor=personas.coord, action="login", object_type="auth.User")
    fields = event.hashed_fields()
    assert compute_hash(fields) == event.hash
    assert compute_hash({**fields, "operator": "os:mallory"}) != event.hash
    old_style = {k: v for k, v in fields.items() if k != "operator"}
    assert compute_hash({**old_style, "operator": ""}) == compute_hash(old_style)
