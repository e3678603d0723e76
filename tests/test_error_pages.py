"""400, 403, 404 and 500 answer with the app's own Chinese page and a way back (issue 19).

The suite runs with DEBUG off, as `make run` does (checked against the Makefile below, and once
through the very runserver command `make run` starts). No page lists the app's URLs or shows a
stack trace; 400 and 500 render without a request context or a database.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client, RequestFactory
from django.urls import reverse

from bulu import errors
from tests.conftest import ROOT, School, need
from tests.error_urls import SECRET

pytestmark = pytest.mark.urls("tests.error_urls")

HOME = '<a class="button primary" href="/">返回首页</a>'
# What Django's own pages (debug or not) would show.
LEAKS = (
    SECRET,
    "Traceback",
    "URLconf",
    "urlpatterns",
    "Page not found",
    "Server Error",
    "Bad Request",
    "Forbidden",
    "CSRF verification failed",
    "RuntimeError",
    "SuspiciousOperation",
)


def app_page(html: str, title: str) -> None:
    assert '<html lang="zh-Hans">' in html
    assert f"<h1>{title}</h1>" in html
    assert HOME in html
    for leak in LEAKS:
        assert leak not in html, leak


def back_link(html: str) -> str | None:
    found = re.search(r'<a class="button" href="([^"]*)">返回上一页</a>', html)
    return found[1] if found else None


def test_make_run_serves_with_debug_off_on_the_port_it_is_given() -> None:
    need(shutil.which("make") is not None, "make")
    assert django_settings.DEBUG is False  # the settings these tests see
    commands = make_run_commands(8101)
    assert "DEBUG=${DEBUG:-0} " in commands["runserver"]
    assert commands["runserver"].endswith("manage.py runserver 127.0.0.1:8101")
    assert "BULU_RUN_ADDRESS=127.0.0.1:8101 " in commands["demo_logins"]


@pytest.mark.django_db
def test_a_missing_page_says_so_in_chinese_with_a_way_back(client: Client) -> None:
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    app_page(html, "页面不存在")
    assert back_link(html) is None  # typed in: nothing to go back to
    came_from = "http://testserver/flow/windows/"
    html = client.get("/no-such-page/", HTTP_REFERER=came_from).content.decode()
    assert back_link(html) == came_from
    html = client.get("/no-such-page/", HTTP_REFERER="https://evil.example/x").content.decode()
    assert back_link(html) is None and "evil.example" not in html


@pytest.mark.django_db
def test_an_object_not_found_hides_the_reason_and_keeps_the_menu(
    client: Client, school: School
) -> None:
    client.force_login(school.alice)
    response = client.get("/test-errors/missing/")
    assert response.status_code == 404
    html = response.content.decode()
    app_page(html, "页面不存在")
    assert school.alice.get_full_name() in html and "退出" in html  # still signed in, menu there


@pytest.mark.django_db
def test_a_student_on_a_center_page_is_told_no_in_chinese(client: Client, school: School) -> None:
    client.force_login(school.alice)
    came_from = "http://testserver/"
    response = client.get(reverse("documents:archive"), HTTP_REFERER=came_from)
    assert response.status_code == 403
    html = response.content.decode()
    app_page(html, "无权操作")
    assert back_link(html) == came_from


@pytest.mark.django_db
def test_access_denied_from_a_service_uses_the_same_page(client: Client, school: School) -> None:
    client.force_login(school.alice)
    response = client.get("/test-errors/denied/", HTTP_REFERER="http://testserver/flow/mine/")
    assert response.status_code == 403
    html = response.content.decode()
    app_page(html, "无权操作")
    assert "只有二课中心工作人员可以这样做。" in html
    assert back_link(html) == "http://testserver/flow/mine/"


@pytest.mark.django_db
def test_a_refused_host_and_a_suspicious_request_answer_400(client: Client) -> None:
    response = client.get("/", HTTP_HOST="evil.example", HTTP_REFERER="http://evil.example/")
    assert response.status_code == 400
    html = response.content.decode()
    app_page(html, "请求无法处理")
    assert back_link(html) is None and "evil.example" not in html
    response = client.get("/test-errors/suspicious/")
    assert response.status_code == 400
    app_page(response.content.decode(), "请求无法处理")


@pytest.mark.django_db
def test_a_server_error_answers_500_with_the_apps_page(client: Client) -> None:
    failing = Client(raise_request_exception=False)
    response = failing.get("/test-errors/boom/", HTTP_REFERER="http://testserver/flow/todo/")
    assert response.status_code == 500
    html = response.content.decode()
    app_page(html, "服务器出错了")
    assert back_link(html) == "http://testserver/flow/todo/"


def test_400_and_500_render_without_a_database_or_a_request_context() -> None:
    # No `db` fixture: any query here fails the test (pytest-django blocks database access).
    request = RequestFactory().get("/flow/todo/", HTTP_REFERER="http://testserver/flow/mine/")
    page = errors.server_error(request)
    assert page.status_code == 500
    app_page(page.content.decode(), "服务器出错了")
    page = errors.bad_request(RequestFactory().get("/", HTTP_HOST="evil.example"), Exception())
    assert page.status_code == 400
    app_page(page.content.decode(), "请求无法处理")


@pytest.mark.django_db
def test_a_form_posted_without_its_security_token_is_explained(school: School) -> None:
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(reverse("login"), {"username": "2023010101", "password": "x"})
    assert response.status_code == 403
    html = response.content.decode()
    app_page(html, "无权操作")
    assert "安全校验失败" in html and "这次提交没有保存" in html


# --- the same under `make run`'s own runserver command ----------------------------------------


def make_run_commands(port: int) -> dict[str, str]:
    """The manage.py commands `make run PORT=port` runs, by subcommand (make -n runs none)."""
    out = subprocess.run(
        ["make", "-n", "run", f"PORT={port}", "PY=python"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    found = {}
    for line in out.splitlines():
        match = re.search(r" python manage\.py (\w+)", line)
        if match:
            found[match[1]] = line.strip().lstrip("@")
    assert {"migrate", "seed_demo", "demo_logins", "runserver"} <= found.keys(), out
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def make_run_server(tmp_path: Path) -> Iterator[str]:
    """`make run`'s runserver line, as the Makefile writes it, on a free port.

    Its database is an empty SQLite file of the test's own (not the developer's var/db.sqlite3):
    a page that needs a table fails with a 500 — which is what the 500 page is tried on."""
    port = free_port()
    command = make_run_commands(port)["runserver"].replace(
        " python manage.py", " exec python -u manage.py"
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DEBUG", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "BULU_PUBLIC_URL")
    }
    env |= {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
        "SECRET_KEY": "make-run-test-key-not-secret",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "PATH": f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
    }
    log = (tmp_path / "runserver.log").open("wb")
    server = subprocess.Popen(
        ["bash", "-c", command],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.3)
        assert server.poll() is None, (tmp_path / "runserver.log").read_text()
        yield base
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()


def fetch(opener: urllib.request.OpenerDirector, url: str, **kwargs: object) -> tuple[int, str]:
    # The test's own server on http://127.0.0.1 only.
    request = urllib.request.Request(url, **kwargs)  # type: ignore[arg-type]  # noqa: S310
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as failed:
        return failed.code, failed.read().decode()


def test_make_run_really_shows_the_apps_pages(tmp_path: Path) -> None:
    need(shutil.which("make") is not None, "make")
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with make_run_server(tmp_path) as base:
        status, html = fetch(opener, f"{base}/no-such-page/")
        assert status == 404, html
        app_page(html, "页面不存在")
        status, css = fetch(opener, f"{base}/static/css/bulu.css")  # served without collectstatic
        assert status == 200 and ".card" in css
        status, html = fetch(opener, f"{base}/", headers={"Host": "evil.example"})
        assert status == 400, html
        app_page(html, "请求无法处理")
        # Signing in needs the tables this empty database lacks: the server fails, politely.
        status, login = fetch(opener, f"{base}/login/")
        assert status == 200, login
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login)
        assert token, login
        body = f"csrfmiddlewaretoken={token[1]}&username=2023010101&password=demo1234".encode()
        status, html = fetch(opener, f"{base}/login/", data=body, method="POST")
    assert status == 500, html
    app_page(html, "服务器出错了")
    log = (tmp_path / "runserver.log").read_text()
    assert "no such table" in log  # the real failure went to the console, not to the browser
