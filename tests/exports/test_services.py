"""Batch life on the services: create, download, confirm, cancel, with their state changes."""

from __future__ import annotations

import hashlib
import zipfile
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from bulu.exceptions import AccessDenied, ApplicationError
from bulu.workflow.models import (
    ApprovalRecord,
    BackfillRequest,
    Decision,
    Notification,
    RequestTally,
    State,
)
from bulu.workflow.tallies import tallies_rebuild, tally_counts
from credits.models import CreditRecord
from exports.models import ExportBatch, ExportItem
from exports.selectors import ExportFilters, export_pool, export_pool_summary, in_platform_records
from exports.services import (
    export_batch_cancel,
    export_batch_confirm,
    export_batch_create,
    export_batch_download,
)
from tests.conftest import School
from tests.exports.conftest import approved_request

ALL = ExportFilters()


def _state(req: BackfillRequest) -> str:
    return BackfillRequest.objects.get(pk=req.pk).state


def _read(batch: ExportBatch) -> bytes:
    opened, _name, _type = export_batch_download(batch=batch, actor=batch.created_by)
    with opened:
        return opened.read()


def test_it_exports_the_pool_and_moves_requests_whose_records_are_all_in_batches(
    school: School,
) -> None:
    a = approved_request(school, records=2)
    o = approved_request(school, applicant=school.olivia, records=1)
    CreditRecord.objects.create(
        request=o,
        source_key="online",
        student_no=school.olivia.username,
        student_name=school.olivia.name,
        start_date=o.credit_records.get().start_date,
        content="线上申请",
        category="文体活动",
        subcategory="文体活动",
        level="校级",
        credit_type="文体活动学分",
        value=Decimal(1),
        delivery=CreditRecord.Delivery.IN_PLATFORM,
    )
    versions = {r.pk: r.version for r in BackfillRequest.objects.all()}
    summary = export_pool_summary(filters=ALL)
    assert [(t.credit_type, t.records, t.total) for t in summary] == [
        ("文体活动学分", 3, Decimal("1.50"))
    ]

    batch = export_batch_create(actor=school.dave, filters=ALL)

    assert batch.rows == 3 and batch.requests == 2 and batch.state == ExportBatch.State.CREATED
    assert batch.totals == [["文体活动学分", 3, "1.5"]]
    # the IN_PLATFORM record is never exported, and does not keep its request from moving
    assert not ExportItem.objects.filter(record__delivery=CreditRecord.Delivery.IN_PLATFORM)
    assert _state(a) == _state(o) == State.EXPORTED
    for r in BackfillRequest.objects.all():
        assert r.version == versions[r.pk] + 1
        assert r.waiting_org_id is None and r.waiting_role == ""
    log = ApprovalRecord.objects.get(request=a, decision=Decision.EXPORT)
    assert log.actor == school.dave and log.from_state == State.APPROVED
    assert log.to_state == State.EXPORTED and log.context == {"export_batch": batch.pk}
    assert tally_counts() == {State.EXPORTED: 2}
    assert export_pool(filters=ALL).count() == 0
    assert in_platform_records(filters=ALL).count() == 1
    f = batch.files.get()
    data = f.file.open("rb").read()
    assert hashlib.sha256(data).hexdigest() == f.sha256 and f.rows == 3


def test_it_keeps_a_request_approved_while_part_of_its_records_waits(school: School) -> None:
    req = approved_request(school, records=1, credit_type="文体活动学分")
    CreditRecord.objects.create(
        request=req,
        source_key="item:v",
        student_no="2024010001",
        student_name="李爱丽",
        start_date=req.credit_records.get().start_date,
        content="志愿服务",
        category="志愿公益",
        subcategory="志愿公益",
        level="校级",
        credit_type="志愿者工时",
        value=Decimal(4),
    )
    first = export_batch_create(actor=school.dave, filters=ExportFilters(credit_type="志愿者工时"))
    assert first.rows == 1 and _state(req) == State.APPROVED
    partial = ApprovalRecord.objects.get(request=req, decision=Decision.EXPORT)
    assert partial.from_state == partial.to_state == State.APPROVED
    assert "部分" in partial.opinion

    second = export_batch_create(actor=school.dave, filters=ALL)
    assert second.rows == 1 and _state(req) == State.EXPORTED


def test_it_never_puts_a_record_in_two_batches(school: School) -> None:
    approved_request(school, records=2)
    export_batch_create(actor=school.dave, filters=ALL)
    with pytest.raises(ApplicationError, match="没有待导出的记录"):
        export_batch_create(actor=school.dave, filters=ALL)
    assert ExportBatch.objects.count() == 1
    record = CreditRecord.objects.first()
    assert record is not None
    other = ExportBatch.objects.create(created_by=school.dave)
    with pytest.raises(IntegrityError), transaction.atomic():
        ExportItem.objects.create(batch=other, record=record)


