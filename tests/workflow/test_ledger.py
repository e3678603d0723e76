"""The approval log cannot be changed: managers, PostgreSQL trigger, hash chain, verify_log."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.migrations.loader import MigrationLoader
from django.db.models import ProtectedError

from bulu.dbguards import trigger_name
from bulu.workflow.ledger import log_verify, record_digest, record_values
from bulu.workflow.models import ApprovalRecord, BackfillRequest, Decision, ImmutableError
from bulu.workflow.services import requests_move_bulk
from personal import services
from personal.models import PersonalRequest
from tests.conftest import School, decide
from tests.exports.conftest import approved_request

TABLE = ApprovalRecord._meta.db_table


def _walked(school: School, draft: PersonalRequest) -> PersonalRequest:
    """Submitted, then approved at the counselor's and the secretary's steps: three records."""
    request = services.personal_request_submit(request=draft, actor=school.alice)
    decide(request, school.bob, Decision.APPROVE, "同意")
    decide(request, school.carol, Decision.APPROVE, "情况属实")
    return request


def _trigger_off(cursor: Any) -> None:
    """On PostgreSQL the trigger refuses any tampering; the table's owner can switch it off
    (here inside the test's transaction, which rolls back)."""
    if connection.vendor == "postgresql":
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE wants no pending checks
        cursor.execute(f'ALTER TABLE {TABLE} DISABLE TRIGGER "{trigger_name(TABLE)}"')


def _verify() -> tuple[int, str, str]:
    """Run `manage.py verify_log`: (exit code, stdout, stderr)."""
    import io

    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_log", stdout=out, stderr=err)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def test_each_record_is_chained_to_the_previous_record_of_its_request(
    school: School, draft: PersonalRequest
) -> None:
    request = _walked(school, draft)
    records = list(ApprovalRecord.objects.filter(request=request).order_by("pk"))
    assert [r.decision for r in records] == [Decision.SUBMIT, Decision.APPROVE, Decision.APPROVE]
    prev = ""
    for record in records:
        assert record.prev_hash == prev
        assert len(record.hash) == 64
        assert record.hash == record_digest(record_values(record), prev)
        prev = record.hash
    assert log_verify() == ([], 1, 3)


def test_bulk_moves_chain_their_records_to_each_requests_log(school: School) -> None:
    a = approved_request(school)
    b = approved_request(school, applicant=school.olivia)
    for _round, (transition, decision) in enumerate(
        [("mark_exported", Decision.EXPORT), ("unmark_exported", Decision.EXPORT_CANCEL)]
    ):
        with transaction.atomic():
            requests_move_bulk(
                requests=BackfillRequest.objects.filter(pk__in=[a.pk, b.pk]),
                transition=transition,
                actor=school.dave,
                decision=decision,
                context={"export_batch": 1},
            )
    for req in (a, b):
        first, second = ApprovalRecord.objects.filter(request=req).order_by("pk")
        assert first.prev_hash == "" and second.prev_hash == first.hash
        assert second.hash == record_digest(record_values(second), first.hash)
    assert log_verify() == ([], 2, 4)


def test_the_queryset_refuses_bulk_update_and_delete(
    school: School, draft: PersonalRequest
) -> None:
    request = _walked(school, draft)
    records = ApprovalRecord.objects.filter(request=request)
    for attempt in (
        lambda: records.update(opinion="改过"),
        lambda: records.delete(),
        lambda: ApprovalRecord.objects.bulk_update(list(records), ["opinion"]),
        # What Django's deletion collector calls for a fast delete of related rows.
        lambda: ApprovalRecord._base_manager.filter(request=request)._raw_delete(using="default"),
    ):
        with pytest.raises(ImmutableError), transaction.atomic():
            attempt()
    assert sorted(records.values_list("opinion", flat=True)) == ["", "同意", "情况属实"]


def test_a_request_with_approval_records_cannot_be_deleted(
    school: School, draft: PersonalRequest
) -> None:
    request = _walked(school, draft)
    with pytest.raises(ProtectedError):
        PersonalRequest.objects.get(pk=request.pk).delete()
    with pytest.raises(ProtectedError):
        BackfillRequest.objects.filter(pk=request.pk).delete()
    assert ApprovalRecord.objects.filter(request=request).count() == 3
    assert PersonalRequest.objects.filter(pk=request.pk).exists()


