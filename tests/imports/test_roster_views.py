"""The roster pages: upload, progress (htmx), result, downloads — and who may see what."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, User
from bulu.jobs.models import Job
from imports import views
from imports.models import RosterUpload
from imports.services import roster_upload_create, roster_validate
from tests.conftest import School
from tests.imports.conftest import roster_xlsx, row

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FAULTY = [row(), row(学号="2021010002", 姓名="李四", 活动等级="乡级"), row(学号="2021019999")]
FIXED = [row(), row(学号="2021010002", 姓名="李四", 活动等级="校级")]


def as_file(data: bytes, name: str = "名单.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=XLSX_TYPE)


def login(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


Upload = Callable[..., Any]


@pytest.fixture
def post_upload(django_capture_on_commit_callbacks: Any) -> Upload:
    """Post a file as the logged-in user; the (eager) task runs when the request commits."""

    def post(client: Client, data: bytes, name: str = "名单.xlsx") -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(reverse("imports:roster_upload"), {"file": as_file(data, name)})

    return post


@pytest.fixture
def bob_upload(
    school: School, registry: dict[str, str], django_capture_on_commit_callbacks: Any
) -> RosterUpload:
    with django_capture_on_commit_callbacks(execute=True):
        upload = roster_upload_create(
            user=school.bob, fileobj=io.BytesIO(roster_xlsx(FAULTY)), filename="名单.xlsx"
        )
    upload.refresh_from_db()
    assert upload.status == RosterUpload.Status.DONE
    return upload


def upload_urls(pk: int) -> list[tuple[str, str]]:
    return [
        ("get", reverse("imports:roster_detail", args=[pk])),
        ("get", reverse("imports:roster_status", args=[pk])),
        ("get", reverse("imports:roster_annotated", args=[pk])),
        ("post", reverse("imports:roster_retry", args=[pk])),
    ]


# --- who may see what ------------------------------------------------------------------------


def test_anonymous_users_are_sent_to_the_login_page(
    client: Client, bob_upload: RosterUpload
) -> None:
    for method, url in [
        ("get", reverse("imports:roster_upload")),
        ("get", reverse("imports:roster_template")),
        *upload_urls(bob_upload.pk),
    ]:
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url


def test_a_plain_student_gets_403_everywhere(
    client: Client, school: School, bob_upload: RosterUpload
) -> None:
    login(client, school.alice)
    for method, url in [
        ("get", reverse("imports:roster_upload")),
        ("post", reverse("imports:roster_upload")),
        ("get", reverse("imports:roster_template")),
        *upload_urls(bob_upload.pk),
    ]:
        assert getattr(client, method)(url).status_code == 403, url


def test_another_staff_member_gets_404_for_someone_elses_upload(
    client: Client, school: School, bob_upload: RosterUpload
) -> None:
    login(client, school.oscar)
    for method, url in upload_urls(bob_upload.pk):
        assert getattr(client, method)(url, HTTP_HX_REQUEST="true").status_code == 404, url
    assert (
        client.get(reverse("imports:roster_detail", args=[bob_upload.pk + 999])).status_code == 404
    )


def test_center_staff_see_every_upload(
    client: Client, school: School, bob_upload: RosterUpload
) -> None:
    login(client, school.dave)
    assert client.get(reverse("imports:roster_detail", args=[bob_upload.pk])).status_code == 200
    assert client.get(reverse("imports:roster_annotated", args=[bob_upload.pk])).status_code == 200


def test_a_student_applicant_may_upload(client: Client, school: School) -> None:
    login(client, school.gina)
    page = client.get(reverse("imports:roster_upload"))
    assert page.status_code == 200
    assert 'type="file"' in page.content.decode()


# --- the user's path -------------------------------------------------------------------------


def test_upload_faulty_download_annotated_fix_and_pass(
    client: Client, school: School, registry: dict[str, str], post_upload: Upload
) -> None:
    login(client, school.bob)
    response = post_upload(client, roster_xlsx(FAULTY))
    upload = RosterUpload.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("imports:roster_detail", args=[upload.pk])
    assert upload.status == "done" and upload.error_count == 2 and upload.data_rows == 3

    page = client.get(response["Location"]).content.decode()
    assert "发现 2 处错误" in page
    assert "活动等级“乡级”不在设置中" in page
    assert "学号 2021019999 不在学生名册中" in page
    assert 'id="roster-errors"' in page and "hx-trigger" not in page

    download = client.get(reverse("imports:roster_annotated", args=[upload.pk]))
    assert download.status_code == 200
    assert download["Content-Type"] == XLSX_TYPE
    assert "attachment" in download["Content-Disposition"]
    content = b"".join(download.streaming_content)  # type: ignore[attr-defined]
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    ws = workbook.worksheets[0]
    assert ws["H8"].comment is not None and "乡级" in ws["H8"].comment.text
    assert ws["A9"].comment is not None
    assert workbook.sheetnames[-1] == "错误说明"

    # The user fixes the marked cells in the annotated copy and uploads it again.
    ws["H8"] = "校级"
    ws.delete_rows(9)
    fixed = io.BytesIO()
    workbook.save(fixed)
    again = post_upload(client, fixed.getvalue(), "名单-错误标注.xlsx")
    second = RosterUpload.objects.latest("pk")
    assert second.pk != upload.pk and second.status == "done" and second.error_count == 0
    page = client.get(again["Location"]).content.decode()
    assert "校验通过" in page
    assert 'id="download-annotated"' not in page


def test_the_status_fragment_polls_until_the_result_is_there(
    client: Client, school: School, registry: dict[str, str]
) -> None:
    upload = roster_upload_create(
        user=school.bob, fileobj=io.BytesIO(roster_xlsx(FIXED)), filename="名单.xlsx"
    )  # not committed: the task has not run
    login(client, school.bob)
    page = client.get(reverse("imports:roster_detail", args=[upload.pk])).content.decode()
    status_url = reverse("imports:roster_status", args=[upload.pk])
    assert f'hx-get="{status_url}"' in page and 'hx-trigger="every 500ms"' in page
    assert 'role="progressbar"' in page

    RosterUpload.objects.filter(pk=upload.pk).update(status="running", progress=45)
    fragment = client.get(status_url, HTTP_HX_REQUEST="true").content.decode()
    assert fragment.startswith('<div id="roster-status" hx-get=')
    assert 'aria-valuenow="45"' in fragment and "width: 45%" in fragment
    assert "正在逐行校验" in fragment

    RosterUpload.objects.filter(pk=upload.pk).update(progress=75)
    fragment = client.get(status_url, HTTP_HX_REQUEST="true").content.decode()
    assert "正在生成标注文件" in fragment and "hx-trigger" in fragment

    RosterUpload.objects.filter(pk=upload.pk).update(status="queued")
    roster_validate(upload_id=upload.pk)
    fragment = client.get(status_url, HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in fragment
    assert "校验通过" in fragment

    # Without htmx the fragment's URL leads back to the full page.
    assert client.get(status_url)["Location"] == reverse("imports:roster_detail", args=[upload.pk])


def test_the_same_bytes_reuse_the_stored_result(
    client: Client,
    school: School,
    registry: dict[str, str],
    post_upload: Upload,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    login(client, school.bob)
    data = roster_xlsx(FAULTY)
    post_upload(client, data)
    first = RosterUpload.objects.get()
    jobs = Job.objects.count()
    post_upload(client, data, "又传了一次.xlsx")
    second = RosterUpload.objects.latest("pk")
    assert Job.objects.count() == jobs  # nothing queued: the stored result is reused
    assert second.reused_from_id == first.pk
    assert (second.status, second.error_count, second.result) == ("done", 2, first.result)
    assert second.annotated.name == first.annotated.name
    page = client.get(reverse("imports:roster_detail", args=[second.pk])).content.decode()
    assert "沿用了结果" in page

    # A day later the original result is too old to trust, even through the reused copy.
    day_ago = timezone.now() - timedelta(hours=25)
    RosterUpload.objects.filter(pk=first.pk).update(finished_at=day_ago)
    post_upload(client, data, "第三次.xlsx")
    assert Job.objects.count() == jobs + 1
    RosterUpload.objects.exclude(pk=first.pk).delete()
    RosterUpload.objects.filter(pk=first.pk).update(finished_at=timezone.now())

    # Once the registry changes, the same bytes are judged again.
    User.objects.filter(username="2021010002").update(username="2021010012")
    Membership.objects.filter(user__username="2021010012").delete()
    post_upload(client, data)
    assert Job.objects.count() == jobs + 2


def test_an_unreadable_file_is_reported_without_an_annotated_copy(
    client: Client, school: School, registry: dict[str, str], post_upload: Upload
) -> None:
    login(client, school.bob)
    response = post_upload(client, "学号,姓名\n2021010001,张三\n".encode(), "名单.csv")
    upload = RosterUpload.objects.get()
    assert upload.status == "unreadable" and not upload.annotated
    page = client.get(response["Location"]).content.decode()
    assert "无法读取" in page and "另存为" in page
    assert client.get(reverse("imports:roster_annotated", args=[upload.pk])).status_code == 404


def test_a_file_over_the_size_cap_is_refused_by_the_form(
    client: Client, school: School, settings: Any, post_upload: Upload
) -> None:
    settings.BULU_UPLOAD_MAX_BYTES = 2048
    login(client, school.bob)
    response = post_upload(client, roster_xlsx(FIXED))
    assert response.status_code == 200
    assert "超过" in response.content.decode()
    assert not RosterUpload.objects.exists()


def test_a_failed_validation_can_be_run_again(
    client: Client,
    school: School,
    registry: dict[str, str],
    django_capture_on_commit_callbacks: Any,
) -> None:
    upload = roster_upload_create(
        user=school.bob, fileobj=io.BytesIO(roster_xlsx(FIXED)), filename="名单.xlsx"
    )
    RosterUpload.objects.filter(pk=upload.pk).update(status="failed")
    login(client, school.bob)
    page = client.get(reverse("imports:roster_detail", args=[upload.pk])).content.decode()
    assert "重新校验" in page and "hx-trigger" not in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("imports:roster_retry", args=[upload.pk]))
    upload.refresh_from_db()
    assert upload.status == "done" and upload.error_count == 0


def test_a_finished_upload_is_not_run_again(
    client: Client, school: School, bob_upload: RosterUpload
) -> None:
    login(client, school.bob)
    response = client.post(reverse("imports:roster_retry", args=[bob_upload.pk]), follow=True)
    assert "无需重新校验" in response.content.decode()


def test_the_error_table_is_capped(
    client: Client, school: School, bob_upload: RosterUpload, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "MAX_SHOWN", 1)
    login(client, school.bob)
    page = client.get(reverse("imports:roster_detail", args=[bob_upload.pk])).content.decode()
    assert page.count("<tr>") == 1 + 1  # header + one problem
    assert "另有 1 处" in page


def test_the_hidden_count_is_the_true_total_when_the_stored_list_is_capped(
    client: Client, school: School, bob_upload: RosterUpload, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "MAX_SHOWN", 1)
    result = dict(bob_upload.result or {})
    result["errors_total"] = 40
    RosterUpload.objects.filter(pk=bob_upload.pk).update(result=result, error_count=40)
    login(client, school.bob)
    page = client.get(reverse("imports:roster_detail", args=[bob_upload.pk])).content.decode()
    assert "另有 39 处" in page


def test_the_blank_template_downloads(client: Client, school: School) -> None:
    login(client, school.bob)
    response = client.get(reverse("imports:roster_template"))
    assert response.status_code == 200
    ws = openpyxl.load_workbook(io.BytesIO(response.content)).worksheets[0]
    assert ws["A2"].value == "学号" and ws["A3"].value == "1000001"


def test_the_upload_page_lists_my_recent_uploads_only(
    client: Client, school: School, bob_upload: RosterUpload
) -> None:
    login(client, school.bob)
    assert "名单.xlsx" in client.get(reverse("imports:roster_upload")).content.decode()
    login(client, school.oscar)
    assert "名单.xlsx" not in client.get(reverse("imports:roster_upload")).content.decode()
