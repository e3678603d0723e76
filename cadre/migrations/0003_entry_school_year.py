"""Cadre entries carry the school year they are reported for, and copies of their request's
unit, mode and liveness (and whether they were credited) for the partial unique constraints."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


ENDED = ("withdrawn", "rejected")


def copy_request_facts(apps, schema_editor):
    CadreEntry = apps.get_model("cadre", "CadreEntry")
    CreditRecord = apps.get_model("credits", "CreditRecord")
    credited = set(
        CreditRecord.objects.filter(source_key__startswith="cadre-entry:").values_list(
            "source_key", flat=True
        )
    )
    for entry in CadreEntry.objects.select_related("request"):
        entry.unit_id = entry.request.applicant_org_id
        entry.mode = entry.request.mode
        entry.live = entry.request.state not in ENDED
        entry.credited = f"cadre-entry:{entry.pk}" in credited
        entry.save(update_fields=["unit", "mode", "live", "credited"])


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_user_must_change_password'),
        ('cadre', '0002_alter_cadreentry_options_alter_cadreevidence_options'),
        ('workflow', '0008_default_school_years'),
        ('credits', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='cadreentry',
            name='credited',
            field=models.BooleanField(default=False, verbose_name='已认定'),
        ),
        migrations.AddField(
            model_name='cadreentry',
            name='live',
            field=models.BooleanField(default=True, verbose_name='有效'),
        ),
        migrations.AddField(
            model_name='cadreentry',
            name='mode',
            field=models.CharField(choices=[('self', '个人上报'), ('unit_list', '单位名单')], default='self', max_length=16, verbose_name='上报方式'),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name='cadreentry',
            name='school_year',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='workflow.schoolyear', verbose_name='学年'),
        ),
        migrations.AddField(
            model_name='cadreentry',
            name='unit',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='accounts.organization', verbose_name='任职单位'),
        ),
        migrations.RunPython(copy_request_facts, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='cadreentry',
            name='unit',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='accounts.organization', verbose_name='任职单位'),
        ),
        migrations.AddConstraint(
            model_name='cadreentry',
            constraint=models.UniqueConstraint(condition=models.Q(('live', True)), fields=('student', 'unit', 'position', 'school_year', 'mode'), name='cadre_one_live_report_a_year'),
        ),
        migrations.AddConstraint(
            model_name='cadreentry',
            constraint=models.UniqueConstraint(condition=models.Q(('credited', True)), fields=('student', 'unit', 'position', 'school_year'), name='cadre_one_credit_a_year'),
        ),
    ]
