"""Load Sichuan, the four seed cities and their county-level divisions (reference data)."""

from django.db import migrations

from yiyang.areas.reference import load_reference_divisions


def load(apps, schema_editor):
    load_reference_divisions(apps.get_model("areas", "Area"))


class Migration(migrations.Migration):
    dependencies = [("areas", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
