"""Personas, service guards and shared fixtures.

Personas (one small school of two colleges): alice is a student of class A1; bob counsels A1;
carol is the secretary of college A's branch; dave is center staff; erin reviews for the league
committee; frank advises the club; gina is the club's student applicant; oscar counsels class B1
of college B and is the outsider for every "wrong person" test; olivia is a student of B1.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test.utils import override_settings
from pytest_django.live_server_helper import LiveServer

from accounts.models import Membership, Organization, User
from accounts.services import college_ensure, role_grant
from bulu.celery import app as celery_app
from tests.factories import UserFactory

Role = Membership.Role
Kind = Organization.Kind
ROOT = Path(__file__).resolve().parent.parent

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def services_required() -> bool:
    return bool(django_settings.REQUIRE_SERVICES)


def need(condition: bool, what: str) -> None:
    """Skip when a service is missing, but fail instead when REQUIRE_SERVICES=1 (CI)."""
    if condition:
        return
    if services_required():
        pytest.fail(f"REQUIRE_SERVICES=1 but {what} is not available")
    pytest.skip(f"{what} is not available")


@pytest.fixture
def require_postgres() -> None:
    need(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")


@pytest.fixture
def require_redis() -> None:
    need(bool(django_settings.REDIS_URL), "Redis (set REDIS_URL)")


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """The default cache (filter choices) starts empty: ids of one test's rows may recur."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _fast_and_eager(settings: object, tmp_path_factory: pytest.TempPathFactory) -> object:
    # Hashing is deliberately slow in production; tests use a fast hasher.
    settings.PASSWORD_HASHERS = [  # type: ignore[attr-defined]
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "accounts.passwords.InitialPasswordHasher",
    ]
    settings.AXES_ENABLED = False  # type: ignore[attr-defined]
    # Tests fail hand-overs on purpose one after the other: no pause after a failed one.
    settings.BULU_JOB_BROKER_PAUSE_SECONDS = 0  # type: ignore[attr-defined]
    # Uploads (evidence, rosters) go to a throwaway folder, never the developer's var/media.
    settings.MEDIA_ROOT = str(tmp_path_factory.mktemp("media"))  # type: ignore[attr-defined]
    # The suite runs with DEBUG off like production, but over plain HTTP.
    settings.SECURE_SSL_REDIRECT = False  # type: ignore[attr-defined]
    # No collectstatic before tests: serve assets without the hashed manifest.
    settings.STORAGES = {  # type: ignore[attr-defined]
        **settings.STORAGES,  # type: ignore[attr-defined]
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = eager


@dataclass
class School:
    college_a: Organization
    college_b: Organization
    branch_a: Organization
    branch_b: Organization
    class_a1: Organization
    class_a2: Organization
    class_b1: Organization
    club: Organization
    center: Organization
    committee: Organization
    alice: User
    bob: User
    carol: User
    dave: User
    erin: User
    frank: User
    gina: User
    oscar: User
    olivia: User


@pytest.fixture
def school(db: None) -> School:
    college_a = college_ensure(name="智能制造学院")
    college_b = college_ensure(name="汽车工程学院")
    branch_a = Organization.objects.get(kind=Kind.BRANCH, parent=college_a)
    branch_b = Organization.objects.get(kind=Kind.BRANCH, parent=college_b)
    class_a1 = Organization.objects.create(kind=Kind.CLASS, name="机械2401", parent=college_a)
    class_a2 = Organization.objects.create(kind=Kind.CLASS, name="机械2402", parent=college_a)
    class_b1 = Organization.objects.create(kind=Kind.CLASS, name="汽修2401", parent=college_b)
    club = Organization.objects.create(kind=Kind.CLUB, name="机器人协会", parent=college_a)
    center = Organization.objects.create(kind=Kind.CENTER, name="第二课堂指导与服务中心")
    committee = Organization.objects.create(kind=Kind.COMMITTEE, name="校团委")

    def person(username: str, name: str, role: str, org: Organization) -> User:
        user = UserFactory.create(username=username, name=name)
        role_grant(user=user, organization=org, role=role)
        return user

    return School(
        college_a=college_a,
        college_b=college_b,
        branch_a=branch_a,
        branch_b=branch_b,
        class_a1=class_a1,
        class_a2=class_a2,
        class_b1=class_b1,
        club=club,
        center=center,
        committee=committee,
        alice=person("2024010001", "李爱丽", Role.STUDENT, class_a1),
        bob=person("T1001", "王博", Role.COUNSELOR, class_a1),
        carol=person("T1002", "陈卡", Role.SECRETARY, branch_a),
        dave=person("T2001", "杜伟", Role.CENTER_STAFF, center),
        erin=person("T3001", "任怡", Role.COMMITTEE_REVIEWER, committee),
        frank=person("T1003", "范克", Role.ADVISOR, club),
        gina=person("2024010002", "高娜", Role.APPLICANT, club),
        oscar=person("T9001", "欧思", Role.COUNSELOR, class_b1),
        olivia=person("2024090001", "欧丽", Role.STUDENT, class_b1),
    )


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, object]:
    """Playwright drives Debian's Chromium; it never downloads a browser."""
    return {
        "executable_path": shutil.which("chromium") or "/usr/bin/chromium",
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


# Read when the live server's middleware loads, so they must be set before it starts; the live
# server speaks plain HTTP. Static files are served from the finders (no collectstatic needed).
HTTP_LIVE_SERVER_SETTINGS = {
    "SECURE_SSL_REDIRECT": False,
    "SECURE_HSTS_SECONDS": 0,
    "SESSION_COOKIE_SECURE": False,
    "CSRF_COOKIE_SECURE": False,
    "AXES_ENABLED": False,
    "STORAGES": {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    },
}


@pytest.fixture(scope="module")
def live_server(django_db_setup: None) -> Iterator[LiveServer]:
    """pytest-django's live server, started under HTTP-friendly settings.

    pytest-django's own `live_server` is session-scoped and loads the middleware (and with it
    SECURE_SSL_REDIRECT, on when DEBUG is off) before a test-level `settings` override could
    apply, so every page would redirect to https.
    """
    with override_settings(**HTTP_LIVE_SERVER_SETTINGS):
        server = LiveServer(os.getenv("DJANGO_LIVE_TEST_SERVER_ADDRESS") or "localhost")
        try:
            yield server
        finally:
            server.stop()


@contextmanager
def celery_worker_process(queue: str, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    """A real `celery worker` in a subprocess, consuming `queue` only; the tests route to it.

    Yields the process; on exit it is terminated and its output is attached to it as `.log`.
    """
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "bulu",
            "worker",
            "--pool=solo",
            "-Q",
            queue,
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            "--loglevel=WARNING",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "REDIS_URL": django_settings.REDIS_URL,
            "DJANGO_SETTINGS_MODULE": "bulu.settings",
            **env,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    # Celery caches the routing table at the first publish: read the test's routes afresh.
    celery_app.amqp._rtable = None  # type: ignore[attr-defined]
    celery_app.amqp.__dict__.pop("router", None)
    try:
        yield worker
    finally:
        celery_app.conf.task_always_eager = eager
        worker.terminate()
        out, _unused = worker.communicate(timeout=30)
        worker.log = out.decode(errors="replace")  # type: ignore[attr-defined]


def school_year(label: str) -> Any:
    """A 学年 of the default calendar (the data migration's rows; a transactional test's flush
    empties the table, so later tests make sure of the row they need)."""
    from datetime import date

    from bulu.workflow.models import SchoolYear

    first = int(label[:4])
    year, _created = SchoolYear.objects.get_or_create(
        label=label,
        defaults={
            "starts_on": date(first, 9, 1),
            "teaching_ends_on": date(first + 1, 6, 30),
            "ends_on": date(first + 1, 7, 15),
        },
    )
    return year


def deputy(organization: Organization, role: str, username: str, name: str = "副手") -> User:
    """A second holder of `role` on `organization`: the one who signs when the first filed."""
    user = UserFactory.create(username=username, name=name)
    role_grant(user=user, organization=organization, role=role)
    return user


def decide(
    request: Any,
    actor: User,
    decision: str = "approve",
    opinion: str = "同意",
    payload: object = None,
    confirmations: frozenset[str] = frozenset(),
) -> Any:
    """A decision as an approver makes it: with the version they saw (the current one)."""
    from bulu.workflow.services import request_decide

    request.refresh_from_db()
    return request_decide(
        request=request,
        actor=actor,
        decision=decision,
        opinion=opinion,
        expected_version=request.version,
        payload=payload,
        confirmations=confirmations,
    )


class CspWatch:
    """Collects the browser's Content-Security-Policy complaints on pages it watches."""

    def __init__(self) -> None:
        self.violations: list[str] = []

    def watch(self, page: Any) -> Any:
        def on_console(message: Any) -> None:
            if "Content Security Policy" in message.text:
                self.violations.append(message.text)

        page.on("console", on_console)
        return page


@pytest.fixture
def csp() -> Iterator[CspWatch]:
    """Browser tests watch their pages; any CSP violation fails the test at the end."""
    watcher = CspWatch()
    yield watcher
    assert watcher.violations == [], watcher.violations


def settings_in_fresh_process(imports: str, expression: str, **env: str) -> Any:
    """The JSON value of `expression` (after django.setup() and `imports`) in a fresh process
    whose environment is this one's without REDIS_URL and DATABASE_URL, plus `env`: what a
    deployment derives from its environment."""
    import json

    code = f"import json, django; django.setup(); {imports}; print(json.dumps({expression}))"
    base = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "bulu.settings", "SECRET_KEY": "x", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])
