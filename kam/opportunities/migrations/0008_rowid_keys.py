"""The revision and the kept assessment keyed by the deal's id as SQLite's rowid
(kam.opportunities.models.DealKey); nothing changes on PostgreSQL. SQLite rebuilds
both tables, copying their rows: the triggers that write to them are dropped first
and made again after. And forced moves indexed by time (a period's, whole book)."""

import django.db.models.deletion
from django.db import migrations, models

import kam.opportunities.models
from kam.opportunities import triggers


class Migration(migrations.Migration):
    dependencies = [
        ("opportunities", "0007_status_closed_index"),
    ]

    operations = [
        migrations.RunPython(triggers.uninstall, triggers.install),
        migrations.AlterField(
            model_name="factsrevision",
            name="opportunity",
            field=kam.opportunities.models.DealKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                primary_key=True,
                related_name="facts_revision",
                serialize=False,
                to="opportunities.opportunity",
            ),
        ),
        migrations.AlterField(
            model_name="storedassessment",
            name="opportunity",
            field=kam.opportunities.models.DealKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                primary_key=True,
                related_name="stored_assessment",
                serialize=False,
                to="opportunities.opportunity",
            ),
        ),
        migrations.RunPython(triggers.install, triggers.uninstall),
        migrations.AddIndex(
            model_name="forcedmove",
            index=models.Index(fields=["at"], name="forcedmove_at"),
        ),
    ]
