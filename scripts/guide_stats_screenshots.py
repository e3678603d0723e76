"""Screenshots of the statistics page for the user guide (docs/guide/img/stats-*.png).

Run against a server already serving a database with data (e.g. one built by bench/stats.py at a
small size), with the same DATABASE_URL and SECRET_KEY in the environment:

    BASE=http://127.0.0.1:8022 .venv/bin/python scripts/guide_stats_screenshots.py

It signs the center's demo login T0301 in through Django's session (no password needed) and
drives Debian's Chromium through Playwright at desktop and phone width.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def session_cookie(username: str) -> tuple[str, str]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bulu.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.test import Client

    from accounts.models import User

    client = Client()
    client.force_login(User.objects.get(username=username))
    return settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value


def main() -> None:
    from playwright.sync_api import sync_playwright

    base = os.environ.get("BASE", "http://127.0.0.1:8022")
    out = Path(os.environ.get("OUT", ROOT / "docs" / "guide" / "img"))
    name, value = session_cookie(os.environ.get("WHO", "T0301"))
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=shutil.which("chromium") or "/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu"],
        )
        for label, width, height, full in (
            ("desktop", 1280, 1500, False),
            ("phone", 390, 1500, False),
        ):
            context = browser.new_context(
                viewport={"width": width, "height": height}, device_scale_factor=1
            )
            context.add_cookies([{"name": name, "value": value, "url": base}])
            page = context.new_page()
            errors: list[str] = []

            def note(message: Any, errors: list[str] = errors) -> None:
                if message.type == "error":
                    errors.append(message.text)

            page.on("console", note)
            page.goto(f"{base}/stats/")
            page.screenshot(path=str(out / f"stats-{label}.png"), full_page=full)
            print(label, "console errors:", errors or "none")
            context.close()
        browser.close()


if __name__ == "__main__":
    main()
