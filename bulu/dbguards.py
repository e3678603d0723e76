"""Database-side guards, as migration operations.

`append_only(table)` makes a table insert-only on PostgreSQL: a row trigger refuses every
UPDATE and DELETE, whatever role runs it (the app's, an admin's psql session, a raw cursor).
TRUNCATE fires no row trigger, so the test runner's flush between tests still empties the table.
On other databases (SQLite in the tests and in development) the operation does nothing: there
the models' managers are the guard.

Use it in a migration of the table's app, after the table exists:

    from bulu.dbguards import append_only

    operations = [..., append_only("accounts_rolechange")]
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

# One function for every guarded table; each table gets its own trigger calling it.
FUNCTION = "bulu_refuse_change"

CREATE_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;
"""


def trigger_name(table: str) -> str:
    """The name of `table`'s append-only trigger (for `ALTER TABLE ... DISABLE TRIGGER`)."""
    return f"{table}_append_only"


class PostgresOnlySQL(migrations.RunSQL):
    """`RunSQL` that runs on PostgreSQL only and is a no-op elsewhere, both ways."""

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


def append_only(table: str) -> migrations.RunSQL:
    """A migration operation: on PostgreSQL, refuse UPDATE and DELETE of `table`'s rows.

    Reversible: going back drops the trigger (the shared function stays; other tables use it).
    """
    trigger = trigger_name(table)
    return PostgresOnlySQL(
        sql=[
            CREATE_FUNCTION,
            f'DROP TRIGGER IF EXISTS "{trigger}" ON "{table}"',
            f'CREATE TRIGGER "{trigger}" BEFORE UPDATE OR DELETE ON "{table}"'
            f" FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()",
        ],
        reverse_sql=[f'DROP TRIGGER IF EXISTS "{trigger}" ON "{table}"'],
    )
