"""The export desk's pages: center staff only, thin views, query counts flat in the data."""

from __future__ import annotations

import hashlib
import io

import openpyxl
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from bulu.workflow.models import BackfillRequest, State
from credits.models import CreditRecord
from exports.models import ExportBatch
from exports.selectors import ExportFilters
from exports.services import export_batch_create
from tests.conftest import School
from tests.exports.conftest import approved_request


def _client(user: User) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def batch(school: School) -> ExportBatch:
    approved_request(school, records=2)
    return export_batch_create(actor=school.dave, filters=ExportFilters())


def test_it_shows_the_desk_with_counts_per_credit_type(school: School, credit_types: None) -> None:
    approved_request(school, records=2, credit_type="文体活动学分")
    approved_request(school, applicant=school.olivia, records=3, credit_type="志愿者工时")
    approved_request(
        school, applicant=school.gina, records=1, delivery=CreditRecord.Delivery.IN_PLATFORM
    )
    page = _client(school.dave).get(reverse("exports:desk"))
    assert page.status_code == 200
    body = page.content.decode()
    assert "导出到梦空间" in body and 'id="export-total">5<' in body
    assert "另有 1 条记录已在到梦空间内审核通过" in body
    filtered = _client(school.dave).get(reverse("exports:desk"), {"credit_type": "志愿者工时"})
    assert 'id="export-total">3<' in filtered.content.decode()


def test_it_creates_a_batch_from_the_posted_filters(school: School, credit_types: None) -> None:
    approved_request(school, records=2, credit_type="文体活动学分")
    other = approved_request(school, applicant=school.olivia, records=3, credit_type="志愿者工时")
    response = _client(school.dave).post(reverse("exports:create"), {"credit_type": "志愿者工时"})
    batch = ExportBatch.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "exports:batch", args=[batch.pk]
    )
    assert batch.rows == 3 and batch.filters["学分类型"] == "志愿者工时"
    assert BackfillRequest.objects.get(pk=other.pk).state == State.EXPORTED
    detail = _client(school.dave).get(response["Location"])
    assert detail.status_code == 200 and "导出批次 #" in detail.content.decode()


def test_it_refuses_an_empty_selection_with_a_message(school: School) -> None:
    response = _client(school.dave).post(reverse("exports:create"), {}, follow=True)
    assert "没有待导出的记录" in response.content.decode()
    assert not ExportBatch.objects.exists()


def test_it_downloads_the_same_bytes_every_time(school: School, batch: ExportBatch) -> None:
    c = _client(school.dave)
    first = b"".join(c.get(reverse("exports:download", args=[batch.pk])).streaming_content)  # type: ignore[attr-defined]
    second = b"".join(
        c.get(reverse("exports:download_file", args=[batch.pk, 1])).streaming_content  # type: ignore[attr-defined]
    )
    assert first == second
    assert hashlib.sha256(first).hexdigest() == batch.files.get().sha256
    assert openpyxl.load_workbook(io.BytesIO(first)).active["A7"].value == school.alice.username
    batch.refresh_from_db()
    assert batch.download_count == 2 and batch.state == ExportBatch.State.DOWNLOADED


def test_it_confirms_and_cancels_through_post(school: School, batch: ExportBatch) -> None:
    c = _client(school.dave)
    assert c.get(reverse("exports:confirm", args=[batch.pk])).status_code == 405
    b"".join(c.get(reverse("exports:download", args=[batch.pk])).streaming_content)  # type: ignore[attr-defined]
    told = c.post(reverse("exports:confirm", args=[batch.pk]), follow=True).content.decode()
    assert "1 份申请已全部补录，申请人已收到" in told
    batch.refresh_from_db()
    assert batch.state == ExportBatch.State.IMPORTED
    assert set(BackfillRequest.objects.values_list("state", flat=True)) == {State.IMPORTED}
    # the applicant sees it on the request page
    page = _client(school.alice).get(
        reverse("workflow:detail", args=[BackfillRequest.objects.get().pk])
    )
    assert "已补录到到梦空间" in page.content.decode()


def test_it_cancels_through_post(school: School, batch: ExportBatch) -> None:
    _client(school.dave).post(reverse("exports:cancel", args=[batch.pk]), {"reason": "重导"})
    batch.refresh_from_db()
    assert batch.state == ExportBatch.State.CANCELLED and batch.cancel_reason == "重导"
    assert set(BackfillRequest.objects.values_list("state", flat=True)) == {State.APPROVED}


