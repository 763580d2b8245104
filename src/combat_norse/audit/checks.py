"""System checks of the audit trail (DESIGN.md principle 7).

``audit.W001`` (database check, run by ``migrate`` and ``check --database default``): on
PostgreSQL an append-only trigger (migration 0002 on the events, 0004 on the tree's leaves and
the trail id) is missing or disabled.
"""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Tags, Warning, register
from django.db import DatabaseError, connections


@register(Tags.database)
def check_append_only_trigger(databases: Any = None, **kwargs: Any) -> list[CheckMessage]:
    problems: list[CheckMessage] = []
    for alias in databases or ():
        connection = connections[alias]
        if connection.vendor != "postgresql":
            continue
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT to_regclass('audit_auditevent') IS NOT NULL")
                row = cursor.fetchone()
                if not row or not row[0]:
                    continue  # not migrated yet
                cursor.execute(
                    "SELECT count(*) FROM pg_trigger WHERE tgenabled <> 'D' AND tgname IN"
                    " ('audit_auditevent_no_update_delete', 'audit_auditleaf_no_update_delete',"
                    " 'audit_audittrail_no_update_delete')"
                )
                enabled = cursor.fetchone()
                cursor.execute("SELECT to_regclass('audit_auditleaf') IS NOT NULL")
                sealed = cursor.fetchone()
        except DatabaseError:
            continue
        expected = 3 if sealed and sealed[0] else 1  # before migration 0004: the events only
        if not enabled or enabled[0] < expected:
            problems.append(
                Warning(
                    "an append-only trigger of the audit tables is missing or disabled",
                    hint="run `manage.py migrate audit`; re-enable with ALTER TABLE "
                    "audit_auditevent (audit_auditleaf, audit_audittrail) ENABLE TRIGGER ALL, "
                    "then run `combat-norse audit verify`",
                    id="audit.W001",
                )
            )
    return problems
