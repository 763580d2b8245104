"""audited_save() / audited_delete(): every write path leaves exactly one event."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, User
from django.db import connection, models, transaction

from combat_norse.audit.api import REDACTED, audited_delete, audited_save
from combat_norse.audit.exceptions import ReasonRequired, TransactionRequired
from combat_norse.audit.models import AuditEvent
from combat_norse.audit.verify import verify_chain

pytestmark = pytest.mark.req("#3")


def _create(actor: User) -> int:
    group = Group(name="ward-1")
    audited_save(group, actor=actor, action="create")
    return group.pk


def _update(actor: User) -> int:
    group = Group.objects.create(name="ward-1")
    group.name = "ward-2"
    audited_save(group, actor=actor, action="update", reason="renamed")
    return group.pk


def _delete(actor: User) -> int:
    group = Group.objects.create(name="ward-1")
    pk = group.pk
    audited_delete(group, actor=actor, reason="duplicate")
    return pk


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("write", "action"),
    [(_create, "create"), (_update, "update"), (_delete, "delete")],
    ids=["create", "update", "delete"],
)
def test_every_write_path_leaves_one_event(alice: User, write: Any, action: str) -> None:
    with transaction.atomic():
        pk = write(alice)
    event = AuditEvent.objects.get()
    assert event.action == action
    assert (event.object_type, event.object_id) == ("auth.Group", str(pk))
    assert event.actor_username == "alice"
    assert verify_chain().ok


@pytest.mark.django_db
def test_create_records_new_values_and_needs_no_reason(alice: User) -> None:
    with transaction.atomic():
        event = audited_save(Group(name="ward-1"), actor=alice, action="create", site_code="YNH")
    assert event is not None
    assert event.changes == {"name": [None, "ward-1"]}
    assert event.reason == ""
    assert event.site_code == "YNH"


@pytest.mark.django_db
def test_the_write_records_the_reason_it_is_given_and_the_state_rule_decides_if_one_is_needed(
    alice: User, ward: Group
) -> None:
    # audited_save does not demand a reason (§14: only a change to a complete form
    # needs one); the action's state rule refuses a missing one before writing
    ward.name = "ward-8"
    with transaction.atomic():
        event = audited_save(ward, actor=alice, action="update")
    assert event is not None and event.reason == ""
    assert event.changes == {"name": ["ward-7", "ward-8"]}


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["", "created", "Update"])
def test_audited_save_refuses_an_action_outside_the_vocabulary(
    alice: User, ward: Group, action: str
) -> None:
    ward.name = "ward-8"
    with pytest.raises(ValueError, match="unknown audit action"), transaction.atomic():
        audited_save(ward, actor=alice, action=action, reason="x")
    assert Group.objects.get(pk=ward.pk).name == "ward-7"
    assert AuditEvent.objects.count() == 0


@pytest.mark.django_db
def test_update_records_old_values_from_the_database_not_the_stale_instance(
    alice: User, bob: User, ward: Group
) -> None:
    stale = Group.objects.get(pk=ward.pk)
    with transaction.atomic():
        ward.name = "ward-8"
        audited_save(ward, actor=alice, action="update", reason="moved")
    with transaction.atomic():
        stale.name = "ward-9"
        event = audited_save(stale, actor=bob, action="update", reason="moved again")
    assert event is not None
    assert event.changes == {"name": ["ward-8", "ward-9"]}  # not ward-7, the stale value
    assert event.reason == "moved again"


@pytest.mark.django_db
def test_update_that_changes_nothing_writes_nothing(alice: User, ward: Group) -> None:
    with transaction.atomic():
        assert audited_save(ward, actor=alice, action="update", reason="no-op") is None
    assert AuditEvent.objects.count() == 0


@pytest.mark.django_db
def test_delete_without_reason_is_refused_and_keeps_the_row(alice: User, ward: Group) -> None:
    with pytest.raises(ReasonRequired), transaction.atomic():
        audited_delete(ward, actor=alice, reason="")
    assert Group.objects.filter(pk=ward.pk).exists()
    assert AuditEvent.objects.count() == 0


@pytest.mark.django_db
def test_delete_records_the_last_values(alice: User, ward: Group) -> None:
    with transaction.atomic():
        event = audited_delete(
            ward, actor=alice, reason="entered twice", site_code="BAR", participant_ref="BAR-002"
        )
    assert not Group.objects.filter(name="ward-7").exists()
    assert event.changes == {"name": ["ward-7", None]}
    assert (event.reason, event.site_code, event.participant_ref) == (
        "entered twice", "BAR", "BAR-002",
    )  # fmt: skip


@pytest.mark.django_db
def test_change_and_event_roll_back_together(alice: User, ward: Group) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        ward.name = "ward-8"
        audited_save(ward, actor=alice, action="update", reason="moved")
        raise RuntimeError("a later step of the action failed")
    assert Group.objects.get(pk=ward.pk).name == "ward-7"
    assert AuditEvent.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_audited_save_outside_a_transaction_is_refused() -> None:
    with pytest.raises(TransactionRequired):
        audited_save(Group(name="ward-1"), actor=None, action="create")
    assert not Group.objects.exists()


@pytest.mark.django_db
def test_password_hashes_never_reach_the_trail(alice: User, bob: User) -> None:
    with transaction.atomic():
        bob.set_password("a long enough secret 42")
        bob.email = "bob@example.org"
        event = audited_save(bob, actor=alice, action="update", reason="password reset")
    assert event is not None
    assert event.changes["password"] == [REDACTED, REDACTED]
    assert event.changes["email"] == ["", "bob@example.org"]
    assert "argon2" not in str(event.changes) and "pbkdf2" not in str(event.changes)


@pytest.fixture
def probe_model(transactional_db: None) -> Iterator[type[models.Model]]:
    """A throw-away data model with row history (the real ones live in other apps)."""
    from simple_history.models import registered_models

    from combat_norse.audit.history import has_history, trial_history

    class AuditProbe(models.Model):
        name = models.CharField(max_length=40)
        history = trial_history()

        class Meta:
            app_label = "audit"

        def __str__(self) -> str:
            return self.name

    historical = AuditProbe.history.model
    assert has_history(AuditProbe)
    with connection.schema_editor() as editor:
        editor.create_model(AuditProbe)
        editor.create_model(historical)
    try:
        yield AuditProbe
    finally:
        with connection.schema_editor() as editor:
            editor.delete_model(historical)
            editor.delete_model(AuditProbe)
        for model in (AuditProbe, historical):
            apps.all_models["audit"].pop(model._meta.model_name, None)
            registered_models.pop(model._meta.db_table, None)
        apps.clear_cache()


@pytest.mark.django_db(transaction=True)
def test_row_history_gets_the_actor_and_the_full_reason(
    probe_model: Any, alice: User, bob: User
) -> None:
    long_reason = "duplicate entry found at monitoring visit; " + "x" * 150
    with transaction.atomic():
        row = probe_model(name="a")
        audited_save(row, actor=alice, action="create")
        row.name = "b"
        audited_save(row, actor=bob, action="update", reason="typo")
        audited_delete(row, actor=bob, reason=long_reason)
    history = list(probe_model.history.order_by("history_id"))
    assert [h.history_type for h in history] == ["+", "~", "-"]
    assert [h.history_user for h in history] == [alice, bob, bob]
    assert [h.history_change_reason for h in history] == [None, "typo", long_reason]
    assert "_change_reason" not in row.__dict__
    assert AuditEvent.objects.count() == 3
