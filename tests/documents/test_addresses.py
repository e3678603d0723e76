"""The QR code and 核验 link of every PDF point to the configured public address (issue 19).

Configured (`BULU_PUBLIC_URL`): that address, in the web and in the worker alike, never the Host a
request came in on. Not configured: the address `make run` serves (`BULU_RUN_ADDRESS`, which the
Makefile sets from PORT). The QR code is decoded from the rendered page (poppler + zbar).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client, TestCase
from django.urls import reverse, set_script_prefix

from accounts.demo import PERSONAS
from documents import checks, services, verification
from documents.models import RequestDocument
from tests.conftest import ROOT, School, decide, need
from tests.documents.conftest import Kit, club_request, pdf_bytes, pdf_text, render, squash
from tests.factories import UserFactory

PUBLIC = "https://bulu.example.edu.cn"


def qr_payloads(data: bytes, tmp_path: Path) -> list[str]:
    """What the QR codes on the PDF's first page say (zbarimg reads the rendered page)."""
    need(bool(shutil.which("zbarimg") and shutil.which("pdftoppm")), "zbarimg (zbar-tools)")
    pdf = tmp_path / "form.pdf"
    pdf.write_bytes(data)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "200", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
        check=True,
        timeout=60,
    )
    (page,) = tmp_path.glob("page*.png")
    found = subprocess.run(
        ["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(page)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return found.stdout.split()


@pytest.mark.django_db
def test_a_pdf_points_to_the_configured_public_address(
    school: School, kit: Kit, settings: object, tmp_path: Path
) -> None:
    settings.BULU_PUBLIC_URL = PUBLIC + "/"  # type: ignore[attr-defined]  # a trailing slash too
    request = club_request(school, kit)
    doc = render(request, "form")
    link = f"{PUBLIC}/verify/{doc.code}/"
    assert qr_payloads(pdf_bytes(doc), tmp_path) == [link]
    text = squash(pdf_text(pdf_bytes(doc)))
    assert squash(f"核验：{link}") in text
    assert "127.0.0.1" not in text
    # The address opens the verification page of this very PDF.
    page = Client().get(link.removeprefix(PUBLIC), HTTP_HOST="127.0.0.1")
    assert page.status_code == 200 and "真实有效" in page.content.decode()


@pytest.mark.django_db
def test_the_web_and_the_worker_print_the_same_address_whatever_host_was_asked(
    school: School, kit: Kit, settings: object, client: Client
) -> None:
    settings.BULU_PUBLIC_URL = PUBLIC  # type: ignore[attr-defined]
    settings.ALLOWED_HOSTS = ["127.0.0.1", "intranet.example"]  # type: ignore[attr-defined]
    request = club_request(school, kit)
    decide(request, school.frank)
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.documents_render(request_id=request.pk)  # the worker's task body: no request
    stored = RequestDocument.objects.get(request_id=request.pk, form_key="form")
    client.force_login(school.gina)
    response = client.get(
        reverse("documents:download", args=[request.pk, "form"]), HTTP_HOST="intranet.example"
    )
    assert response.status_code == 200
    # Downloaded through another host name: the worker's PDF is still current, not rendered again.
    doc = RequestDocument.objects.get(pk=stored.pk)
    assert doc.html_sha256 == stored.html_sha256 and doc.file.name == stored.file.name
    built = services.document_html(
        request=request, form=services.form_get(request=request, key="form")
    )
    assert f"{PUBLIC}/verify/{doc.code}/" in built.html and "intranet.example" not in built.html


@pytest.mark.django_db
def test_a_changed_address_renders_the_pdf_again(
    school: School, kit: Kit, settings: object, tmp_path: Path
) -> None:
    request = club_request(school, kit)
    settings.BULU_PUBLIC_URL = "http://127.0.0.1:8101"  # type: ignore[attr-defined]
    first = render(request, "form")
    assert squash(f"核验：http://127.0.0.1:8101/verify/{first.code}/") in squash(
        pdf_text(pdf_bytes(first))
    )
    settings.BULU_PUBLIC_URL = PUBLIC  # type: ignore[attr-defined]
    with TestCase.captureOnCommitCallbacks(execute=True):
        second = render(request, "form")
    assert second.code == first.code  # nothing was decided: only the address changed
    assert second.html_sha256 != first.html_sha256 and second.file.name != first.file.name
    assert qr_payloads(pdf_bytes(second), tmp_path) == [f"{PUBLIC}/verify/{second.code}/"]


def _public_url_with(env: dict[str, str]) -> str:
    keep = {k: v for k, v in os.environ.items() if k not in ("BULU_PUBLIC_URL", "BULU_RUN_ADDRESS")}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.BULU_PUBLIC_URL)",
        ],
        cwd=ROOT,
        env={**keep, "DJANGO_SETTINGS_MODULE": "bulu.settings", "SECRET_KEY": "x", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_without_a_configured_address_the_one_make_run_serves() -> None:
    assert _public_url_with({}) == "http://127.0.0.1:8000"  # `make run`'s default port
    assert _public_url_with({"BULU_RUN_ADDRESS": "127.0.0.1:8101"}) == "http://127.0.0.1:8101"
    configured = {"BULU_RUN_ADDRESS": "127.0.0.1:8101", "BULU_PUBLIC_URL": PUBLIC}
    assert _public_url_with(configured) == PUBLIC


@pytest.mark.django_db
def test_demo_logins_prints_the_address_served(settings: object) -> None:
    UserFactory.create(username=PERSONAS[0].username, name="演示学生")
    settings.BULU_PUBLIC_URL = "http://127.0.0.1:8101"  # type: ignore[attr-defined]
    out = StringIO()
    call_command("demo_logins", stdout=out)
    assert "登录地址：http://127.0.0.1:8101/login/" in out.getvalue()
    settings.BULU_PUBLIC_URL = PUBLIC  # type: ignore[attr-defined]
    out = StringIO()
    call_command("demo_logins", stdout=out)
    assert f"登录地址：{PUBLIC}/login/" in out.getvalue() and "8000" not in out.getvalue()


def test_the_checks_refuse_an_address_no_one_can_open(settings: object) -> None:
    settings.ALLOWED_HOSTS = ["bulu.example.edu.cn"]  # type: ignore[attr-defined]
    settings.BULU_PUBLIC_URL = PUBLIC  # type: ignore[attr-defined]
    assert checks.public_url_check() == [] and checks.public_url_host_check() == []
    # A deployment that forgot the setting: its QR codes would point to this machine's loopback.
    settings.BULU_PUBLIC_URL = "http://127.0.0.1:8000"  # type: ignore[attr-defined]
    assert [w.id for w in checks.public_url_host_check()] == ["documents.W002"]
    for wrong in ("bulu.example.edu.cn", "ftp://bulu.example.edu.cn", f"{PUBLIC}/?a=1"):
        settings.BULU_PUBLIC_URL = wrong  # type: ignore[attr-defined]
        assert [e.id for e in checks.public_url_check()] == ["documents.E004"], wrong


def test_under_a_sub_path_the_address_is_the_same_in_the_web_and_the_worker(
    settings: object,
) -> None:
    settings.BULU_PUBLIC_URL = "https://tw.example.edu.cn/bulu/"  # type: ignore[attr-defined]
    expected = "https://tw.example.edu.cn/bulu/verify/7-1-ABC/"
    assert verification.verify_url("7-1-ABC") == expected  # the worker: no script prefix
    set_script_prefix("/bulu/")  # a web request served under /bulu/
    try:
        assert verification.verify_url("7-1-ABC") == expected
    finally:
        set_script_prefix("/")
