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
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

N_REQUESTS = int(os.environ.get("BENCH_QUEUE_REQUESTS", "100000"))
REPEAT = int(os.environ.get("BENCH_QUEUE_REPEAT", "15"))
SECTION = "## Approval queues"


def setup_django() -> str:
    tmp = tempfile.mkdtemp(prefix="bulu-queue-bench-")
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tmp}/bench.sqlite3"
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret-0f1e2d3c4b5a69788796a5b4c3d2e1f0")
    # Assigned, not defaulted: importing `bulu` (its Celery app) defaults it to bulu.settings.
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
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
    from bench.data import populate as build

    build(requests=N_REQUESTS)


def measure() -> list[tuple[str, float, float, int, int]]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from bulu.workflow.models import BackfillRequest
    from bulu.workflow.selectors import todo_for_user

    submitted = BackfillRequest.objects.filter(submitted_at__isnull=False).order_by("-pk")
    depth = min(60_000, max(submitted.count() - 30, 0))
    deep = submitted.values_list("pk", flat=True)[depth] if depth else 0
    pages = [
        ("T0001", "counselor 我的待办", "/flow/todo/"),
        ("T0101", "secretary 我的待办", "/flow/todo/"),
        ("T0101", "secretary 我的待办, search 姓名", "/flow/todo/?q=江"),
        ("T0301", "center 我的待办", "/flow/todo/"),
        ("T0301", "center overview, page 1", "/flow/overview/"),
        ("T0301", "center overview, 60,000 rows deep (keyset)", f"/flow/overview/?before={deep}"),
        ("T0301", "center overview, state=pending", "/flow/overview/?state=pending"),
        ("T0001", "counselor home", "/"),
    ]
    results = []
    for username, label, url in pages:
        user = User.objects.get(username=username)
        client = Client()
        client.force_login(user)
        # Warm caches; this request must reach the view too (not a redirect or a 400).
        warm = client.get(url, secure=True)
        assert warm.status_code == 200, (url, warm.status_code)
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
    import argparse

    from bench.run import OtherLoad, write_section

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    args = parser.parse_args()

    other_load = OtherLoad()
    vendor = setup_django()
    started = time.perf_counter()
    populate()
    built = time.perf_counter() - started
    from accounts.models import Membership
    from bulu.workflow.models import BackfillRequest

    total = BackfillRequest.objects.count()
    students = Membership.objects.filter(role=Membership.Role.STUDENT).count()
    rows = measure()
    cpu = platform.processor() or platform.machine()
    lines = [
        f"{SECTION} ({vendor})",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} by `make bench` (bench/approval_queues.py) "
        f"on {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
        f"database {vendor}; {total:,} requests (built in {built:.0f} s), {students:,} students. "
        "Server-side time through Django's test client (no network, no browser), "
        f"median and worst of {REPEAT} requests per page.{other_load.sentence()}",
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
    write_section(Path(args.out), section)


if __name__ == "__main__":
    main()
