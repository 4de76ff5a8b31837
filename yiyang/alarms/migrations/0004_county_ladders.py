"""A county may give itself its own escalation ladder per alarm type (steps with a county).

Only ``alarms_escalationstep`` is rebuilt on SQLite: the triggers freezing closed
alarms live on other tables and stay.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('alarms', '0003_ladder_and_frozen_records'),
        ('areas', '0002_reference_divisions'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='escalationstep',
            name='escalation_step_unique',
        ),
        migrations.AddField(
            model_name='escalationstep',
            name='county',
            field=models.ForeignKey(blank=True, help_text='Empty: the city-wide ladder, followed by every county without its own.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='areas.area', verbose_name='county'),
        ),
        migrations.AddField(
            model_name='escalationstep',
            name='retired',
            field=models.BooleanField(default=False, editable=False, help_text="A county's step left when the county went back to the city ladder.", verbose_name='retired'),
        ),
        migrations.AddConstraint(
            model_name='escalationstep',
            constraint=models.UniqueConstraint(condition=models.Q(('county__isnull', True)), fields=('alarm_type', 'position'), name='escalation_step_unique'),
        ),
        migrations.AddConstraint(
            model_name='escalationstep',
            constraint=models.UniqueConstraint(condition=models.Q(('county__isnull', False)), fields=('alarm_type', 'county', 'position'), name='escalation_step_unique_county'),
        ),
    ]
