"""`make bench`: the approval queues with 100,000 requests, written to docs/benchmarks.md.

Builds the demo school, adds 100k requests spread over its classes and states (bulk inserts: the
bench measures reading, not the services), then times the pages approvers live in through Django's
test client: 我的待办 for a counselor and a secretary, a search, the center's overview (first page
and a deep page) and the home page. Each page is fetched 15 times; medians are reported with the
number of SQL queries per page, which must not grow with the data.

The database is a throwaway SQLite file unless BENCH_DATABASE_URL names another one.
"""

from __future__ import annotations

import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

N_REQUESTS = int(os.environ.get("BENCH_QUEUE_REQUESTS", "100000"))
REPEAT = 15
SECTION = "## Approval queues"


def setup_django() -> str:
    tmp = tempfile.mkdtemp(prefix="bulu-queue-bench-")
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tmp}/bench.sqlite3"
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret-0f1e2d3c4b5a69788796a5b4c3d2e1f0")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    os.environ["MEDIA_ROOT"] = f"{tmp}/media"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    # No collectstatic for a bench: plain static URLs (read before the first page renders).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }

    call_command("migrate", verbosity=0)
    # BENCH_DATABASE_URL names a scratch database: start every run from an empty one.
    call_command("flush", interactive=False, verbosity=0)
    return url.split(":", 1)[0]


def populate() -> None:
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.demo import demo_seed_school
    from accounts.models import Membership, Organization
    from bulu.workflow.models import BackfillRequest, Kind, RouteStep, State, StepRole

    demo_seed_school()
    center = Organization.objects.get(kind=Organization.Kind.CENTER)
    students = list(
        Membership.objects.filter(role=Membership.Role.STUDENT)
        .select_related("organization")
        .values_list("user_id", "organization_id", "organization__parent_id")
    )
    branches = dict(
        Organization.objects.filter(kind=Organization.Kind.BRANCH).values_list("parent_id", "pk")
    )
    rng = random.Random(7)
    states = (
        [State.PENDING] * 30
        + [State.APPROVED] * 45
        + [State.RETURNED] * 10
        + [State.REJECTED] * 5
        + [State.DRAFT] * 5
        + [State.WITHDRAWN] * 5
    )
    now = timezone.now()
    with transaction.atomic():
        requests = []
        for n in range(N_REQUESTS):
            user_id, class_id, college_id = students[n % len(students)]
            state = rng.choice(states)
            requests.append(
                BackfillRequest(
                    kind=Kind.PERSONAL,
                    title=f"个人成长积分补录 第{n}号",
                    applicant_id=user_id,
                    applicant_org_id=class_id,
                    college_id=college_id,
                    state=state,
                    step_index=rng.randint(0, 2) if state == State.PENDING else 0,
                    submitted_at=None
                    if state == State.DRAFT
                    else now - timedelta(days=rng.randint(0, 60)),
                )
            )
        BackfillRequest.objects.bulk_create(requests, batch_size=2000)
        steps = []
        for r in requests:
            if r.state == State.DRAFT:
                continue
            for index, (role, org) in enumerate(
                (
                    (StepRole.COUNSELOR, r.applicant_org_id),
                    (StepRole.SECRETARY, branches[r.college_id]),
                    (StepRole.CENTER, center.pk),
                )
            ):
                steps.append(
                    RouteStep(
                        request_id=r.pk, index=index, role=role, organization_id=org, label=role
                    )
                )
        RouteStep.objects.bulk_create(steps, batch_size=5000)
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE workflow_backfillrequest SET current_step_id = ("
                " SELECT s.id FROM workflow_routestep s"
                " WHERE s.request_id = workflow_backfillrequest.id"
                ' AND s."index" = workflow_backfillrequest.step_index)'
                " WHERE state = %s",
                [State.PENDING],
            )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE")
        else:
            cursor.execute("ANALYZE")


def measure() -> list[tuple[str, float, float, int, int]]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from bulu.workflow.selectors import todo_for_user

    pages = [
        ("T0001", "counselor 我的待办", "/flow/todo/"),
        ("T0101", "secretary 我的待办", "/flow/todo/"),
        ("T0101", "secretary 我的待办, search 姓名", "/flow/todo/?q=江"),
        ("T0301", "center 我的待办", "/flow/todo/"),
        ("T0301", "center overview, page 1", "/flow/overview/"),
        ("T0301", "center overview, page 2000", "/flow/overview/?page=2000"),
        ("T0301", "center overview, state=pending", "/flow/overview/?state=pending"),
        ("T0001", "counselor home", "/"),
    ]
    results = []
    for username, label, url in pages:
        user = User.objects.get(username=username)
        client = Client()
        client.force_login(user)
        client.get(url)  # warm caches
        times = []
        for _ in range(REPEAT):
            started = time.perf_counter()
            response = client.get(url, secure=True)
            times.append(time.perf_counter() - started)
            assert response.status_code == 200, (url, response.status_code)
        with CaptureQueriesContext(connection) as queries:
            client.get(url, secure=True)
        waiting = todo_for_user(user=user).count()
        results.append(
            (label, statistics.median(times) * 1000, max(times) * 1000, len(queries), waiting)
        )
    return results


def main() -> None:
    from bench.run import write_section

    vendor = setup_django()
    started = time.perf_counter()
    populate()
    built = time.perf_counter() - started
    from bulu.workflow.models import BackfillRequest

    total = BackfillRequest.objects.count()
    rows = measure()
    cpu = platform.processor() or platform.machine()
    lines = [
        f"{SECTION} ({vendor})",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} by `make bench` (bench/approval_queues.py) "
        f"on {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
        f"database {vendor}; {total:,} requests (built in {built:.0f} s), 600 students. "
        "Server-side time through Django's test client (no network, no browser), "
        f"median and worst of {REPEAT} requests per page.",
        "",
        "| page | median (ms) | worst (ms) | SQL queries | requests waiting for this user |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, median, worst, queries, waiting in rows:
        lines.append(f"| {label} | {median:.1f} | {worst:.1f} | {queries} | {waiting:,} |")
    lines += [
        "",
        "The query count per page is the same as with ten requests (asserted in "
        "`tests/workflow/test_views.py`); pages are 30 rows.",
    ]
    section = "\n".join(lines) + "\n"
    print(section)
    write_section(ROOT / "docs" / "benchmarks.md", section)


if __name__ == "__main__":
    main()
