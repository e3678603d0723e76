"""A student files a personal back-fill on a phone; the counselor approves it at a desk."""

from __future__ import annotations

import shutil
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from bulu.workflow.models import State, Window
from imports.models import CreditStandardItem
from personal.models import PersonalRequest
from tests.browser import login
from tests.conftest import CspWatch, School, need
from tests.personal.conftest import PNG, Mirror

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fill_item(page: Page, mirror: Mirror, *, start: str, value: str) -> None:
    page.fill("#id_start_date", start)
    page.select_option("#id_category", str(mirror.category.pk))
    page.select_option("#id_subcategory", str(mirror.subcategory.pk))
    page.select_option("#id_level", str(mirror.level.pk))
    page.fill("#id_awards", "一等奖")
    page.select_option("#id_credit_type", str(mirror.credit_type.pk))
    page.fill("#id_claimed_value", value)


def test_it_takes_a_request_from_phone_to_counselor(
    request: pytest.FixtureRequest,
    live_server: LiveServer,
    school: School,
    mirror: Mirror,
    personal_window: Window,
    tmp_path: Path,
    csp: CspWatch,
) -> None:
    need(shutil.which("chromium") is not None, "chromium")
    browser: Browser = request.getfixturevalue("browser")
    base = live_server.url
    certificate = tmp_path / "证书.png"
    certificate.write_bytes(PNG)
    photo = tmp_path / "现场照片.png"
    photo.write_bytes(PNG)
    standard = CreditStandardItem.objects.create(
        subcategory=mirror.subcategory,
        number=2,
        name="校园歌手大赛",
        level=mirror.level,
        credit_type=mirror.credit_type,
        points=Decimal("2.00"),
    )

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = csp.watch(phone.new_page())
    login(page, base, school.alice.username)
    page.click("#new-entries a:has-text('新建个人成长积分补录')")
    page.fill("#id_title", "校园歌手大赛一等奖")
    page.click("text=创建草稿")
    expect(page.locator(".msg-success")).to_contain_text("草稿已创建")
    page.click("a:has-text('添加补录事项')")
    page.fill("#id_content", "校园歌手大赛")
    page.fill("#id_start_date", "2025-11-05")
    # The phone loses the page before saving: what was typed comes back.
    page.reload()
    expect(page.locator("#id_content")).to_have_value("校园歌手大赛")
    expect(page.locator("#item-form")).to_contain_text("已恢复你上次在本机未保存的内容")
    # A date in the future and a claim above the chosen standard are refused, files kept.
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    page.select_option("#id_standard_item", str(standard.pk))
    fill_item(page, mirror, start=tomorrow, value="5")
    page.set_input_files("#id_evidence_files", [str(certificate), str(photo)])
    page.click("button:has-text('保存事项')")
    expect(page.locator("#item-form")).to_contain_text("晚于今天")
    expect(page.locator("#item-form")).to_contain_text("超过所选认定标准")
    expect(page.locator("#staged")).to_contain_text("证书.png")
    expect(page.locator("#staged")).to_contain_text("现场照片.png")
    page.screenshot(path=str(tmp_path / "student-item-refused.png"), full_page=True)
    page.fill("#id_start_date", "2025-11-05")
    page.fill("#id_claimed_value", "2")
    page.click("button:has-text('保存事项')")
    expect(page.locator("#items")).to_contain_text("校园歌手大赛")
    expect(page.locator("#items")).to_contain_text("现场照片.png")
    page.screenshot(path=str(tmp_path / "student-edit.png"), full_page=True)
    # 第六条: not yet filed online in 到梦空间, so the submission names the item.
    page.click("text=提交申请")
    expect(page.locator(".msg-error")).to_contain_text("校园歌手大赛")
    page.check("#items .online-form input[name=online_applied]")
    page.click("#items .online-form button:has-text('保存')")
    expect(page.locator(".msg-success")).to_contain_text("已记录到梦空间在线提交情况")
    page.click("text=提交申请")
    expect(page.locator("h1 .badge")).to_have_text("审核中")
    phone.close()

    obj = PersonalRequest.objects.get(applicant=school.alice)
    assert obj.state == State.PENDING and obj.items.get().evidence.count() == 2

    desk = browser.new_context(viewport={"width": 1280, "height": 900})
    page = csp.watch(desk.new_page())
    login(page, base, school.bob.username)
    expect(page.locator("#todo")).to_contain_text("校园歌手大赛一等奖")
    page.click("#todo >> text=校园歌手大赛一等奖")
    expect(page.locator(".evidence-thumb").first).to_be_visible()
    page.fill("#opinion", "情况属实")
    page.click("button[value=approve]")
    expect(page.locator(".msg-success")).to_contain_text("审核通过")
    desk.close()

    obj.refresh_from_db()
    assert obj.step_index == 1 and obj.log.last().opinion == "情况属实"


def test_the_center_sees_who_is_missing_and_the_student_is_told_whom_to_ask(
    request: pytest.FixtureRequest,
    live_server: LiveServer,
    school: School,
    mirror: Mirror,
    personal_window: Window,
    tmp_path: Path,
    csp: CspWatch,
) -> None:
    from accounts.services import role_revoke
    from tests.personal.conftest import make_draft

    need(shutil.which("chromium") is not None, "chromium")
    browser: Browser = request.getfixturevalue("browser")
    base = live_server.url
    role_revoke(user=school.bob, organization=school.class_a1, role="counselor")
    draft = make_draft(school.alice, mirror)

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = csp.watch(phone.new_page())
    login(page, base, school.alice.username)
    page.goto(f"{base}/personal/{draft.pk}/edit/")
    page.click("text=提交申请")
    expect(page.locator(".msg-error")).to_contain_text("机械2401")
    expect(page.locator(".msg-error")).to_contain_text("请联系学院团总支")
    phone.close()

    desk = browser.new_context(viewport={"width": 1280, "height": 900})
    page = csp.watch(desk.new_page())
    login(page, base, school.dave.username)
    page.click("nav >> text=缺少审核人")
    expect(page.locator("#owner-gaps")).to_contain_text("机械2401")
    expect(page.locator("#owner-gaps")).to_contain_text("辅导员")
    page.screenshot(path=str(tmp_path / "center-owner-gaps.png"), full_page=True)
    page.click("nav >> text=消息")
    expect(page.locator("main")).to_contain_text("缺少审核人")
    desk.close()
