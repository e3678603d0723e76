# Evidence belongs to its request (and is "staged" until its item is saved).

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill_request(apps, schema_editor):
    Evidence = apps.get_model("personal", "Evidence")
    PersonalItem = apps.get_model("personal", "PersonalItem")
    Evidence.objects.update(
        request_id=Subquery(PersonalItem.objects.filter(pk=OuterRef("item_id")).values("request_id"))
    )


class Migration(migrations.Migration):

    dependencies = [
        ("personal", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="evidence",
            name="request",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="personal.personalrequest",
                verbose_name="申请",
            ),
        ),
        migrations.RunPython(fill_request, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="evidence",
            name="request",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="personal.personalrequest",
                verbose_name="申请",
            ),
        ),
        migrations.AlterField(
            model_name="evidence",
            name="item",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="evidence",
                to="personal.personalitem",
                verbose_name="事项",
            ),
        ),
    ]