def test_verify_log_says_ok_with_counts(school: School, draft: PersonalRequest) -> None:
    _walked(school, draft)
    approved_request(school, applicant=school.olivia)  # a request without records
    code, out, _err = _verify()
    assert code == 0
    assert "OK" in out and "1 个申请、3 条审批记录" in out


def test_verify_log_finds_a_record_changed_behind_the_apps_back(
    school: School, draft: PersonalRequest
) -> None:
    request = _walked(school, draft)
    _first, second, third = ApprovalRecord.objects.filter(request=request).order_by("pk")
    with connection.cursor() as cursor:
        _trigger_off(cursor)
        cursor.execute(f"UPDATE {TABLE} SET opinion = %s WHERE id = %s", ["不同意", second.pk])  # noqa: S608
    code, _out, err = _verify()
    assert code == 1
    assert f"申请 #{request.pk}：审批记录 #{second.pk} 处断开" in err
    assert "记录内容与其校验值不符" in err
    assert f"#{third.pk}" not in err  # the first break of the chain only


def test_verify_log_finds_a_deleted_record(school: School, draft: PersonalRequest) -> None:
    request = _walked(school, draft)
    _first, second, third = ApprovalRecord.objects.filter(request=request).order_by("pk")
    with connection.cursor() as cursor:
        _trigger_off(cursor)
        cursor.execute(f"DELETE FROM {TABLE} WHERE id = %s", [second.pk])  # noqa: S608
    code, _out, err = _verify()
    assert code == 1
    assert f"审批记录 #{third.pk} 处断开" in err and "衔接不上" in err


def test_the_migration_seals_records_stored_before_the_chain_in_order(
    school: School, draft: PersonalRequest
) -> None:
    from importlib import import_module

    _walked(school, draft)
    approved_request(school, applicant=school.olivia)
    with transaction.atomic():
        requests_move_bulk(
            requests=BackfillRequest.objects.filter(applicant=school.olivia),
            transition="mark_exported",
            actor=school.dave,
            decision=Decision.EXPORT,
        )
    sealed = dict(ApprovalRecord.objects.values_list("pk", "hash"))
    with connection.cursor() as cursor:
        _trigger_off(cursor)
        cursor.execute(f"UPDATE {TABLE} SET hash = '', prev_hash = ''")  # noqa: S608
    assert log_verify()[0]  # unsealed rows do not verify
    name = "0010_approvalrecord_hash_chain"
    migration = import_module(f"bulu.workflow.migrations.{name}")
    state = MigrationLoader(connection).project_state(("workflow", name))
    migration.seal_existing(state.apps, None)
    assert dict(ApprovalRecord.objects.values_list("pk", "hash")) == sealed
    assert log_verify() == ([], 2, 4)


@pytest.mark.django_db(transaction=True)
def test_postgresql_refuses_update_and_delete_of_records_whatever_the_role(
    require_postgres: None, school: School, draft: PersonalRequest
) -> None:
    request = _walked(school, draft)
    pk = ApprovalRecord.objects.filter(request=request).order_by("pk").values_list("pk")[0][0]
    for sql in (
        f"UPDATE {TABLE} SET opinion = 'x' WHERE id = %s",  # noqa: S608
        f"DELETE FROM {TABLE} WHERE id = %s",  # noqa: S608
    ):
        with (
            pytest.raises(IntegrityError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [pk])
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (True,)  # even a superuser is refused
    assert ApprovalRecord.objects.filter(request=request).count() == 3
    assert log_verify() == ([], 1, 3)


@pytest.mark.django_db(transaction=True)
def test_postgresql_still_lets_the_test_runner_truncate_the_log(
    require_postgres: None, school: School, draft: PersonalRequest
) -> None:
    """pytest-django empties tables between transactional tests with TRUNCATE: no row trigger."""
    _walked(school, draft)

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {TABLE}")
        assert not ApprovalRecord.objects.exists()
        raise Undo
    assert ApprovalRecord.objects.count() == 3
