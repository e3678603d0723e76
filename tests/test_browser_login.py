"""Headless Chromium logs in as every demo persona on a phone-sized screen.

Needs Debian's chromium (skipped without it, failed with REQUIRE_SERVICES=1); never downloads one.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect
from pytest_django.live_server_helper import LiveServer

from accounts.demo import DEMO_PASSWORD, PERSONAS, demo_seed_school
from accounts.models import User
from tests.conftest import CspWatch, need

pytestmark = [
    pytest.mark.browser,
    # Whitenoise warns that STATIC_ROOT (filled by collectstatic) does not exist yet.
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

PHONE: ViewportSize = {"width": 390, "height": 844}


def test_each_persona_logs_in_on_a_phone(
    request: pytest.FixtureRequest, live_server: LiveServer, tmp_path: Path, csp: CspWatch
) -> None:
    need(shutil.which("chromium") is not None, "chromium")
    browser: Browser = request.getfixturevalue("browser")
    demo_seed_school()
    names = dict(
        User.objects.filter(username__in=[p.username for p in PERSONAS]).values_list(
            "username", "name"
        )
    )
    login_url = f"{live_server.url}/login/"

    for n, persona in enumerate(PERSONAS):
        context = browser.new_context(
            viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True, locale="zh-CN"
        )
        try:
            page = csp.watch(context.new_page())
            response = page.goto(login_url)
            assert response is not None and response.ok, f"{persona.username}: login page"
            expect(page.locator("h1")).to_have_text("登录")
            # The stylesheet is served and applied (the top bar takes the school red).
            assert (
                page.evaluate("getComputedStyle(document.querySelector('.topbar')).backgroundColor")
                == "rgb(179, 38, 30)"
            )
            if n == 0:
                # The policy is enforced and the watcher hears it: an injected inline handler
                # is refused (then forgotten, so only the app's own pages are judged).
                page.evaluate(
                    "document.body.insertAdjacentHTML('beforeend',"
                    " '<img src=\\'data:,x\\' onerror=\\'window.bad=1\\'>')"
                )
                page.wait_for_timeout(300)
                assert page.evaluate("window.bad") is None
                assert any("inline event handler" in v for v in csp.violations), csp.violations
                csp.violations.clear()
                page.screenshot(path=tmp_path / "login.png", full_page=True)
                _assert_fits_the_phone(page, "login")
                page.get_by_label("学号/工号").fill(persona.username)
                page.get_by_label("密码").fill("not-the-password")
                page.get_by_role("button", name="登录").click()
                expect(page.locator(".msg-error")).to_contain_text(
                    "请输入一个正确的学号/工号和密码"
                )
                expect(page.get_by_label("学号/工号")).to_have_value(persona.username)
                page.screenshot(path=tmp_path / "login-error.png", full_page=True)

            page.get_by_label("学号/工号").fill(persona.username)
            page.get_by_label("密码").fill(DEMO_PASSWORD)
            page.get_by_role("button", name="登录").click()

            expect(page).to_have_url(f"{live_server.url}/")
            expect(page.locator("h1")).to_contain_text(names[persona.username])
            if persona.approver:
                expect(page.locator("#todo h2")).to_contain_text("我的待办")
            elif persona.role_code == "admin":
                expect(page.get_by_role("link", name="进入管理后台")).to_be_visible()
            else:
                expect(page.locator("#my-requests h2")).to_contain_text("我的申请")
            page.screenshot(path=tmp_path / f"home-{persona.username}.png", full_page=True)
            _assert_fits_the_phone(page, persona.username)

            # On a phone the menu is folded behind ☰; 退出 sits inside it. The toggle itself stays
            # in the accessibility tree (keyboard and screen-reader users can open the menu).
            logout = page.get_by_role("button", name="退出")
            expect(logout).to_be_hidden()
            expect(page.get_by_role("checkbox", name="菜单")).to_have_count(1)
            page.locator(".menu-button").click()
            expect(logout).to_be_visible()
            page.screenshot(path=tmp_path / f"menu-{persona.username}.png")
            _assert_fits_the_phone(page, f"{persona.username} menu")
            logout.click()
            expect(page).to_have_url(re.compile(r"/login/$"))
            assert page.goto(f"{live_server.url}/") is not None
            expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
        finally:
            context.close()


def _assert_fits_the_phone(page: Page, what: str) -> None:
    """Nothing is wider than the phone: no sideways scrolling."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{what}: page is {width}px wide on a {PHONE['width']}px phone"
