# CreditRecord moved to the credits app (same table): the foreign key changes in state only.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("credits", "0001_initial"),
        ("exports", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="exportitem",
                    name="record",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="credits.creditrecord",
                    ),
                ),
            ],
            database_operations=[],
        ),
    ]
