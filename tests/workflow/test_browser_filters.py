"""我的待办 on a phone: the list comes first, the filters are folded until one is set; at a desk
they are open."""

from __future__ import annotations

import shutil

import pytest
from playwright.sync_api import Browser, expect
from pytest_django.live_server_helper import LiveServer

from bulu.workflow.models import Window
from tests.browser import login
from tests.conftest import CspWatch, School, need
from tests.personal.conftest import Mirror
from tests.workflow.test_views import submitted

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


def test_the_queue_filters_fold_on_a_phone_and_open_at_a_desk(
    request: pytest.FixtureRequest,
    live_server: LiveServer,
    school: School,
    mirror: Mirror,
    personal_window: Window,
    csp: CspWatch,
) -> None:
    need(shutil.which("chromium") is not None, "chromium")
    browser: Browser = request.getfixturevalue("browser")
    (first,) = submitted(school, mirror, 1)
    base = live_server.url

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = csp.watch(phone.new_page())
    login(page, base, school.bob.username)
    page.goto(f"{base}/flow/todo/")
    fold = page.locator("details.filters-fold")
    expect(fold).not_to_have_attribute("open", "")
    expect(page.locator("#id_college")).to_be_hidden()
    # The queue's first row is on the first screen.
    row = page.locator(f"a[href='/flow/requests/{first.pk}/']").first
    expect(row).to_be_in_viewport()
    # Opening the fold and filtering: the next page keeps it open and says how many are set.
    page.click("details.filters-fold > summary")
    page.select_option("#id_college", str(school.college_a.pk))
    page.click("details.filters-fold button[type=submit]")
    expect(fold).to_have_attribute("open", "")
    expect(page.locator("details.filters-fold > summary")).to_contain_text("已设 1 项")
    expect(row).to_be_visible()
    phone.close()

    desk = browser.new_context(viewport={"width": 1280, "height": 900})
    page = csp.watch(desk.new_page())
    login(page, base, school.bob.username)
    page.goto(f"{base}/flow/todo/")
    expect(page.locator("#id_college")).to_be_visible()
    desk.close()
