"""Delete OutcomeAssessment (issue 15): outcome entries are data capture's outcome forms now.
Its rows were copied into them first by ``crf`` 0002, which this migration runs after."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('participants', '0002_historicalassessorassignment_and_more'),
        ('crf', '0002_outcome_assessments_to_forms'),  # the rows are copied before
    ]

    operations = [
        migrations.DeleteModel(name='HistoricalOutcomeAssessment'),
        migrations.DeleteModel(name='OutcomeAssessment'),
    ]
