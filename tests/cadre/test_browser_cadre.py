"""A student self-reports on a phone (short of the school year first); a counselor hands in the
class list."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from pytest_django.live_server_helper import LiveServer

from accounts.models import Membership
from bulu.workflow.models import State
from cadre.models import CadreRequest
from credits.models import CreditRecord
from tests.browser import decide_on_page, login, logout
from tests.cadre.conftest import Cadre, list_xlsx
from tests.conftest import CspWatch, School, deputy, need

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_self_report_and_class_list_reach_credit_records(
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

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = csp.watch(phone.new_page())
    login(page, base, school.alice.username)
    page.click("#new-entries a:has-text('新建学生干部积分补录')")
    page.click("a:has-text('上报我的任职')")
    page.select_option("#id_unit", str(school.club.pk))
    page.select_option("#id_position", str(cadre.club_head.pk))
    page.fill("#id_term_start", "2024-09-01")
    page.fill("#id_term_end", "2025-05-31")
    page.click("button:has-text('保存')")
    expect(page.locator(".msg-error, .form .msg")).to_contain_text(
        "任职未覆盖2024-2025学年：缺少 2025-06-01 至 2025-06-30"
    )
    page.screenshot(path=str(tmp_path / "cadre-short-of-the-year.png"), full_page=True)
    page.fill("#id_term_end", "2025-09-01")
    page.click("button:has-text('保存')")
    expect(page.locator("#entries")).to_contain_text("社长")
    page.click("button:has-text('提交上报')")
    expect(page.locator("h1 .badge")).to_have_text("审核中")
    phone.close()

    xlsx = tmp_path / "班委名单.xlsx"
    rows: list[list[object]] = [
        [u.username, u.name, title, datetime(2024, 9, 1), datetime(2025, 9, 1)]
        for u, title in zip(cadre.classmates[1:4], ["班长", "团支书", "学习委员"], strict=True)
    ]
    xlsx.write_bytes(list_xlsx(rows).getvalue())
    # The counselor's filing signs nothing: the class's other counselor confirms the list.
    second = deputy(school.class_a1, Membership.Role.COUNSELOR, "T1011", "副辅导员")
    desk = browser.new_context(viewport={"width": 1280, "height": 900})
    page = csp.watch(desk.new_page())
    login(page, base, school.bob.username)
    page.goto(f"{base}/cadre/")
    page.select_option("#id_unit", str(school.class_a1.pk))
    page.click("button:has-text('新建名单')")
    page.set_input_files("#import input[type=file]", str(xlsx))
    page.click("button:has-text('导入并替换名单')")
    expect(page.locator(".msg-success")).to_contain_text("3 人次")
    page.click("button:has-text('提交名单')")
    expect(page.locator("h1 .badge")).to_have_text("审核中")
    logout(page)

    report = CadreRequest.objects.get(mode=CadreRequest.Mode.SELF)
    class_list = CadreRequest.objects.get(mode=CadreRequest.Mode.UNIT_LIST)
    for user in (school.frank, school.carol, school.dave):
        decide_on_page(page, base, user.username, report.pk, opinion="任职属实")
    for user in (second, school.carol, school.dave):
        decide_on_page(page, base, user.username, class_list.pk, opinion="任职属实")
    desk.close()

    report.refresh_from_db()
    class_list.refresh_from_db()
    assert report.state == class_list.state == State.APPROVED
    assert CreditRecord.objects.filter(request=report).count() == 1
    assert CreditRecord.objects.filter(request=class_list).count() == 3
