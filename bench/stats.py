"""`make bench`: the statistics page with 100,000 requests and 600,000 credit records (PostgreSQL).

Builds the demo school and bench/data.py's 100k personal requests with 600k credit records, moves
2,000 of them to the advisor's club (as collective requests, so the unit-scoped page has rows to
count), spreads the submitted ones over four 补录通知, writes an approval log for every decided
route step (submission, then each decision a deterministic 1–120 hours after the previous one),
and recounts the maintained tallies
(`rebuild_tallies`' and `rebuild_stats`' code). Then it times the statistics page through Django's
test client for the center (whole school, and narrowed to one college), a branch secretary and
an advisor: the median of REPEAT requests, the SQL queries per page and the slowest one.

Needs BENCH_DATABASE_URL naming a scratch PostgreSQL database (it is flushed); without it the
script says so and exits 0.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

N_REQUESTS = int(os.environ.get("BENCH_STATS_REQUESTS", "100000"))
N_CREDITS = int(os.environ.get("BENCH_STATS_CREDITS", "600000"))
REPEAT = int(os.environ.get("BENCH_STATS_REPEAT", "9"))
UNIT_SHARE = 50  # every 50th request goes to the advisor's club
TARGET_MS = 300
SECTION = "## Statistics page"


def setup_django(url: str) -> None:
    tmp = tempfile.mkdtemp(prefix="bulu-stats-bench-")
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret-0f1e2d3c4b5a69788796a5b4c3d2e1f0")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ["MEDIA_ROOT"] = f"{tmp}/media"
    os.environ["REDIS_URL"] = ""
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)


def notices() -> list[int]:
    """Four past 补录通知 the submitted requests are spread over (the per-notice tables)."""
    from datetime import timedelta

    from django.utils import timezone

    from bulu.workflow.models import Kind, Window

    now = timezone.now()
    made = []
    for i, title in enumerate(("2025年春季", "2025年秋季", "2026年春季", "2026年秋季")):
        opens = now - timedelta(days=720 - 180 * i)
        made.append(
            Window.objects.create(
                kind=Kind.PERSONAL,
                title=f"{title}个人积分补录",
                opens_at=opens,
                closes_at=opens + timedelta(days=30),
            ).pk
        )
    return made


def build() -> dict[str, Any]:
    from django.db import connection, transaction

    from accounts.models import Organization
    from bench.data import populate
    from bulu.workflow.models import ApprovalRecord, BackfillRequest, RouteStep
    from bulu.workflow.tallies import tallies_rebuild
    from stats.tallies import stats_rebuild

    started = time.perf_counter()
    built = populate(requests=N_REQUESTS, credits=N_CREDITS)
    club = Organization.objects.get(kind=Organization.Kind.CLUB, name="机器人协会")
    req, step, log = (
        BackfillRequest._meta.db_table,
        RouteStep._meta.db_table,
        ApprovalRecord._meta.db_table,
    )
    # Waiting hours of step j of request r: deterministic, 1–120.
    w = "(1 + ((r.id * 31 + {j} * 17) % 120))"
    elapsed = (
        f'CASE s."index" WHEN 0 THEN {w.format(j=0)}'
        f" WHEN 1 THEN {w.format(j=0)} + {w.format(j=1)}"
        f" ELSE {w.format(j=0)} + {w.format(j=1)} + {w.format(j=2)} END"
    )
    decided = (
        "CASE r.state WHEN 'pending' THEN r.step_index"
        " WHEN 'returned' THEN r.step_index + 1 WHEN 'rejected' THEN r.step_index + 1"
        " WHEN 'withdrawn' THEN 0 ELSE 3 END"
    )
    windows = notices()
    cases = " ".join(f"WHEN {i} THEN {pk}" for i, pk in enumerate(windows))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {req} SET window_id = CASE id % {len(windows)} {cases} END"  # noqa: S608
            " WHERE submitted_at IS NOT NULL"
        )
        cursor.execute(
            f"UPDATE {req} SET applicant_org_id = %s, kind = 'collective'"  # noqa: S608
            f" WHERE id %% {UNIT_SHARE} = 0",
            [club.pk],
        )
        cursor.execute(
            f"INSERT INTO {log} (request_id, step_role, step_label, actor_id, decision,"  # noqa: S608
            " opinion, from_state, to_state, submission, context, created_at)"
            " SELECT r.id, '', '', r.applicant_id, 'submit', '', 'draft', 'pending', 1, '{}',"
            f" r.submitted_at FROM {req} r WHERE r.submitted_at IS NOT NULL"
        )
        cursor.execute(
            f"INSERT INTO {log} (request_id, step_index, step_role, step_label,"  # noqa: S608
            " organization_id, actor_id, decision, opinion, from_state, to_state, submission,"
            " context, created_at)"
            ' SELECT r.id, s."index", s.role, s.label, s.organization_id, r.applicant_id,'
            f" CASE WHEN s.\"index\" = ({decided}) - 1 AND r.state = 'returned' THEN 'return'"
            f" WHEN s.\"index\" = ({decided}) - 1 AND r.state = 'rejected' THEN 'reject'"
            " ELSE 'approve' END, '', 'pending', 'pending', 1, '{}',"
            f" r.submitted_at + ({elapsed}) * interval '1 hour'"
            f" FROM {req} r JOIN {step} s ON s.request_id = r.id"
            f' WHERE r.submitted_at IS NOT NULL AND s."index" < ({decided})'
        )
        # A pending request has waited since its last decision (or its submission).
        arrived = (
            f"CASE r.step_index WHEN 0 THEN 0 WHEN 1 THEN {w.format(j=0)}"
            f" ELSE {w.format(j=0)} + {w.format(j=1)} END"
        )
        cursor.execute(
            f"UPDATE {req} r SET updated_at = r.submitted_at"  # noqa: S608
            f" + ({arrived}) * interval '1 hour' WHERE r.state = 'pending'"
        )
    tallies_rebuild()
    recount = time.perf_counter()
    credit_rows, wait_rows = stats_rebuild()
    rebuild_s = time.perf_counter() - recount
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {
        "requests": built.requests,
        "credits": built.credits,
        "log": ApprovalRecord.objects.count(),
        "unit_requests": BackfillRequest.objects.filter(applicant_org=club).count(),
        "credit_rows": credit_rows,
        "wait_rows": wait_rows,
        "rebuild_s": rebuild_s,
        "seconds": time.perf_counter() - started,
    }


def measure() -> list[dict[str, Any]]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import Organization, User

    college = Organization.objects.get(kind=Organization.Kind.COLLEGE, name="智能制造学院")
    pages = [
        ("T0301", "center (二课中心), whole school", "/stats/"),
        ("T0301", "center, narrowed to 智能制造学院", f"/stats/?college={college.pk}"),
        ("T0101", "branch secretary (智能制造学院)", "/stats/"),
        ("T0201", "advisor (机器人协会)", "/stats/"),
        ("T0301", "center, xlsx of 按学院的申请数", "/stats/college.xlsx"),
    ]
    results = []
    for username, label, url in pages:
        client = Client()
        client.force_login(User.objects.get(username=username))
        warm = client.get(url, secure=True)
        assert warm.status_code == 200, (url, warm.status_code)
        times = []
        for _ in range(REPEAT):
            started = time.perf_counter()
            response = client.get(url, secure=True)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        with CaptureQueriesContext(connection) as queries:
            client.get(url, secure=True)
        slowest = max(queries.captured_queries, key=lambda q: float(q["time"]))
        results.append(
            {
                "label": label,
                "median": statistics.median(times),
                "worst": max(times),
                "queries": len(queries),
                "slowest_ms": float(slowest["time"]) * 1000,
                "slowest_sql": slowest["sql"][:90],
            }
        )
    return results


def render(data: dict[str, Any], rows: list[dict[str, Any]], load: str) -> str:
    cpu = platform.processor() or platform.machine()
    lines = [
        SECTION,
        "",
        f"Measured {time.strftime('%Y-%m-%d')} by `make bench` (bench/stats.py) on "
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, PostgreSQL; "
        f"{data['requests']:,} requests ({data['unit_requests']:,} of them the advisor's club's), "
        f"{data['credits']:,} credit records, {data['log']:,} approval records (built in "
        f"{data['seconds']:.0f} s; recounting the stats tallies from the tables took "
        f"{data['rebuild_s']:.1f} s: {data['credit_rows']:,} credit and {data['wait_rows']:,} "
        "wait-time tally rows). Server-side time through Django's test client (no network, no "
        f"browser), median and worst of {REPEAT} requests per page.{load}",
        "",
        "| page | median (ms) | worst (ms) | SQL queries | slowest query (ms) |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['label']} | {r['median']:.1f} | {r['worst']:.1f} | {r['queries']} "
            f"| {r['slowest_ms']:.1f} |"
        )
    worst = max(r["median"] for r in rows)
    lines += [
        "",
        f"Target: under {TARGET_MS} ms server-side — "
        + ("met" if worst < TARGET_MS else "NOT met")
        + f" (slowest median {worst:.0f} ms). Every number comes from the maintained tallies "
        "(`RequestTally`, `stats.CreditTally`, `stats.WaitTally`), the oldest waiting requests "
        "from a partial index (LIMIT 10); the advisor's request counts are read live from their "
        "units' rows through the applicant-organization index. The query count does not grow "
        "with the data (asserted in `tests/stats/test_views.py`).",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    import argparse

    from bench.run import OtherLoad, write_section

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        print("bench/stats.py: set BENCH_DATABASE_URL=postgres://…/scratch for the statistics page")
        return
    other_load = OtherLoad()
    setup_django(url)
    data = build()
    rows = measure()
    section = render(data, rows, other_load.sentence())
    print(section)
    write_section(Path(args.out), section)


if __name__ == "__main__":
    main()
