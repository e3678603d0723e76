"""The two guards that keep a credit record out of two live batches, each tested on its own.

The pool leaves out records already in a live batch (`live_item_exists`), and the claim's
INSERT skips, on any database, a record another batch took meanwhile (`ON CONFLICT ... DO
NOTHING` against the partial unique index). Each one alone hides the other's absence in the
ordinary flow, so each test here fails when its guard is removed.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from credits.models import CreditRecord
from exports import services as export_services
from exports.models import ExportBatch, ExportItem
from exports.selectors import ExportFilters, export_pool, export_pool_summary
from exports.services import export_batch_cancel, export_batch_create
from personal.models import PersonalRequest
from tests.conftest import School
from tests.exports.conftest import approved_request

ALL = ExportFilters()


def _partly_exported(school: School) -> tuple[PersonalRequest, CreditRecord, CreditRecord]:
    """An approved request with two records, one of them (志愿者工时) in a live batch."""
    req = approved_request(school, records=1, credit_type="文体活动学分")
    volunteer = CreditRecord.objects.create(
        request=req,
        source_key="item:v",
        student_no=school.alice.username,
        student_name=school.alice.name,
        start_date=req.credit_records.get().start_date,
        content="志愿服务",
        category="志愿公益",
        subcategory="志愿公益",
        level="校级",
        credit_type="志愿者工时",
        value=Decimal(4),
        delivery=CreditRecord.Delivery.BATCH,
    )
    export_batch_create(actor=school.dave, filters=ExportFilters(credit_type="志愿者工时"))
    waiting = req.credit_records.get(credit_type="文体活动学分")
    return req, waiting, volunteer


def test_the_pool_leaves_out_records_already_in_a_live_batch(school: School) -> None:
    req, waiting, volunteer = _partly_exported(school)
    assert req.state == "approved"  # still in the pool's requests: one record waits
    assert list(export_pool(filters=ALL).values_list("pk", flat=True)) == [waiting.pk]
    summary = export_pool_summary(filters=ALL)
    assert [(t.credit_type, t.records, t.total) for t in summary] == [
        ("文体活动学分", 1, Decimal("0.5"))
    ]
    assert not export_pool(filters=ExportFilters(credit_type="志愿者工时")).exists()
    # A cancelled batch's items are inactive: its records come back.
    export_batch_cancel(batch=ExportBatch.objects.get(), actor=school.dave)
    assert sorted(export_pool(filters=ALL).values_list("pk", flat=True)) == sorted(
        [waiting.pk, volunteer.pk]
    )


def _pool_read_before_the_other_batch_committed(*, filters: ExportFilters) -> object:
    """The pool as a claim running beside another saw it: the other batch's items not yet
    visible, i.e. every 名单导入 record of an approved request (the same query as
    `export_pool` without its live-batch guard)."""
    return CreditRecord.objects.filter(
        delivery=CreditRecord.Delivery.BATCH, request__state="approved"
    )


def test_the_claim_skips_a_record_another_batch_took_meanwhile(
    school: School, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs on SQLite (the default) and on PostgreSQL: the same INSERT ... ON CONFLICT."""
    _req, waiting, volunteer = _partly_exported(school)
    first = ExportItem.objects.get(record=volunteer).batch
    monkeypatch.setattr(export_services, "export_pool", _pool_read_before_the_other_batch_committed)
    with transaction.atomic():
        batch = ExportBatch.objects.create(created_by=school.dave)
        claimed = export_services._claim(batch, ALL, [])
    assert claimed == 1  # the waiting record only; no IntegrityError for the held one
    assert list(ExportItem.objects.filter(batch=batch).values_list("record_id", flat=True)) == [
        waiting.pk
    ]
    assert list(
        ExportItem.objects.filter(record=volunteer, active=True).values_list("batch_id", flat=True)
    ) == [first.pk]
