# CreditRecord moves from the imports app to this one. Its table stays `imports_creditrecord`
# (with its index, constraint and rows): only Django's state changes, plus the content type, so
# that permissions granted on credit records (and admin log entries) follow the model.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def content_type_to_credits(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="credits", model="creditrecord").exists():
        ContentType.objects.filter(app_label="imports", model="creditrecord").update(
            app_label="credits"
        )


def content_type_to_imports(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="imports", model="creditrecord").exists():
        ContentType.objects.filter(app_label="credits", model="creditrecord").update(
            app_label="imports"
        )


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("imports", "0004_roster_entries"),
        ("workflow", "0006_alter_routestep_options"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='CreditRecord',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('source_key', models.CharField(max_length=64, verbose_name='来源')),
                        ('student_no', models.CharField(db_index=True, max_length=32, verbose_name='学号')),
                        ('student_name', models.CharField(max_length=64, verbose_name='姓名')),
                        ('start_date', models.DateField(verbose_name='开始时间')),
                        ('end_date', models.DateField(blank=True, null=True, verbose_name='结束时间')),
                        ('content', models.CharField(max_length=200, verbose_name='内容')),
                        ('category', models.CharField(max_length=64, verbose_name='活动一级分类')),
                        ('subcategory', models.CharField(max_length=64, verbose_name='活动二级分类')),
                        ('level', models.CharField(max_length=32, verbose_name='活动等级')),
                        ('award', models.CharField(blank=True, max_length=200, verbose_name='奖项内容')),
                        ('credit_type', models.CharField(max_length=64, verbose_name='学分类型')),
                        ('value', models.DecimalField(decimal_places=2, max_digits=7, null=True, verbose_name='发放学分值')),
                        ('delivery', models.CharField(choices=[('batch', '名单导入'), ('in_platform', '到梦空间内审核通过')], default='batch', max_length=16, verbose_name='发放方式')),
                        ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='创建时间')),
                        ('request', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='credit_records', to='workflow.backfillrequest', verbose_name='申请')),
                        ('student', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='credit_records', to=settings.AUTH_USER_MODEL, verbose_name='学生')),
                    ],
                    options={
                        'verbose_name': '成长记录',
                        'verbose_name_plural': '成长记录',
                        'ordering': ['pk'],
                        'db_table': 'imports_creditrecord',
                        'indexes': [models.Index(fields=['student_no', 'content', 'start_date', 'credit_type'], name='imports_cre_student_e8d349_idx')],
                        'constraints': [models.UniqueConstraint(fields=('request', 'source_key'), name='credit_once_per_source')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_type_to_credits, content_type_to_imports),
    ]
