"""Two staff members exporting at the same moment on PostgreSQL: no record in two batches."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from bulu.exceptions import ApplicationError
from bulu.workflow.ledger import log_verify
from bulu.workflow.models import ApprovalRecord, BackfillRequest, Decision, State
from credits.models import CreditRecord
from exports.models import ExportBatch, ExportItem
from exports.selectors import ExportFilters
from exports.services import export_batch_cancel, export_batch_create
from tests.conftest import School
from tests.exports.conftest import approved_request

ROUNDS = 3


def _both_at_once(*work: object) -> list[str]:
    """Run the callables in two threads released together; their outcomes (or messages)."""
    barrier = threading.Barrier(len(work))
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(fn: object) -> None:
        barrier.wait()
        try:
            result = str(fn())  # type: ignore[operator]
        except ApplicationError as exc:
            result = exc.message
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run, args=(fn,)) for fn in work]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


def _two_at_once(school: School) -> list[str]:
    def export() -> str:
        return f"ok:{export_batch_create(actor=school.dave, filters=ExportFilters()).rows}"

    return _both_at_once(export, export)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_it_never_puts_one_record_in_two_live_batches(
    require_postgres: None, school: School
) -> None:
    for person in (school.alice, school.olivia, school.gina):
        approved_request(school, applicant=person, records=40)
    total = CreditRecord.objects.count()
    for round_no in range(1, ROUNDS + 1):
        outcomes = _two_at_once(school)
        assert len(outcomes) == 2, outcomes
        rows = sum(int(o.split(":")[1]) for o in outcomes if o.startswith("ok:"))
        assert rows == total, outcomes  # every record in exactly one of the two batches
        assert ExportItem.objects.filter(active=True).count() == total
        assert ExportItem.objects.filter(active=True).values("record").distinct().count() == total
        assert set(BackfillRequest.objects.values_list("state", flat=True)) == {State.EXPORTED}
        moved = ApprovalRecord.objects.filter(decision=Decision.EXPORT, to_state=State.EXPORTED)
        assert moved.count() == 3 * round_no  # each request moved once per round
        for batch in ExportBatch.objects.filter(state=ExportBatch.State.CREATED):
            export_batch_cancel(batch=batch, actor=school.dave)
        assert not ExportItem.objects.filter(active=True).exists()
        assert log_verify()[0] == []
        connection.close()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_disjoint_batches_at_once_still_move_the_request_they_share(
    require_postgres: None, school: School
) -> None:
    """One request, one record of each credit type; two staff export one type each at the same
    moment, then confirm both at the same moment: the request ends 已导入, told once."""
    from datetime import date
    from decimal import Decimal

    from bulu.workflow.models import Notification
    from exports.services import export_batch_confirm, export_batch_download

    shared = approved_request(school, credit_type="文体活动学分")
    CreditRecord.objects.create(
        request=shared,
        source_key="item:volunteer",
        student=school.alice,
        student_no=school.alice.username,
        student_name=school.alice.name,
        start_date=date(2025, 11, 6),
        content="校运动会志愿服务",
        category="志愿公益",
        subcategory="志愿公益",
        level="校级",
        credit_type="志愿者工时",
        value=Decimal(4),
    )
    made = _both_at_once(
        lambda: (
            export_batch_create(
                actor=school.dave, filters=ExportFilters(credit_type="文体活动学分")
            ).pk
        ),
        lambda: (
            export_batch_create(
                actor=school.dave,
                filters=ExportFilters(credit_type="志愿者工时"),
            ).pk
        ),
    )
    assert all(o.isdigit() for o in made), made
    shared.refresh_from_db()
    assert shared.state == State.EXPORTED
    batches = list(ExportBatch.objects.order_by("pk"))
    for batch in batches:
        export_batch_download(batch=batch, actor=school.dave)[0].close()
    confirmed = _both_at_once(
        *(lambda b=b: export_batch_confirm(batch=b, actor=school.dave).pk for b in batches)
    )
    assert sorted(confirmed) == sorted(str(b.pk) for b in batches), confirmed
    shared.refresh_from_db()
    assert shared.state == State.IMPORTED
    told = Notification.objects.filter(request=shared, text__contains="已补录到到梦空间")
    assert told.count() == 1
    # Four writers appended to the request's log at once: its chain did not fork.
    assert log_verify() == ([], 1, 4)
