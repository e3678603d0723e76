"""In the browser: a per-hour standard asks for hours and shows the value live; no level is fine."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from pytest_django.live_server_helper import LiveServer

from bulu.workflow.models import Window
from imports.models import CreditStandardItem
from personal.models import PersonalItem
from personal.services import personal_request_create
from tests.browser import login
from tests.conftest import CspWatch, School, need
from tests.personal.conftest import PNG, Mirror

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_hours_give_the_value_live_and_any_level_saves(
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
    standard = CreditStandardItem.objects.create(
        subcategory=mirror.subcategory,
        number=1,
        name="参加志愿服务（每小时）",
        level=None,
        credit_type=mirror.credit_type,
        points=Decimal("1.00"),
        unit=CreditStandardItem.Unit.HOUR,
    )
    draft = personal_request_create(student=school.alice, title="志愿服务")
    proof = tmp_path / "时长证明.png"
    proof.write_bytes(PNG)

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = csp.watch(phone.new_page())
    login(page, live_server.url, school.alice.username)
    page.goto(f"{live_server.url}/personal/{draft.pk}/items/new/")
    # Before a per-unit standard is chosen, the quantity is not asked.
    expect(page.locator("#id_quantity")).to_be_hidden()
    page.select_option("#id_standard_item", str(standard.pk))
    expect(page.locator("#id_quantity")).to_be_visible()
    expect(page.locator("[data-level-note]")).to_contain_text("不限等级")
    page.fill("#id_quantity", "6")
    result = page.locator("output[data-quantity-result]")
    expect(result).to_contain_text(f"6 小时 × 1.00 = 6.00 {mirror.credit_type.name}")
    expect(page.locator("#id_claimed_value")).to_have_value("6.00")
    page.fill("#id_quantity", "1.5")
    expect(result).to_contain_text("= 1.50")
    expect(page.locator("#id_claimed_value")).to_have_value("1.50")
    page.fill("#id_quantity", "6")
    page.fill("#id_content", "社区志愿服务")
    page.fill("#id_start_date", "2025-10-12")
    page.select_option("#id_level", str(mirror.level.pk))
    page.set_input_files("#id_evidence_files", [str(proof)])
    page.screenshot(path=str(tmp_path / "per-hour-item.png"), full_page=True)
    page.click("button:has-text('保存事项')")
    expect(page.locator("#items")).to_contain_text("6 小时 × 1.00")
    item = PersonalItem.objects.get(request=draft)
    assert (item.quantity, item.claimed_value) == (Decimal("6.00"), Decimal("6.00"))
    # Editing: the stored claim (6 × 1.00) keeps following the hours.
    page.goto(f"{live_server.url}/personal/{draft.pk}/items/{item.pk}/")
    expect(page.locator("#id_quantity")).to_have_value("6.00")
    expect(page.locator("output[data-quantity-result]")).to_contain_text("= 6.00")
    page.fill("#id_quantity", "8")
    expect(page.locator("#id_claimed_value")).to_have_value("8.00")
    page.click("button:has-text('保存事项')")
    expect(page.locator("#items")).to_contain_text("8 小时 × 1.00")
    phone.close()

    item.refresh_from_db()
    assert (item.quantity, item.claimed_value) == (Decimal("8.00"), Decimal("8.00"))
    assert csp.violations == []
