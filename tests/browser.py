"""What the browser tests do over and over: log in, decide on the shared request page."""

from __future__ import annotations

from playwright.sync_api import Page, expect

PASSWORD = "pass-1234"  # tests.factories.UserFactory's


def login(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_contain_text("你好")


def logout(page: Page) -> None:
    page.click("form[action='/logout/'] button", force=True)


def decide_on_page(
    page: Page, base: str, username: str, pk: int, decision: str = "approve", opinion: str = "同意"
) -> None:
    """Log in, open request `pk`, take `decision` with `opinion`, log out."""
    login(page, base, username)
    page.goto(f"{base}/flow/requests/{pk}/")
    page.fill("#opinion", opinion)
    page.click(f"button[value={decision}]")
    expect(page.locator(".msg-success")).to_contain_text("已处理")
    logout(page)
