"""Suite-wide test configuration: the ``req`` marker is checked against the registry."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.backends.signals import connection_created

from combat_norse.protocol.requirements import unknown_codes


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    bad: list[str] = []
    for item in items:
        for mark in item.iter_markers(name="req"):
            if not mark.args:
                bad.append(f"{item.nodeid}: req marker without codes")
            for code in unknown_codes(list(mark.args)):
                bad.append(f"{item.nodeid}: unknown requirement code {code!r}")
    if bad:
        raise pytest.UsageError("invalid req markers:\n" + "\n".join(bad))


def _allow_audit_truncate(sender: object, connection: Any, **kwargs: object) -> None:
    """Django's test flush truncates every table; the audit trigger allows that only in a
    session that asks for it (see audit migration 0002)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET combat_norse.allow_audit_truncate = 'on'")


connection_created.connect(_allow_audit_truncate)

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


IMMEDIATE_TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def _test_settings(request: pytest.FixtureRequest) -> None:
    """Tasks run when enqueued (the database backend needs a worker process). The audit keys
    and checkpoints live in the test's temporary folder. Argon2 costs
    ~0.2 s a hash by design; tests that are not about hashing use MD5 so the suite stays fast
    (a test marked ``real_password_hashing`` keeps the production hashers)."""
    settings = request.getfixturevalue("settings")
    settings.TASKS = IMMEDIATE_TASKS
    # each test seals into its own key and checkpoint folders (never the developer's var/)
    audit_dir = request.getfixturevalue("tmp_path") / "audit"
    settings.COMBAT_NORSE_AUDIT_KEY_DIR = audit_dir / "keys"
    settings.COMBAT_NORSE_AUDIT_CHECKPOINT_DIR = audit_dir / "checkpoints"
    # nothing collected (the production storage then names each file as it is in the package,
    # which the live server's handler serves); tests/integration/web/test_static_files.py
    # collects into a folder of its own
    settings.STATIC_ROOT = audit_dir.parent / "static"
    settings.STATIC_ROOT.mkdir(exist_ok=True)
    if not request.node.get_closest_marker("real_password_hashing"):
        settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> Any:
    """pytest-django's test databases, and before they are dropped: end any backend that a
    test's process or thread left on a PostgreSQL test database (killed workers and sealers,
    two workers at once), so the teardown does not fail with "database ... is being accessed
    by other users"."""
    yield
    from django.db import connections

    with django_db_blocker.unblock():
        for alias in connections:
            connection = connections[alias]
            if connection.vendor != "postgresql":
                continue
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                               "WHERE datname = current_database() AND pid <> pg_backend_pid()")
