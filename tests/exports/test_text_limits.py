"""Issue 18: a batch's 撤销原因 is refused over its limit: the batch stays, nothing is cut."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from bulu import limits
from bulu.exceptions import ApplicationError
from bulu.workflow.models import ApprovalRecord, BackfillRequest, State
from exports.models import ExportBatch
from exports.selectors import ExportFilters
from exports.services import export_batch_cancel, export_batch_create
from tests.conftest import School
from tests.exports.conftest import approved_request

TOO_LONG = "因" * (limits.NOTE + 1)


@pytest.fixture
def batch(school: School) -> ExportBatch:
    approved_request(school, records=2)
    return export_batch_create(actor=school.dave, filters=ExportFilters())


def test_the_page_refuses_an_over_long_reason_and_cancels_nothing(
    client: Client, school: School, batch: ExportBatch
) -> None:
    client.force_login(school.dave)
    page = client.get(reverse("exports:batch", args=[batch.pk])).content.decode()
    assert f'name="reason" maxlength="{limits.NOTE}"' in page
    records = ApprovalRecord.objects.count()
    response = client.post(
        reverse("exports:cancel", args=[batch.pk]), {"reason": TOO_LONG}, follow=True
    )
    assert "撤销原因最多 200 字（现在 201 字）。" in response.content.decode()
    batch.refresh_from_db()
    assert batch.is_live and batch.cancel_reason == ""
    assert set(BackfillRequest.objects.values_list("state", flat=True)) == {State.EXPORTED}
    assert ApprovalRecord.objects.count() == records


def test_the_service_refuses_an_over_long_reason_and_takes_one_at_the_limit(
    school: School, batch: ExportBatch
) -> None:
    with pytest.raises(ApplicationError, match=r"^撤销原因最多 200 字（现在 201 字）。$"):
        export_batch_cancel(batch=batch, actor=school.dave, reason=TOO_LONG)
    batch.refresh_from_db()
    assert batch.is_live
    fits = "因" * limits.NOTE
    export_batch_cancel(batch=batch, actor=school.dave, reason=fits)
    batch.refresh_from_db()
    assert batch.state == ExportBatch.State.CANCELLED and batch.cancel_reason == fits
    # The log's opinion carries the reason whole, within the opinion's own limit.
    opinion = ApprovalRecord.objects.order_by("pk").last().opinion  # type: ignore[union-attr]
    assert fits in opinion and len(opinion) <= limits.OPINION
