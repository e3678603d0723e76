"""Indexes for the statistics page's "oldest waiting" lists, on the workflow's request table.

Created here (plain SQL, partial indexes that SQLite and PostgreSQL both understand) so the
workflow app's migrations stay untouched; see docs/decisions.md.
"""

from django.db import migrations

TABLE = "workflow_backfillrequest"

class Migration(migrations.Migration):
    dependencies = [
        ("stats", "0001_initial"),
        ("workflow", "0005_todo_queue_and_tallies"),
    ]

    operations = [
        migrations.RunSQL(
            f"CREATE INDEX stats_pending_oldest ON {TABLE} (updated_at, id) WHERE state = 'pending'",
            "DROP INDEX stats_pending_oldest",
        ),
        migrations.RunSQL(
            f"CREATE INDEX stats_pending_college ON {TABLE} (college_id, updated_at, id)"
            " WHERE state = 'pending'",
            "DROP INDEX stats_pending_college",
        ),
        migrations.RunSQL(
            f"CREATE INDEX stats_pending_unit ON {TABLE} (applicant_org_id, updated_at, id)"
            " WHERE state = 'pending'",
            "DROP INDEX stats_pending_unit",
        ),
    ]
