"""A club's student applicant files a collective request on a phone; four reviewers sign it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from pytest_django.live_server_helper import LiveServer

from bulu.workflow.models import State
from collective.models import CollectiveRequest
from credits.models import CreditRecord
from tests.browser import decide_on_page, login
from tests.collective.conftest import Kit, roster_file, roster_row
from tests.conftest import CspWatch, School, need

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_club_files_fixes_its_roster_and_gets_credits_after_four_signatures(
    request: pytest.FixtureRequest,
    live_server: LiveServer,
    school: School,
    kit: Kit,
    tmp_path: Path,
    csp: CspWatch,
) -> None:
    need(shutil.which("chromium") is not None, "chromium")
    browser: Browser = request.getfixturevalue("browser")
    base = live_server.url
    faulty = [roster_row(u, kit) for u in kit.students]
    faulty[2] = roster_row(kit.students[2], kit, name="张冠李戴")
    (tmp_path / "名单-有错.xlsx").write_bytes(roster_file(faulty).getvalue())
    good = [roster_row(u, kit) for u in kit.students]
    (tmp_path / "名单.xlsx").write_bytes(roster_file(good).getvalue())

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = csp.watch(phone.new_page())
    login(page, base, school.gina.username)
    page.click("#new-entries a:has-text('新建集体活动积分补录')")
    page.click("button:has-text('创建草稿')")
    expect(page.locator(".msg-success")).to_contain_text("草稿已创建")
    page.check("input[name=case][value=unpublished]")
    page.fill("#id_activity_name", "2025年机器人协会科技文化节")
    page.select_option("#id_standard_item", str(kit.standard.pk))
    expect(page.locator("#id_points_per_person")).to_have_value("0.50")
    page.fill("#id_declared_participants", str(len(kit.students)))
    page.locator("#id_declared_participants").dispatch_event("change")
    expect(page.locator("#id_declared_total")).to_have_value("5.00")
    page.fill("#id_contact_phone", "13808380001")
    page.fill("#id_activity_start", "2025-10-18")
    page.fill("#id_location", "学生活动中心")
    page.fill("#id_credit_details", "每人 0.5 文体活动学分，共 10 人")
    page.fill("#id_reason", "活动结束后到梦空间一直未发布该活动，积分未发放。")
    page.click("button:has-text('保存草稿')")
    expect(page.locator(".msg-success")).to_contain_text("已保存")
    expect(page.locator("#checks")).to_contain_text("请上传人员名单")

    page.set_input_files("#roster input[type=file]", str(tmp_path / "名单-有错.xlsx"))
    page.click("#roster button[type=submit]")
    expect(page.locator("#roster-status")).to_contain_text("发现 1 处错误", timeout=20_000)
    expect(page.locator("#roster-status a:has-text('下载标注文件')")).to_be_visible()
    expect(page.locator("#checks")).to_contain_text("人员名单有 1 处错误")
    page.screenshot(path=str(tmp_path / "collective-faulty-roster.png"), full_page=True)

    page.set_input_files("#roster input[type=file]", str(tmp_path / "名单.xlsx"))
    page.click("#roster button[type=submit]")
    expect(page.locator("#roster-status")).to_contain_text("校验通过", timeout=20_000)
    expect(page.locator("#checks")).to_contain_text("可以提交")
    page.click("button:has-text('提交申请')")
    expect(page.locator("h1 .badge")).to_have_text("审核中")
    phone.close()

    obj = CollectiveRequest.objects.get(applicant=school.gina)
    desk = browser.new_context(viewport={"width": 1280, "height": 900})
    page = csp.watch(desk.new_page())
    decide_on_page(page, base, school.frank.username, obj.pk, "return", "请补充活动签到表照片")

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page_phone = csp.watch(phone.new_page())
    login(page_phone, base, school.gina.username)
    page_phone.goto(f"{base}/flow/requests/{obj.pk}/")
    expect(page_phone.locator("#last-reason")).to_contain_text("请补充活动签到表照片")
    page_phone.click("a:has-text('修改并重新提交')")
    page_phone.fill("#id_reason", "活动结束后到梦空间一直未发布该活动，积分未发放；签到表见附件。")
    page_phone.click("button:has-text('保存草稿')")
    page_phone.click("button:has-text('修改完成，重新提交')")
    expect(page_phone.locator("h1 .badge")).to_have_text("审核中")
    phone.close()

    for user in (school.frank, school.carol, school.dave, school.erin):
        decide_on_page(page, base, user.username, obj.pk, "approve", "同意")
    desk.close()

    obj.refresh_from_db()
    assert obj.state == State.APPROVED
    assert CreditRecord.objects.filter(request=obj).count() == len(kit.students)
