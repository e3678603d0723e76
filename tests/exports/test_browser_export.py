"""Center staff filter, export, download and confirm; the student sees 已补录到到梦空间."""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from bulu.workflow.models import BackfillRequest, State
from bulu.workflow.tallies import tallies_rebuild
from exports.models import ExportBatch
from stats.tallies import stats_rebuild
from tests.browser import login, logout
from tests.conftest import CspWatch, School, need
from tests.exports.conftest import approved_request

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _imported_on_the_statistics_page(page: Page, base: str) -> str:
    """The 个人成长积分补录 row's 已导入到梦空间 cell of 统计's requests-by-kind-and-state table."""
    page.goto(f"{base}/stats/")
    table = page.locator("section#kind_state table")
    headers = table.locator("thead th").all_inner_texts()
    row = table.locator("tbody tr", has=page.locator("th", has_text="个人成长积分补录"))
    return row.locator("th, td").nth(headers.index("已导入到梦空间")).inner_text().strip()


def test_it_exports_downloads_confirms_and_tells_the_student(
    request: pytest.FixtureRequest,
    live_server: LiveServer,
    school: School,
    credit_types: None,
    csp: CspWatch,
    tmp_path: Path,
) -> None:
    need(shutil.which("chromium") is not None, "chromium")
    browser: Browser = request.getfixturevalue("browser")
    base = live_server.url
    mine = approved_request(school, records=2, credit_type="文体活动学分", student_no="0024010001")
    other = approved_request(school, applicant=school.olivia, records=1, credit_type="志愿者工时")
    tallies_rebuild()  # the fixture wrote the requests directly: count them as the app would
    stats_rebuild()

    context = browser.new_context(accept_downloads=True)
    page = csp.watch(context.new_page())
    page.on("dialog", lambda dialog: dialog.accept())
    login(page, base, school.dave.username)
    assert _imported_on_the_statistics_page(page, base) == "0"
    page.click("nav.menu a:has-text('导出到梦空间')")
    expect(page.locator("#export-total")).to_have_text("3")
    page.select_option("#id_credit_type", "文体活动学分")
    page.click("#export-filters button[type=submit]")
    expect(page.locator("#export-total")).to_have_text("2")
    page.click("#export-create")
    expect(page.locator(".msg-success")).to_contain_text("已生成导出批次")
    expect(page.locator("#batch-state")).to_have_text("已生成")

    with page.expect_download() as info:
        page.click("#batch-download")
    download = info.value
    assert download.suggested_filename.endswith(".xlsx")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    ws = openpyxl.load_workbook(saved).active
    assert ws["A1"].value == "成长记录补充模板"
    assert [ws.cell(r, 1).value for r in (7, 8)] == ["0024010001", "0024010001"]
    assert ws.cell(9, 1).value is None  # the other credit type stayed out

    page.reload()
    expect(page.locator("#batch-state")).to_have_text("已下载")
    page.click("#batch-confirm")
    expect(page.locator(".msg-success")).to_contain_text("已确认导入到梦空间")
    expect(page.locator("#batch-state")).to_have_text("已确认导入")
    assert ExportBatch.objects.get().state == ExportBatch.State.IMPORTED
    assert BackfillRequest.objects.get(pk=mine.pk).state == State.IMPORTED
    assert BackfillRequest.objects.get(pk=other.pk).state == State.APPROVED
    assert _imported_on_the_statistics_page(page, base) == "1"  # the statistics changed
    logout(page)

    login(page, base, school.alice.username)
    page.goto(f"{base}/flow/requests/{mine.pk}/")
    expect(page.locator("#timeline")).to_contain_text("已补录到到梦空间")
    page.click("nav.menu a:has-text('消息')")
    expect(page.locator("main")).to_contain_text("已补录到到梦空间")
    context.close()
