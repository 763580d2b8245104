# Issue 19: events are appended without a shared lock and sealed into a Merkle tree.
# seq becomes an identity column (the database numbers events; no lock, gaps after a
# rollback); xid records the writing transaction on PostgreSQL (existing events get this
# migration's xid, so they stay first, in seq order); AuditTrail holds the trail id that names
# the checkpoint folder; AuditLeaf is each event's place in the tree.

import django.db.models.deletion
from django.db import migrations, models

import combat_norse.audit.models


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0003_event_operator'),
    ]

    operations = [
        migrations.CreateModel(
            name='AuditTrail',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('trail_id', models.UUIDField(editable=False, unique=True)),
                ('created_at', models.DateTimeField(editable=False)),
            ],
            options={
                'default_permissions': (),
            },
        ),
        migrations.AddField(
            model_name='auditevent',
            name='xid',
            field=models.BigIntegerField(db_default=combat_norse.audit.models.CurrentTransactionId(), db_index=True, editable=False, null=True),
        ),
        migrations.AlterField(
            model_name='auditevent',
            name='seq',
            field=models.BigAutoField(editable=False, primary_key=True, serialize=False),
        ),
        migrations.CreateModel(
            name='AuditLeaf',
            fields=[
                ('position', models.PositiveBigIntegerField(editable=False, primary_key=True, serialize=False)),
                ('leaf_hash', models.CharField(editable=False, max_length=64)),
                ('event', models.OneToOneField(editable=False, on_delete=django.db.models.deletion.PROTECT, related_name='leaf', to='audit.auditevent')),
            ],
            options={
                'ordering': ('position',),
                'default_permissions': (),
            },
        ),
    ]


# PostgreSQL: the sealer's tables are append-only like the events (the trigger function of
# migration 0002 refuses UPDATE and DELETE, and TRUNCATE outside the test suite's flush).
SEALED_TABLES = ("audit_auditleaf", "audit_audittrail")


def _triggers(apps: object, schema_editor: object) -> None:
    connection = schema_editor.connection  # type: ignore[attr-defined]
    if connection.vendor != "postgresql":
        return
    for table in SEALED_TABLES:
        schema_editor.execute(  # type: ignore[attr-defined]
            f"CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION audit_auditevent_append_only();"
        )
        schema_editor.execute(  # type: ignore[attr-defined]
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION audit_auditevent_append_only();"
        )


def _continue_numbering(apps: object, schema_editor: object) -> None:
    """The new identity column starts after the last existing event (PostgreSQL)."""
    connection = schema_editor.connection  # type: ignore[attr-defined]
    if connection.vendor != "postgresql":
        return
    schema_editor.execute(  # type: ignore[attr-defined]
        "SELECT setval(pg_get_serial_sequence('audit_auditevent', 'seq'),"
        " COALESCE(MAX(seq), 0) + 1, false) FROM audit_auditevent"
    )


def _drop_triggers(apps: object, schema_editor: object) -> None:
    connection = schema_editor.connection  # type: ignore[attr-defined]
    if connection.vendor != "postgresql":
        return
    for table in SEALED_TABLES:
        for suffix in ("no_update_delete", "no_truncate"):
            schema_editor.execute(  # type: ignore[attr-defined]
                f"DROP TRIGGER IF EXISTS {table}_{suffix} ON {table};"
            )


Migration.operations += [
    migrations.RunPython(_continue_numbering, migrations.RunPython.noop, elidable=False),
    migrations.RunPython(_triggers, _drop_triggers, elidable=False),
]
