from django.db import migrations

from bulu.dbguards import append_only


class Migration(migrations.Migration):
    dependencies = [
        ("workflow", "0010_approvalrecord_hash_chain"),
    ]

    operations = [append_only("workflow_approvalrecord")]
