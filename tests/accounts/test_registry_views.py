"""The registry import pages: upload → preview → confirm, for center staff only."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from accounts.models import Membership, Organization, User
from accounts.services import role_grant
from tests.accounts.test_registry import COLLEGE_A, GOOD_ROWS, xlsx
from tests.conftest import School
from tests.factories import UserFactory

UPLOAD_URL = reverse("accounts:registry_import")
CONFIRM_URL = reverse("accounts:registry_import_confirm")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(autouse=True)
def media(settings: object, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path  # type: ignore[attr-defined]
    # Tests run with DEBUG off, which would send every request to https first.
    settings.SECURE_SSL_REDIRECT = False  # type: ignore[attr-defined]
    # ...and would look {% static %} up in a manifest that only collectstatic writes.
    settings.STORAGES = {  # type: ignore[attr-defined]
        **settings.STORAGES,  # type: ignore[attr-defined]
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    return tmp_path


def upload(rows: Sequence[Sequence[object]], name: str = "名册.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, xlsx(rows).getvalue(), content_type=XLSX_TYPE)


def stored_uploads(media: Path) -> list[Path]:
    return sorted((media / "registry").glob("*.xlsx"))


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_lets_center_staff_upload_preview_and_confirm(school: School, media: Path) -> None:
    client = logged_in(school.dave)

    page = client.get(UPLOAD_URL)
    assert page.status_code == 200
    assert "允许新建学院" in page.content.decode()

    preview = client.post(UPLOAD_URL, {"file": upload(GOOD_ROWS)})
    assert preview.status_code == 200
    html = preview.content.decode()
    assert "确认导入" in html
    assert "新导入的学生账号需由管理员设置初始密码" in html
    assert "张三" in html
    assert (preview.context["result"].created, preview.context["result"].updated) == (3, 0)
    assert not User.objects.filter(username="2024010101").exists()
    [stored] = stored_uploads(media)
    token = preview.context["confirm_form"].initial["token"]
    assert stored.name == f"{token}.xlsx"

    done = client.post(CONFIRM_URL, {"token": token, "create_colleges": "False"}, follow=True)

    assert done.redirect_chain == [(UPLOAD_URL, 302)]
    assert "名册导入完成：新增 3 人" in done.content.decode()
    assert User.objects.filter(username__in=["2024010101", "2024010102", "2024010103"]).count() == 3
    assert stored_uploads(media) == []


def test_it_creates_colleges_only_when_the_box_is_ticked(school: School) -> None:
    client = logged_in(school.dave)
    rows: list[list[object]] = [["2024010101", "张三", "新能源学院", "新能2401"]]

    refused = client.post(UPLOAD_URL, {"file": upload(rows)})
    assert "学院“新能源学院”不存在" in refused.content.decode()
    assert refused.context["confirm_form"] is None

    preview = client.post(UPLOAD_URL, {"file": upload(rows), "create_colleges": "on"})
    token = preview.context["confirm_form"].initial["token"]
    client.post(CONFIRM_URL, {"token": token, "create_colleges": "True"})

    assert Organization.objects.filter(kind=Organization.Kind.COLLEGE, name="新能源学院").exists()


def test_it_shows_every_error_and_keeps_nothing_for_a_bad_file(school: School, media: Path) -> None:
    rows: list[Sequence[object]] = [
        *GOOD_ROWS,
        ["2024010101", "重复", COLLEGE_A, "机械2401"],
        ["2024010105", "", COLLEGE_A, "机械2401"],
    ]

    response = logged_in(school.dave).post(UPLOAD_URL, {"file": upload(rows)})

    assert response.status_code == 200
    html = response.content.decode()
    assert "名册有 2 处错误" in html
    assert "学号“2024010101”与第 2 行重复。" in html
    assert "姓名不能为空。" in html
    assert "确认导入" not in html
    assert stored_uploads(media) == []


def test_it_explains_a_file_that_is_not_xlsx(school: School, media: Path) -> None:
    csv = SimpleUploadedFile("名册.xlsx", "学号,姓名,学院,班级\n1,2,3,4\n".encode(), XLSX_TYPE)

    response = logged_in(school.dave).post(UPLOAD_URL, {"file": csv})

    assert response.status_code == 200
    assert "不是 xlsx 格式" in response.content.decode()
    assert stored_uploads(media) == []


def test_it_refuses_another_extension(school: School) -> None:
    response = logged_in(school.dave).post(
        UPLOAD_URL, {"file": SimpleUploadedFile("名册.csv", b"a,b\n", "text/csv")}
    )

    assert "请上传 .xlsx 格式的 Excel 文件。" in response.content.decode()


def test_it_judges_again_on_confirm(school: School, media: Path) -> None:
    client = logged_in(school.dave)
    preview = client.post(UPLOAD_URL, {"file": upload(GOOD_ROWS)})
    token = preview.context["confirm_form"].initial["token"]
    # Meanwhile someone puts the new class 机械2403 under the other college.
    Organization.objects.create(
        kind=Organization.Kind.CLASS, name="机械2403", parent=school.college_b
    )

    response = client.post(CONFIRM_URL, {"token": token, "create_colleges": "False"})

    assert response.status_code == 200
    assert "班级“机械2403”已属于学院“汽车工程学院”" in response.content.decode()
    assert not User.objects.filter(username="2024010101").exists()
    assert stored_uploads(media) == []


def test_it_refuses_a_token_from_another_session(school: School) -> None:
    preview = logged_in(school.dave).post(UPLOAD_URL, {"file": upload(GOOD_ROWS)})
    token = preview.context["confirm_form"].initial["token"]
    other = UserFactory.create(username="T2002", name="中心二")
    role_grant(user=other, organization=school.center, role=Membership.Role.CENTER_STAFF)

    response = logged_in(other).post(CONFIRM_URL, {"token": token}, follow=True)

    assert "上传的名册已失效，请重新上传。" in response.content.decode()
    assert not User.objects.filter(username="2024010101").exists()


@pytest.mark.parametrize("persona", ["alice", "bob", "carol", "erin"])
def test_it_forbids_everyone_but_center_staff(school: School, persona: str, media: Path) -> None:
    client = logged_in(getattr(school, persona))

    assert client.get(UPLOAD_URL).status_code == 403
    assert client.post(UPLOAD_URL, {"file": upload(GOOD_ROWS)}).status_code == 403
    assert (
        client.post(CONFIRM_URL, {"token": "00000000-0000-0000-0000-000000000000"}).status_code
        == 403
    )
    assert not User.objects.filter(username="2024010101").exists()
    assert not (media / "registry").exists()


def test_it_sends_anonymous_visitors_to_login(school: School) -> None:
    for response in (Client().get(UPLOAD_URL), Client().post(CONFIRM_URL, {})):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_it_asks_for_a_file(school: School) -> None:
    response = logged_in(school.dave).post(UPLOAD_URL, {})

    assert response.status_code == 200
    assert response.context["form"].errors["file"]