def test_it_lets_only_center_staff_export(school: School) -> None:
    approved_request(school)
    for person in (school.alice, school.bob, school.carol, school.erin):
        with pytest.raises(AccessDenied):
            export_batch_create(actor=person, filters=ALL)
    assert not ExportBatch.objects.exists()


def test_it_confirms_after_download_and_tells_the_applicants(school: School) -> None:
    a = approved_request(school, records=2)
    o = approved_request(school, applicant=school.olivia)
    batch = export_batch_create(actor=school.dave, filters=ALL)
    with pytest.raises(ApplicationError, match="尚未下载"):
        export_batch_confirm(batch=batch, actor=school.dave)
    first, second = _read(batch), _read(batch)
    assert first == second
    batch.refresh_from_db()
    assert batch.state == ExportBatch.State.DOWNLOADED and batch.download_count == 2
    assert batch.first_downloaded_by == school.dave

    export_batch_confirm(batch=batch, actor=school.dave)

    batch.refresh_from_db()
    assert batch.state == ExportBatch.State.IMPORTED and batch.confirmed_by == school.dave
    assert _state(a) == _state(o) == State.IMPORTED
    note = Notification.objects.get(recipient=school.alice, request=a)
    assert "已补录到到梦空间" in note.text
    assert Notification.objects.filter(recipient=school.olivia, request=o).count() == 1
    rec = ApprovalRecord.objects.get(request=a, decision=Decision.IMPORT)
    assert rec.from_state == State.EXPORTED and rec.to_state == State.IMPORTED
    assert "已补录到到梦空间" in rec.opinion
    assert tally_counts() == {State.IMPORTED: 2}
    with pytest.raises(ApplicationError):
        export_batch_cancel(batch=batch, actor=school.dave)
    # imported records stay out of the pool for good
    assert export_pool(filters=ALL).count() == 0


def test_it_cancels_a_batch_and_puts_its_records_back(school: School) -> None:
    a = approved_request(school, records=3)
    batch = export_batch_create(actor=school.dave, filters=ALL)
    _read(batch)
    export_batch_cancel(batch=batch, actor=school.dave, reason="导错了")

    batch.refresh_from_db()
    assert batch.state == ExportBatch.State.CANCELLED and batch.cancelled_by == school.dave
    assert _state(a) == State.APPROVED
    assert export_pool(filters=ALL).count() == 3
    assert not ExportItem.objects.filter(active=True).exists()
    rec = ApprovalRecord.objects.get(request=a, decision=Decision.EXPORT_CANCEL)
    assert rec.from_state == State.EXPORTED and rec.to_state == State.APPROVED
    assert "导错了" in rec.opinion
    with pytest.raises(ApplicationError, match="已撤销"):
        _read(batch)
    with pytest.raises(ApplicationError):
        export_batch_confirm(batch=batch, actor=school.dave)
    again = export_batch_create(actor=school.dave, filters=ALL)
    assert again.rows == 3 and _state(a) == State.EXPORTED
    assert ExportItem.objects.filter(record__request=a).count() == 6  # history kept


def test_it_splits_a_big_batch_into_files_of_the_same_layout(school: School) -> None:
    approved_request(school, records=5)
    batch = export_batch_create(actor=school.dave, filters=ALL, rows_per_file=2)
    files = list(batch.files.order_by("index"))
    assert [f.rows for f in files] == [2, 2, 1]
    data = _read(batch)
    assert hashlib.sha256(data).hexdigest() == batch.bundle_sha256
    import io

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.namelist() == [f.name for f in files]
        for f in files:
            assert hashlib.sha256(zf.read(f.name)).hexdigest() == f.sha256


def test_it_keeps_the_tallies_equal_to_a_recount(school: School) -> None:
    for person in (school.alice, school.olivia, school.gina):
        approved_request(school, applicant=person, records=2)
    batch = export_batch_create(actor=school.dave, filters=ALL)
    kept = sorted(RequestTally.objects.filter(n__gt=0).values_list("kind", "state", "n"))
    tallies_rebuild()
    assert kept == sorted(RequestTally.objects.filter(n__gt=0).values_list("kind", "state", "n"))
    _read(batch)
    export_batch_confirm(batch=batch, actor=school.dave)
    kept = sorted(RequestTally.objects.filter(n__gt=0).values_list("kind", "state", "n"))
    tallies_rebuild()
    assert kept == sorted(RequestTally.objects.filter(n__gt=0).values_list("kind", "state", "n"))
