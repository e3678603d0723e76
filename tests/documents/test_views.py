"""Downloads, the signature page, the archive and the public verification page — each with its
wrong-person test."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from bulu.workflow.models import Window
from documents.models import SealImage, SignatureImage
from personal.models import PersonalRequest
from tests.collective.conftest import Kit
from tests.conftest import School, decide
from tests.documents.conftest import (
    approve_all,
    club_request,
    pdf_text,
    personal_submitted,
    png_rgba,
    render,
    squash,
)

pytestmark = pytest.mark.django_db


def as_user(client: Client, user: object) -> Client:
    client.force_login(user)  # type: ignore[arg-type]
    return client


# --- downloads -----------------------------------------------------------------------------


def test_the_applicant_and_everyone_on_the_route_download_others_get_404(
    client: Client, school: School, kit: Kit
) -> None:
    request = club_request(school, kit)
    url = reverse("documents:download", args=[request.pk, "letter"])
    for user in (school.gina, school.frank, school.carol, school.dave, school.erin):
        response = as_user(client, user).get(url)
        assert response.status_code == 200, user
        assert response["Content-Type"] == "application/pdf"
        body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
        assert "积分补录申请书" in squash(pdf_text(body))
    # On the roster but not on the route, another college's counselor, another student: 404.
    for user in (school.alice, school.bob, school.oscar, school.olivia):
        assert as_user(client, user).get(url).status_code == 404, user
    client.logout()
    assert client.get(url).status_code == 302  # to the login page


def test_unknown_forms_and_drafts_have_no_download(
    client: Client, school: School, kit: Kit
) -> None:
    from collective import services as collective_services

    request = club_request(school, kit)
    as_user(client, school.gina)
    assert (
        client.get(reverse("documents:download", args=[request.pk, "explanation"])).status_code
        == 404
    )
    draft = collective_services.collective_request_create(actor=school.gina, unit=school.club)
    assert client.get(reverse("documents:download", args=[draft.pk, "letter"])).status_code == 404


def test_the_request_page_links_its_pdfs(client: Client, school: School, kit: Kit) -> None:
    request = club_request(school, kit)
    page = as_user(client, school.dave).get(reverse("workflow:detail", args=[request.pk]))
    html = page.content.decode()
    assert reverse("documents:download", args=[request.pk, "letter"]) in html
    assert "下载申请单及人员名单（PDF）" in html


def test_a_render_that_times_out_answers_with_a_wait_page(
    client: Client, school: School, kit: Kit, settings: object
) -> None:
    settings.BULU_PDF_WEB_TIMEOUT = 0.001  # type: ignore[attr-defined]
    request = club_request(school, kit)
    response = as_user(client, school.gina).get(
        reverse("documents:download", args=[request.pk, "form"])
    )
    assert response.status_code == 503
    assert "生成超时" in response.content.decode()


def test_the_personal_form_downloads_for_its_route(
    client: Client, school: School, draft: PersonalRequest
) -> None:
    request = personal_submitted(school, draft)
    url = reverse("documents:download", args=[request.pk, "form"])
    assert as_user(client, school.alice).get(url).status_code == 200
    assert as_user(client, school.bob).get(url).status_code == 200
    assert as_user(client, school.oscar).get(url).status_code == 404
    assert as_user(client, school.frank).get(url).status_code == 404


# --- the signature page --------------------------------------------------------------------


def test_an_approver_uploads_replaces_and_removes_their_own_signature(
    client: Client, school: School
) -> None:
    as_user(client, school.bob)
    assert client.get(reverse("documents:profile")).status_code == 200
    upload = io.BytesIO(png_rgba())
    upload.name = "签名.png"
    response = client.post(reverse("documents:profile"), {"image": upload})
    assert response.status_code == 302
    mine = SignatureImage.objects.get(user=school.bob)
    assert mine.png and (mine.width, mine.height) == (64, 32)
    image_url = reverse("documents:signature_image", args=[mine.pk])
    assert client.get(image_url)["Content-Type"] == "image/png"
    # Nobody else sees it, not even center staff.
    assert as_user(client, school.dave).get(image_url).status_code == 404
    as_user(client, school.bob)
    assert client.post(reverse("documents:signature_remove")).status_code == 302
    assert SignatureImage.objects.filter(user=school.bob).count() == 2
    assert "尚未上传签名图片" in client.get(reverse("documents:profile")).content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff\xd8\xff\xe0" + b"\x00" * 100, "必须是 PNG 图片"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "必须是 PNG 图片"),
        ("opaque", "透明背景"),
        ("huge", "尺寸为 3000×40 像素"),
        ("tiny", "尺寸为 8×8 像素"),
        ("broken", "无法读取"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * (600 * 1024), "超过 512 KB"),
    ],
)
def test_a_bad_signature_is_refused_by_its_content(
    client: Client, school: School, data: object, message: str
) -> None:
    from PIL import Image

    if data == "opaque":
        out = io.BytesIO()
        Image.new("RGB", (64, 32), "white").save(out, "PNG")
        data = out.getvalue()
    elif data == "huge":
        data = png_rgba(3000, 40)
    elif data == "tiny":
        data = png_rgba(8, 8)
    elif data == "broken":
        data = png_rgba()[:60]
    assert isinstance(data, bytes)
    upload = io.BytesIO(data)
    upload.name = "签名.png"
    response = as_user(client, school.bob).post(reverse("documents:profile"), {"image": upload})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not SignatureImage.objects.exists()


def test_the_signature_page_is_for_approvers_only(client: Client, school: School) -> None:
    assert as_user(client, school.alice).get(reverse("documents:profile")).status_code == 403
    assert as_user(client, school.gina).get(reverse("documents:profile")).status_code == 403
    upload = io.BytesIO(png_rgba())
    upload.name = "x.png"
    assert client.post(reverse("documents:profile"), {"image": upload}).status_code == 403
    assert not SignatureImage.objects.exists()
    page = as_user(client, school.frank).get(reverse("home")).content.decode()
    assert reverse("documents:profile") in page  # in the approver's menu


# --- seals (admin) -------------------------------------------------------------------------


def test_an_administrator_uploads_a_seal_in_the_admin(client: Client, school: School) -> None:
    from tests.factories import UserFactory

    admin = UserFactory.create(username="root", name="管理员", is_staff=True, is_superuser=True)
    upload = io.BytesIO(png_rgba(80, 80, (200, 0, 0, 255)))
    upload.name = "章.png"
    response = as_user(client, admin).post(
        reverse("admin:documents_sealimage_add"),
        {"organization": school.branch_a.pk, "image": upload},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    seal = SealImage.objects.get()
    assert seal.organization == school.branch_a and seal.created_by == admin
    # A club has no seal; a non-PNG is refused; center staff (is_staff) have no seal admin.
    upload = io.BytesIO(png_rgba(80, 80))
    upload.name = "章.png"
    response = client.post(
        reverse("admin:documents_sealimage_add"), {"organization": school.club.pk, "image": upload}
    )
    assert response.status_code == 200 and SealImage.objects.count() == 1
    bad = io.BytesIO(b"GIF89a" + b"\x00" * 50)
    bad.name = "章.png"
    response = client.post(
        reverse("admin:documents_sealimage_add"),
        {"organization": school.branch_a.pk, "image": bad},
    )
    assert "必须是 PNG 图片" in response.content.decode() and SealImage.objects.count() == 1
    school.dave.is_staff = True
    school.dave.save()
    assert (
        as_user(client, school.dave).get(reverse("admin:documents_sealimage_add")).status_code
        == 403
    )


# --- the archive ---------------------------------------------------------------------------


def _approved(school: School, kit: Kit) -> object:
    request = club_request(school, kit)
    approve_all(request, school.frank, school.carol, school.dave, school.erin)
    request.refresh_from_db()
    return request


def test_the_center_downloads_a_windows_forms_as_one_zip_or_pdf(
    client: Client, school: School, kit: Kit
) -> None:
    request = _approved(school, kit)
    pending = club_request(school, kit)  # not approved: not archived
    # The archive's dates are local (Asia/Shanghai): after 16:00 UTC the UTC date is a day behind.
    day = timezone.localtime(request.decided_at).date()  # type: ignore[attr-defined]
    as_user(client, school.dave)
    url = reverse("documents:archive")
    assert client.get(url).status_code == 200
    response = client.get(url, {"start": day.isoformat(), "end": day.isoformat(), "fmt": "zip"})
    assert response["Content-Type"] == "application/zip"
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    names = zipfile.ZipFile(io.BytesIO(body)).namelist()
    assert len(names) == 2
    assert all(n.startswith(f"集体活动积分补录/{request.pk}-") for n in names)  # type: ignore[attr-defined]
    assert not any(f"/{pending.pk}-" in n for n in names)
    response = client.get(url, {"start": day.isoformat(), "end": day.isoformat(), "fmt": "pdf"})
    merged = PdfReader(io.BytesIO(b"".join(response.streaming_content)))  # type: ignore[attr-defined]
    text = squash("".join(page.extract_text() for page in merged.pages))
    assert "积分补录申请书" in text and "第二课堂活动积分补录申请单" in text


def test_an_empty_range_says_so(client: Client, school: School, kit: Kit) -> None:
    window = Window.objects.create(
        kind="collective",
        title="空通知",
        opens_at="2020-01-01T00:00:00+08:00",
        closes_at="2020-02-01T00:00:00+08:00",
    )
    response = as_user(client, school.dave).get(
        reverse("documents:archive"), {"window": str(window.pk), "fmt": "zip"}, follow=True
    )
    assert response.status_code == 200
    assert "没有已审核通过的申请" in response.content.decode()


def test_the_archive_is_for_center_staff_only(client: Client, school: School, kit: Kit) -> None:
    _approved(school, kit)
    url = reverse("documents:archive")
    for user in (school.alice, school.bob, school.carol, school.erin, school.frank, school.gina):
        assert as_user(client, user).get(url, {"fmt": "zip"}).status_code == 403, user


# --- verification --------------------------------------------------------------------------


def test_a_genuine_code_shows_the_request_with_names_masked(
    client: Client, school: School, kit: Kit
) -> None:
    request = club_request(school, kit)
    decide(request, school.frank)
    doc = render(request, "form")
    client.logout()
    response = client.get(reverse("documents:verify", args=[doc.code]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "真实有效" in html
    assert "集体活动积分补录" in html and "2025年机器人协会科技文化节" in html
    assert "机器人协会" in html and "审核中" in html
    assert "高*" in html and "范*" in html  # applicant and approver masked
    for secret in ("高娜", "范克", "2024010002", "T1003", "13808380001"):
        assert secret not in html


def test_an_outdated_and_a_forged_code(client: Client, school: School, kit: Kit) -> None:
    request = club_request(school, kit)
    early = render(request, "letter").code
    decide(request, school.frank)
    html = client.get(reverse("documents:verify", args=[early])).content.decode()
    assert "已过期" in html and "文件生成之后" in html
    pk, n, mac = early.split("-")
    forged = f"{pk}-{n}-{'A' if mac[0] != 'A' else 'B'}{mac[1:]}"
    html = client.get(reverse("documents:verify", args=[forged])).content.decode()
    assert "无法核验" in html and "机器人协会" not in html
    # A code claiming more decisions than exist, and plain garbage.
    for code in (f"{pk}-9-{mac}", "hello", "99999-1-" + "A" * 16):
        html = client.get(reverse("documents:verify", args=[code])).content.decode()
        assert "无法核验" in html


def test_the_verify_form_and_its_rate_limit(
    client: Client, school: School, kit: Kit, settings: object
) -> None:
    request = club_request(school, kit)
    code = render(request, "letter").code
    response = client.get(reverse("documents:verify_form"), {"code": code.lower()})
    assert response.status_code == 302 and response["Location"].endswith(f"/verify/{code}/")
    settings.BULU_VERIFY_RATE = "3/m"  # type: ignore[attr-defined]
    statuses = [client.get(reverse("documents:verify", args=[code])).status_code for _ in range(5)]
    assert statuses.count(429) >= 2 and statuses[0] == 200
    assert "查询过于频繁" in client.get(reverse("documents:verify", args=[code])).content.decode()


def test_verify_keeps_answering_with_redis_down(
    client: Client, school: School, kit: Kit, settings: object, caplog: pytest.LogCaptureFixture
) -> None:
    """The rate limit's Redis is a closed port: the page answers and still limits."""
    code = render(club_request(school, kit), "letter").code
    settings.CACHES = {  # type: ignore[attr-defined]
        **settings.CACHES,  # type: ignore[attr-defined]
        "ratelimit": {
            "BACKEND": "bulu.cache.FallbackRedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        },
    }
    settings.RATELIMIT_USE_CACHE = "ratelimit"  # type: ignore[attr-defined]
    settings.BULU_VERIFY_RATE = "3/m"  # type: ignore[attr-defined]
    with caplog.at_level("WARNING", logger="bulu.cache"):
        statuses = [
            client.get(reverse("documents:verify", args=[code])).status_code for _ in range(5)
        ]
    assert statuses == [200, 200, 200, 429, 429]
    # It tried Redis once, failed, and counted in this process's memory since (no retry storm).
    unreachable = [r for r in caplog.records if "Redis unreachable" in r.getMessage()]
    assert len(unreachable) == 1
