"""System checks of the audit trail (DESIGN.md principle 7).

``audit.W001`` (database check, run by ``migrate`` and ``check --database default``): on
PostgreSQL the append-only trigger of migration 0002 is missing or disabled.
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
                    "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'audit_auditevent'::regclass"
                    " AND tgname = 'audit_auditevent_no_update_delete' AND tgenabled <> 'D'"
                )
                enabled = cursor.fetchone()
        except DatabaseError:
            continue
        if not enabled or enabled[0] == 0:
            problems.append(
                Warning(
                    "the append-only trigger of the audit table is missing or disabled",
                    hint="run `manage.py migrate audit`; re-enable with ALTER TABLE "
                    "audit_auditevent ENABLE TRIGGER ALL, then run `combat-norse audit verify`",
                    id="audit.W001",
                )
            )
    return problems
