"""Load the 33 sites of the registration (PROTOCOL.md §12) from combat_norse.protocol.sites.

Re-running is harmless: sites are matched on code and updated in place. A later change to the
site list comes as a new data migration that calls the same function.
"""

from django.db import migrations


def load_sites(apps, schema_editor):  # type: ignore[no-untyped-def]
    from combat_norse.sites.data import load_sites as load

    load(apps.get_model("trial_sites", "Site"))


class Migration(migrations.Migration):
    dependencies = [("trial_sites", "0001_initial")]
    operations = [migrations.RunPython(load_sites, migrations.RunPython.noop)]
