"""PostgreSQL: a trigger refuses UPDATE, DELETE and TRUNCATE of the audit table.

Nothing on other databases (SQLite, the embedded default, relies on the ORM guards and on
``combat-norse audit verify``). The table owner can still disable the trigger: that is the
"behind the application's back" case the hash chain catches.

TRUNCATE is allowed only in a session that set ``combat_norse.allow_audit_truncate = on``: the
test suite does, because Django's ``flush``, which ends every transactional test, truncates
all tables at once. (Whoever can set it can also disable the trigger as the table owner; the
hash chain is what catches that.)
"""

from typing import Any

from django.db import migrations

TABLE = "audit_auditevent"
FUNCTION = "audit_auditevent_append_only"
ROW_TRIGGER = "audit_auditevent_no_update_delete"
TRUNCATE_TRIGGER = "audit_auditevent_no_truncate"

FORWARD_SQL = [
    f"""
    CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'TRUNCATE'
           AND current_setting('combat_norse.allow_audit_truncate', true) = 'on' THEN
            RETURN NULL;
        END IF;
        RAISE EXCEPTION 'audit trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END
    $$;
    """,
    f"""
    CREATE TRIGGER {ROW_TRIGGER} BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION {FUNCTION}();
    """,
    f"""
    CREATE TRIGGER {TRUNCATE_TRIGGER} BEFORE TRUNCATE ON {TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}();
    """,
]
REVERSE_SQL = [
    f"DROP TRIGGER IF EXISTS {TRUNCATE_TRIGGER} ON {TABLE};",
    f"DROP TRIGGER IF EXISTS {ROW_TRIGGER} ON {TABLE};",
    f"DROP FUNCTION IF EXISTS {FUNCTION}();",
]


def forward(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for sql in FORWARD_SQL:
            schema_editor.execute(sql, params=None)  # None: "%" is not a placeholder


def reverse(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for sql in REVERSE_SQL:
            schema_editor.execute(sql, params=None)  # None: "%" is not a placeholder


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(forward, reverse, elidable=False)]
