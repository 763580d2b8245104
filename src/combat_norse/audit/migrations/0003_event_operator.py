# Who ran the command line that wrote an event (issue 14): hashed only when non-empty.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0002_append_only_trigger'),
    ]

    operations = [
        migrations.AddField(
            model_name='auditevent',
            name='operator',
            field=models.CharField(blank=True, db_default='', default='', editable=False, max_length=150),
        ),
    ]