@pytest.mark.parametrize("who", ["alice", "bob", "carol", "erin", "oscar"])
def test_it_keeps_everyone_but_the_center_out(school: School, batch: ExportBatch, who: str) -> None:
    c = _client(getattr(school, who))
    for name in ("exports:desk", "exports:in_platform", "exports:batches"):
        assert c.get(reverse(name)).status_code == 403, name
    assert c.post(reverse("exports:create"), {}).status_code == 403
    for name in ("exports:batch", "exports:download", "exports:confirm", "exports:cancel"):
        assert c.post(reverse(name, args=[batch.pk])).status_code in (404, 405), name
        assert c.get(reverse(name, args=[batch.pk])).status_code in (404, 405), name
    assert c.get(reverse("exports:download_file", args=[batch.pk, 1])).status_code == 404
    batch.refresh_from_db()
    assert batch.state == ExportBatch.State.CREATED and batch.download_count == 0
    assert ExportBatch.objects.count() == 1


def test_it_sends_anonymous_users_to_login(batch: ExportBatch) -> None:
    response = Client().get(reverse("exports:batch", args=[batch.pk]))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_it_shows_the_menu_item_to_center_staff_only(school: School) -> None:
    assert "导出到梦空间" in _client(school.dave).get("/").content.decode()
    assert "导出到梦空间" not in _client(school.bob).get("/").content.decode()


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_it_reads_the_pages_with_as_many_queries_for_few_records_as_for_many(
    school: School, credit_types: None
) -> None:
    c = _client(school.dave)
    approved_request(school, records=2)
    small_batch = export_batch_create(actor=school.dave, filters=ExportFilters())
    approved_request(school, applicant=school.olivia, records=2)
    approved_request(school, applicant=school.gina, records=1, delivery="in_platform")
    urls = lambda b: [  # noqa: E731
        reverse("exports:desk"),
        reverse("exports:in_platform"),
        reverse("exports:batches"),
        reverse("exports:batch", args=[b.pk]),
    ]
    few = [_queries(c, u) for u in urls(small_batch)]
    for person in (school.alice, school.olivia, school.gina):
        approved_request(school, applicant=person, records=40)
        approved_request(school, applicant=person, records=10, delivery="in_platform")
    big_batch = export_batch_create(actor=school.dave, filters=ExportFilters())
    for person in (school.alice, school.olivia):
        approved_request(school, applicant=person, records=30)
    many = [_queries(c, u) for u in urls(big_batch)]
    assert few == many


def test_confirming_a_batch_that_completes_no_request_says_nobody_was_told(
    school: School, credit_types: None
) -> None:
    request = approved_request(school, records=1, credit_type="文体活动学分")
    approved_request(school, records=1, credit_type="志愿者工时")  # another request, left out
    CreditRecord.objects.filter(credit_type="志愿者工时").update(
        request=request, source_key="item:other"
    )
    part = export_batch_create(actor=school.dave, filters=ExportFilters(credit_type="文体活动学分"))
    c = _client(school.dave)
    b"".join(c.get(reverse("exports:download", args=[part.pk])).streaming_content)  # type: ignore[attr-defined]
    told = c.post(reverse("exports:confirm", args=[part.pk]), follow=True).content.decode()
    assert "1 份申请还有其他记录未导入，暂未通知申请人" in told
    request.refresh_from_db()
    assert request.state == State.APPROVED


def test_the_in_platform_list_follows_the_filters(school: School, credit_types: None) -> None:
    in_platform = CreditRecord.Delivery.IN_PLATFORM
    approved_request(school, records=1, delivery=in_platform, credit_type="文体活动学分")
    approved_request(
        school, applicant=school.olivia, records=2, delivery=in_platform, credit_type="志愿者工时"
    )
    c = _client(school.dave)
    everything = c.get(reverse("exports:in_platform")).context["page"]
    assert len(everything.object_list) == 3
    some = c.get(reverse("exports:in_platform"), {"credit_type": "志愿者工时"}).context["page"]
    assert {r.credit_type for r in some.object_list} == {"志愿者工时"}
    assert len(some.object_list) == 2
