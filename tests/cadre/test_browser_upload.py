"""The 聘书 upload on a phone: two files attached to a self-report, both on the request page."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from pytest_django.live_server_helper import LiveServer

from cadre.models import CadreRequest
from tests.browser import login
from tests.cadre.conftest import Cadre
from tests.conftest import CspWatch, School, need
from tests.personal.conftest import PDF, PNG

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_student_attaches_two_files_to_a_self_report_on_a_phone(
    request: pytest.FixtureRequest,
    live_server: LiveServer,
    school: School,
    cadre: Cadre,
    tmp_path: Path,
    csp: CspWatch,
) -> None:
    need(shutil.which("chromium") is not None, "chromium")
    browser: Browser = request.getfixturevalue("browser")
    base = live_server.url
    letter, photo = tmp_path / "聘书.pdf", tmp_path / "任命照片.png"
    letter.write_bytes(PDF)
    photo.write_bytes(PNG)

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = csp.watch(phone.new_page())
    login(page, base, school.alice.username)
    page.goto(f"{base}/cadre/self/")
    expect(page.locator("[data-school-year]")).to_contain_text("2024-2025 学年")
    page.select_option("#id_unit", str(school.club.pk))
    page.select_option("#id_position", str(cadre.club_head.pk))
    page.fill("#id_term_start", "2024-09-01")
    page.fill("#id_term_end", "2025-06-30")
    page.set_input_files("#id_evidence_files", [str(letter), str(photo)])
    page.click("button:has-text('保存')")
    expect(page.locator(".msg-success")).to_contain_text("已保存")
    body = page.locator("main")
    expect(body).to_contain_text("聘书.pdf")
    expect(body).to_contain_text("任命照片.png")
    page.screenshot(path=str(tmp_path / "cadre-two-files.png"), full_page=True)
    phone.close()

    report = CadreRequest.objects.get()
    assert sorted(report.evidence.values_list("content_type", flat=True)) == [
        "application/pdf",
        "image/png",
    ]
