"""On PostgreSQL the role-change log is append-only for every client: a row is never deleted,
its proposal never changes, and its decision (confirm / refuse / withdraw) is written once."""

from django.db import migrations

from bulu.dbguards import PostgresOnlySQL

FORWARD = """
CREATE OR REPLACE FUNCTION accounts_rolechange_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'accounts_rolechange is append-only: DELETE refused'
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF OLD.status <> 'pending'
       OR NEW.user_id <> OLD.user_id OR NEW.organization_id <> OLD.organization_id
       OR NEW.role <> OLD.role OR NEW.action <> OLD.action OR NEW.source <> OLD.source
       OR NEW.proposed_by_id IS DISTINCT FROM OLD.proposed_by_id
       OR NEW.proposed_at <> OLD.proposed_at THEN
        RAISE EXCEPTION 'accounts_rolechange: only a pending change is decided, once'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER accounts_rolechange_guard BEFORE UPDATE OR DELETE ON accounts_rolechange
    FOR EACH ROW EXECUTE FUNCTION accounts_rolechange_guard();
"""
BACKWARD = """
DROP TRIGGER IF EXISTS accounts_rolechange_guard ON accounts_rolechange;
DROP FUNCTION IF EXISTS accounts_rolechange_guard();
"""


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_role_change_log")]

    operations = [PostgresOnlySQL(FORWARD, BACKWARD)]
