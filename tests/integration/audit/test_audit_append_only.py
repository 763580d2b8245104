"""The trail is append-only: through the ORM and, on PostgreSQL, in the database."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.core.checks import run_checks
from django.db import DatabaseError, connection, transaction
from django.db.models import ProtectedError
from django.test import RequestFactory

from combat_norse.audit.exceptions import AppendOnlyError
from combat_norse.audit.models import AuditEvent

pytestmark = pytest.mark.req("#3")

Events = Callable[[int], list[AuditEvent]]


@pytest.mark.django_db
def test_an_event_cannot_be_saved_again_or_deleted(make_events: Events) -> None:
    event = make_events(1)[0]
    event.reason = "rewritten"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    assert AuditEvent.objects.get().reason == "correction 1"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "write",
    [
        lambda: AuditEvent.objects.update(reason="x"),
        lambda: AuditEvent.objects.filter(seq=1).update(reason="x"),
        lambda: AuditEvent.objects.all().delete(),
        lambda: AuditEvent.objects.bulk_update(list(AuditEvent.objects.all()), ["reason"]),
        lambda: AuditEvent.objects.bulk_create([AuditEvent(seq=9, action="create")]),
        lambda: AuditEvent.objects.create(seq=9, action="create"),
    ],
    ids=["update", "filter-update", "delete", "bulk_update", "bulk_create", "create"],
)
def test_bulk_writes_through_the_orm_are_refused(
    make_events: Events, write: Callable[[], Any]
) -> None:
    make_events(2)
    with pytest.raises(AppendOnlyError):
        write()
    assert AuditEvent.objects.count() == 2


@pytest.mark.django_db
def test_a_user_who_acted_cannot_be_deleted(alice: User, make_events: Events) -> None:
    make_events(1)
    with pytest.raises(ProtectedError):
        alice.delete()


@pytest.mark.django_db
def test_admin_shows_the_trail_read_only(make_events: Events) -> None:
    make_events(1)
    model_admin = admin.site._registry[AuditEvent]
    request = RequestFactory().get("/")
    request.user = User.objects.create_superuser("root", password=None)
    event = AuditEvent.objects.get()
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, event)
    assert not model_admin.has_delete_permission(request, event)
    assert model_admin.has_view_permission(request, event)


@pytest.mark.django_db
@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditevent SET reason = 'rewritten' WHERE seq = %s",
        "DELETE FROM audit_auditevent WHERE seq = %s",
    ],
    ids=["update", "delete"],
)
def test_postgres_trigger_refuses_raw_update_and_delete(make_events: Events, sql: str) -> None:
    (event,) = make_events(1)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, [event.seq])
    assert AuditEvent.objects.get().reason == "correction 1"


@pytest.mark.django_db
@pytest.mark.postgres
def test_postgres_trigger_refuses_truncate_unless_the_session_allows_it() -> None:
    """Migration 0002's SQL in a scratch database, in a session that did not set
    ``combat_norse.allow_audit_truncate`` (the test suite's own sessions do)."""
    migration = importlib.import_module("combat_norse.audit.migrations.0002_append_only_trigger")
    params = connection.settings_dict
    conninfo = {
        "host": params["HOST"] or None,
        "port": params["PORT"] or None,
        "user": params["USER"] or None,
        "password": params["PASSWORD"] or None,
    }
    scratch = f"audit_probe_{os.getpid()}"
    with psycopg.connect(dbname="postgres", autocommit=True, **conninfo) as admin_conn:
        admin_conn.execute(f'CREATE DATABASE "{scratch}"')
        try:
            with psycopg.connect(dbname=scratch, autocommit=True, **conninfo) as conn:
                conn.execute("CREATE TABLE audit_auditevent (seq bigint PRIMARY KEY)")
                for sql in migration.FORWARD_SQL:
                    conn.execute(sql)
                conn.execute("INSERT INTO audit_auditevent VALUES (1)")
                for sql in (
                    "TRUNCATE audit_auditevent",
                    "UPDATE audit_auditevent SET seq = 2",
                    "DELETE FROM audit_auditevent",
                ):
                    with pytest.raises(psycopg.errors.InsufficientPrivilege):
                        conn.execute(sql)
                assert conn.execute("SELECT count(*) FROM audit_auditevent").fetchone() == (1,)
                conn.execute("SET combat_norse.allow_audit_truncate = 'on'")
                conn.execute("TRUNCATE audit_auditevent")  # what Django's test flush needs
                assert conn.execute("SELECT count(*) FROM audit_auditevent").fetchone() == (0,)
        finally:
            admin_conn.execute(f'DROP DATABASE "{scratch}"')


@pytest.mark.django_db
@pytest.mark.postgres
@pytest.mark.parametrize("table", ["audit_auditevent", "audit_auditleaf", "audit_audittrail"])
def test_system_check_warns_when_the_trigger_is_disabled(table: str) -> None:
    assert not [m for m in run_checks(databases=["default"]) if m.id == "audit.W001"]
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER ALL")
    assert [m.id for m in run_checks(databases=["default"]) if m.id == "audit.W001"] == [
        "audit.W001"
    ]
