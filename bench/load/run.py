"""`make bench-load`: the app's pages under load, side by side with a floor page.

1. Builds the data on PostgreSQL (BENCH_DATABASE_URL, a scratch database that is flushed):
   `migrate`, `seed_demo --force` (DEBUG=0, a random SECRET_KEY), then bench/data.py adds 100,000
   personal requests (30 % pending) with route steps and items, and 600,000 credit records.
2. Starts gunicorn (3 sync workers, DEBUG=0, 127.0.0.1 only, settings `bench.load.settings`).
3. Drives it with locust (bench/load/drive.py, loopback only, bounded in time): for each page,
   20 logged-in users with zero think time for 60 s; three runs, medians reported. Then a
   deadline rush: 300 users (students, approvers, center staff) with 3–10 s think time.
4. Writes the tables into docs/benchmarks.md, section "Pages under load": the first run is kept
   as "Before"; later runs are written as "After", next to it.

Everything is configurable for a quick run (the smoke test uses tiny values):
BENCH_LOAD_REQUESTS, BENCH_LOAD_CREDITS, BENCH_LOAD_USERS, BENCH_LOAD_SECONDS, BENCH_LOAD_RUNS,
BENCH_LOAD_RUSH_USERS, BENCH_LOAD_RUSH_SECONDS, BENCH_LOAD_WARMUP, BENCH_LOAD_COLLECTSTATIC=0;
`--out FILE`, `--label before|after`, `--reuse-data` (skip step 1 on an already built database).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import free_port, run_checked  # noqa: E402

SECTION = "## Pages under load"
DATA_MARK = "<!-- bench-load "
WORKERS = 3
PASSWORD = "demo1234"  # noqa: S105 - the published demo password (accounts.demo.DEMO_PASSWORD)


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


def _env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, str(default)))


# --- children that need Django (never in the same process as locust) ---------------------------


def _django() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.load.settings"
    import django

    django.setup()


def child_build(spec: str) -> dict[str, Any]:
    _django()
    from dataclasses import asdict

    from bench.data import populate

    requests, credits = json.loads(spec)
    return asdict(populate(requests=requests, credits=credits, items=True))


def child_targets(_spec: str) -> dict[str, Any]:
    """Who logs in where, and the SQL queries each page costs (through the test client)."""
    _django()
    from django.db import connection
    from django.db.models import Max
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from accounts.models import Membership, Organization, User
    from bulu.workflow.models import BackfillRequest
    from credits.models import CreditRecord

    # Students: each with their newest credited request (items and credit records on its page).
    with_credits = CreditRecord.objects.values("request_id")
    newest = dict(
        BackfillRequest.objects.filter(pk__in=with_credits)
        .values("applicant__username")
        .annotate(pk=Max("pk"))
        .values_list("applicant__username", "pk")
    )
    if not newest:  # a tiny smoke database may have no credit yet
        newest = dict(
            BackfillRequest.objects.values("applicant__username")
            .annotate(pk=Max("pk"))
            .values_list("applicant__username", "pk")
        )
    students = sorted(
        u
        for u in Membership.objects.filter(role=Membership.Role.STUDENT).values_list(
            "user__username", flat=True
        )
        if u in newest
    )
    detail = {u: reverse("workflow:detail", args=[newest[u]]) for u in students}
    college = Organization.objects.filter(kind=Organization.Kind.COLLEGE).order_by("pk").first()
    assert college is not None
    college_rows = BackfillRequest.objects.filter(
        college=college, submitted_at__isnull=False
    ).count()
    all_rows = BackfillRequest.objects.filter(submitted_at__isnull=False).count()
    f = f"college={college.pk}"

    def deep(qs: Any) -> str:
        """The keyset link 60,000 rows in (page 2000 of 30), or as deep as the list goes."""
        ids = qs.filter(submitted_at__isnull=False).order_by("-pk").values_list("pk", flat=True)
        depth = min(60_000, max(qs.filter(submitted_at__isnull=False).count() - 30, 0))
        return f"before={ids[depth] if depth else ids[0] + 1}"

    deep_all = deep(BackfillRequest.objects.all())
    deep_college = deep(BackfillRequest.objects.filter(college=college))
    counselors = sorted(
        User.objects.filter(memberships__role=Membership.Role.COUNSELOR).values_list(
            "username", flat=True
        )
    )
    secretaries = sorted(
        User.objects.filter(memberships__role=Membership.Role.SECRETARY).values_list(
            "username", flat=True
        )
    )
    center = sorted(
        User.objects.filter(memberships__role=Membership.Role.CENTER_STAFF).values_list(
            "username", flat=True
        )
    )

    def same(username: str, path: str) -> list[list[str]]:
        return [[username, path]]

    pages = [
        ("counselor 我的待办", "/flow/todo/", same("T0001", "/flow/todo/")),
        ("secretary 我的待办", "/flow/todo/", same("T0101", "/flow/todo/")),
        ("center 申请总览, page 1", "/flow/overview/", same("T0301", "/flow/overview/")),
        (
            f"center 申请总览, page 1, filter 学院 ({college_rows:,} rows)",
            f"/flow/overview/?{f}",
            same("T0301", f"/flow/overview/?{f}"),
        ),
        (
            f"center 申请总览, 60,000 rows deep ({min(60_000, all_rows):,}; keyset ?before=)",
            f"/flow/overview/?{deep_all}",
            same("T0301", f"/flow/overview/?{deep_all}"),
        ),
        (
            f"center 申请总览, deepest page of filter 学院 ({college_rows:,} rows; ?before=)",
            f"/flow/overview/?{f}&{deep_college}",
            same("T0301", f"/flow/overview/?{f}&{deep_college}"),
        ),
        ("student home", "/", [[u, "/"] for u in students]),
        (
            "request detail (its applicant; via workflow:detail)",
            "reverse('workflow:detail', args=[pk])",
            [[u, detail[u]] for u in students],
        ),
        ("center 统计 (statistics, whole school)", "/stats/", same("T0301", "/stats/")),
        ("floor: 50 rows through a template", "/bench/floor/", same("T0301", "/bench/floor/")),
    ]
    queries: dict[str, int] = {}
    for label, _shown, accounts in pages:
        username, path = accounts[0]
        client = Client()
        client.force_login(User.objects.get(username=username))
        warm = client.get(path, follow=True)
        assert warm.status_code == 200, (label, path, warm.status_code)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path, follow=True)
        assert response.status_code == 200, (label, path, response.status_code)
        queries[label] = len(captured)
    return {
        "pages": [
            {"label": label, "shown": shown, "accounts": accounts, "queries": queries[label]}
            for label, shown, accounts in pages
        ],
        "roles": [
            [
                "Student",
                80,
                [
                    {
                        "username": u,
                        "paths": [["rush: student home", "/"], ["rush: request detail", detail[u]]],
                    }
                    for u in students
                ],
            ],
            [
                "Approver",
                15,
                [
                    {
                        "username": u,
                        "paths": [
                            ["rush: approver 我的待办", "/flow/todo/"],
                            ["rush: approver home", "/"],
                        ],
                    }
                    for u in counselors + secretaries
                ],
            ],
            [
                "Center",
                5,
                [
                    {
                        "username": u,
                        "paths": [
                            ["rush: center 申请总览", "/flow/overview/"],
                            ["rush: center 申请总览, deep page", f"/flow/overview/?{deep_all}"],
                            ["rush: center 申请总览, filter 学院", f"/flow/overview/?{f}"],
                            ["rush: center 我的待办", "/flow/todo/"],
                            ["rush: center 统计", "/stats/"],
                        ],
                    }
                    for u in center
                ],
            ],
        ],
        "data": {
            "requests": BackfillRequest.objects.count(),
            "pending": BackfillRequest.objects.filter(state="pending").count(),
            "credits": CreditRecord.objects.count(),
            "students": len(
                set(
                    Membership.objects.filter(role=Membership.Role.STUDENT).values_list(
                        "user_id", flat=True
                    )
                )
            ),
        },
        "postgres": _pg_version(connection),
    }


def _pg_version(connection: Any) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return str(cursor.fetchone()[0]).split()[0]


CHILDREN = {"build": child_build, "targets": child_targets}


# --- the parent ------------------------------------------------------------------------------


def run(cmd: list[str], env: dict[str, str], timeout: float = 3600) -> str:
    return run_checked(cmd, env, cwd=ROOT, timeout=timeout)


def child(kind: str, spec: str, env: dict[str, str]) -> dict[str, Any]:
    out = run([sys.executable, str(Path(__file__).resolve()), "child", kind, spec], env)
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def start_gunicorn(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "bulu.wsgi:application",
            "--workers",
            str(WORKERS),
            "--worker-class",
            "sync",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--error-logfile",
            str(log),
        ],
        env=env,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited ({proc.returncode}); see {log}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=5) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise SystemExit("gunicorn did not answer within 60 s")


def workers(master: int) -> list[int]:
    """The gunicorn master's worker processes (their CPU time is the app's cost)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        path = Path(f"/proc/{master}/task/{master}/children")
        found = [int(p) for p in path.read_text().split()] if path.exists() else []
        if len(found) >= WORKERS:
            return found
        time.sleep(0.2)
    raise SystemExit(f"gunicorn started {len(found)} of {WORKERS} workers")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()  # graceful: gunicorn's master stops its own workers
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def drive(config: dict[str, Any], env: dict[str, str], work: Path) -> Any:
    path = work / f"drive-{config['mode']}-{time.monotonic_ns()}.json"
    path.write_text(json.dumps(config, ensure_ascii=False))
    timeout = 600 + config["seconds"] * (len(config.get("pages", [])) + 1) * 2
    out = run([sys.executable, str(ROOT / "bench" / "load" / "drive.py"), str(path)], env, timeout)
    return json.loads(out.strip().splitlines()[-1])


def machine() -> str:
    cpu = "unknown"
    mem = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f", {int(line.split()[1]) / 1024 / 1024:.0f} GiB RAM"
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}){mem}, {platform.system()} {platform.release()}"


def commit() -> str:
    try:
        return run(["git", "rev-parse", "--short", "HEAD"], dict(os.environ)).strip()
    except SystemExit:
        return "unknown"


# --- report ----------------------------------------------------------------------------------


def summarize(
    runs: list[list[dict[str, Any]]], pages: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    rows = []
    for i, page in enumerate(pages):
        per_run = [r[i] for r in runs]
        rows.append(
            {
                "label": page["label"],
                "shown": page["shown"],
                "queries": page["queries"],
                "rps": statistics.median(r["rps"] for r in per_run),
                "p50": statistics.median(r.get("p50") or 0 for r in per_run),
                "p95": statistics.median(r.get("p95") or 0 for r in per_run),
                "failures": sum(r["failures"] for r in per_run),
                "requests": sum(r["requests"] for r in per_run),
                "all_rps": [round(r["rps"], 1) for r in per_run],
                "generator_cpu": max(r["generator_cpu"] for r in per_run),
                "server_cpu_ms": statistics.median(r["server_cpu_ms"] or 0 for r in per_run),
                "others_cores": max(r["others_cores"] for r in per_run),
            }
        )
    return rows


def render_run(result: dict[str, Any], title: str) -> str:
    c = result["config"]
    rows = result["steady"]
    floor = rows[-1]["rps"]
    lines = [
        f"### {title}",
        "",
        f"Measured {result['date']} at commit `{result['commit']}` on {result['machine']};"
        f" Python {result['python']}, PostgreSQL {result['postgres']}; gunicorn {WORKERS} sync"
        f" workers on 127.0.0.1, DEBUG=0; locust on the same machine. Data:"
        f" {result['data']['requests']:,} requests ({result['data']['pending']:,} pending),"
        f" {result['data']['credits']:,} credit records, {result['data']['students']:,} students"
        + (
            f" (built in {result['built_seconds']:.0f} s)."
            if result["built_seconds"] is not None
            else " (built by an earlier run of the same code: `--reuse-data`)."
        ),
        "",
        f"**{c['users']} users, zero think time, {c['seconds']:g} s per page, median of"
        f" {c['runs']} runs** (pages one after the other within each run):",
        "",
        "| page | req/s | p50 (ms) | p95 (ms) | floor ÷ page (req/s) | server CPU per request"
        " (ms) | page ÷ floor (CPU) | SQL queries | failures | req/s per run | other load"
        " (cores) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    floor_cpu = rows[-1]["server_cpu_ms"]
    for r in rows:
        ratio = floor / r["rps"] if r["rps"] else float("inf")
        cpu_ratio = r["server_cpu_ms"] / floor_cpu if floor_cpu else float("inf")
        lines.append(
            f"| {r['label']} | {r['rps']:.1f} | {r['p50']:.0f} | {r['p95']:.0f} |"
            f" {ratio:.1f}× | {r['server_cpu_ms']:.1f} | {cpu_ratio:.1f}× | {r['queries']} |"
            f" {r['failures']} | {r['all_rps']} | {r['others_cores']:.2f} |"
        )
    rush = result["rush"]
    rc = result["rush_config"]
    lines += [
        "",
        f"**Deadline rush: {rc['users']} users, {rc['think'][0]}–{rc['think'][1]} s think time,"
        f" {rc['seconds']:g} s** (students {rc['mix']['Student']}, approvers"
        f" {rc['mix']['Approver']}, center staff {rc['mix']['Center']}; they log in at"
        f" {rc.get('spawn_rate', 10)} a second, and the window starts once all are in or"
        f" {rc.get('login_timeout', 60)} s have passed: {rush.get('logged_in', rc['users'])}"
        f" of {rc['users']} were logged in):",
        "",
        "| page | requests | req/s | p50 (ms) | p95 (ms) | p99 (ms) | max (ms) | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, p in sorted(rush["pages"].items()):
        lines.append(
            f"| {name.removeprefix('rush: ')} | {p['requests']:,} | {p['rps']:.1f} |"
            f" {p['p50'] or 0:.0f} | {p['p95'] or 0:.0f} | {p['p99'] or 0:.0f} |"
            f" {p['max'] or 0:.0f} | {p['failures']} |"
        )
    total_errors = sum(p["failures"] for p in rush["pages"].values())
    gen = max(r["generator_cpu"] for r in rows)
    lines += [
        "",
        f"Rush errors: {total_errors}"
        + (" (" + "; ".join(errors_by_page(rush["errors"])) + ")" if rush["errors"] else "")
        + f". Server errors logged by gunicorn during the whole run: {result['server_errors']}."
        f" Server CPU per request in the rush: {rush['server_cpu_ms'] or 0:.1f} ms; other"
        f" load {rush['others_cores']:.2f} cores.",
        "",
        "*Server CPU per request* = CPU time of the gunicorn workers and their PostgreSQL"
        " backends during the window ÷ requests served: unlike req/s it hardly depends on what"
        " else runs on the machine. *Other load* = the worst window's average CPU (in cores) used"
        " by processes that are neither the server nor the load generator (e.g. other test runs"
        f" on a shared machine); the generator itself used at most {gen:.0%} of one core in the"
        f" steady runs ({rush['generator_cpu']:.0%} in the rush). All share the"
        f" {os.cpu_count()} cores.",
        "",
        "Targets (issue “Pages that stay fast”):",
        "",
        *(f"- {line}" for line in verdict(result)),
        "",
    ]
    return "\n".join(lines)


P95_TARGET_MS = 300


def verdict(result: dict[str, Any]) -> list[str]:
    """Each target met or not, with the arithmetic that bounds the zero-think-time runs."""
    rows = result["steady"]
    floor = rows[-1]
    users = result["config"]["users"]
    pages = rows[:-1]
    slow = [r["label"] for r in pages if r["rps"] * 3 < floor["rps"]]
    out = [
        ("met" if not slow else "NOT met")
        + f": every page's throughput at {users} users is at least a third of the floor's"
        + (f" (below: {', '.join(slow)})" if slow else "")
        + f"; the worst is {max(floor['rps'] / r['rps'] for r in pages if r['rps']):.1f}× below.",
    ]
    over = [r for r in pages if r["p95"] >= P95_TARGET_MS]
    # Little's law: with zero think time the users keep `users` requests in flight, so the mean
    # latency is users ÷ throughput whatever the code does.
    need_rps = users / (P95_TARGET_MS / 1000)
    out.append(
        ("met" if not over else "NOT met")
        + f": p95 under {P95_TARGET_MS} ms at {users} users with zero think time"
        + (
            " (over: "
            + ", ".join(f"{r['label']} {r['p95']:.0f} ms" for r in over)
            + f"; the floor {floor['p95']:.0f} ms). With zero think time {users} users keep"
            f" {users} requests in flight, so the mean latency is {users} ÷ throughput"
            f" (Little's law): a mean under {P95_TARGET_MS} ms needs more than {need_rps:.0f}"
            f" req/s, i.e. at most about {2000 / need_rps:.0f} ms of CPU per request on the"
            f" {os.cpu_count()} cores that also run PostgreSQL and the load generator; the pages"
            " over it cost "
            + ", ".join(f"{r['server_cpu_ms']:.0f}" for r in over)
            + f" ms of server CPU each (the floor {floor['server_cpu_ms']:.0f} ms)."
            if over
            else ""
        )
    )
    rush = result["rush"]
    worst = max((p["p95"] or 0) for p in rush["pages"].values())
    errors = sum(p["failures"] for p in rush["pages"].values())
    served = sum(p["rps"] for p in rush["pages"].values())
    cpu = rush["server_cpu_ms"] or 0
    out.append(
        ("met" if worst < P95_TARGET_MS and errors == 0 else "NOT met")
        + f": deadline rush p95 under {P95_TARGET_MS} ms on every page with 0 errors (worst"
        f" p95 {worst:.0f} ms, {errors} errors). It was served at {served:.0f} req/s, each"
        f" costing {cpu:.1f} ms of server CPU = {served * cpu / 1000:.2f} cores busy serving"
        " (300 users thinking 3–10 s ask for about 46 req/s), while other processes used"
        f" {rush['others_cores']:.2f} of the {os.cpu_count()} cores."
    )
    return out


def errors_by_page(errors: list[dict[str, Any]]) -> list[str]:
    """locust's errors grouped by page and cause (its messages name each URL)."""
    grouped: dict[tuple[str, str], int] = {}
    for e in errors:
        cause = e["error"].split("original=", 1)[-1]
        if cause.startswith("timed out"):
            cause = "no answer within locust's 60 s network timeout"
        key = (e["name"].removeprefix("rush: "), cause)
        grouped[key] = grouped.get(key, 0) + e["count"]
    return [f"{name}: {cause} ×{n}" for (name, cause), n in sorted(grouped.items())]


def render(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    lines = [
        SECTION,
        "",
        "`make bench-load` (bench/load/run.py; not part of `make bench`: it takes ~40 minutes)."
        " Needs BENCH_DATABASE_URL naming a scratch PostgreSQL database, which it flushes and"
        " fills: `seed_demo --force` with DEBUG=0, then 100,000 personal requests (30 % pending,"
        " the rest approved, exported, imported, returned, rejected, draft or withdrawn) with"
        " their route steps and 1–3 items each, and 600,000 credit records spread over the"
        " approved, exported and imported requests (bench/data.py, bulk inserts). gunicorn"
        " serves `bulu.wsgi` with the settings `bench.load.settings`: the app's, with DEBUG=0,"
        " plain HTTP on loopback (no HTTPS redirect or secure-only cookies), django-axes off and"
        " MD5 password hashes so that logins cost nothing; its URLconf adds the floor page"
        " (`/bench/floor/`: 50 rows of workflow_backfillrequest through a template, no"
        " permission check), never in the app's URLs. Each simulated user logs in once through"
        " the login form; statistics are reset after every user has logged in and a short"
        " warm-up. Only the HTML page is fetched (no static files). locust rounds response times"
        " above 100 ms to 10 ms. SQL queries: one request of the page through Django's test"
        " client against the same database (redirects followed). The request detail URL is"
        " `reverse('workflow:detail', args=[pk])`, followed to the kind's page: the time"
        " includes the redirect. `floor ÷ page` = the floor's req/s divided by the page's.",
        "",
        "The first run is kept as **Before**; every later run replaces **After**"
        " (`--label before` starts over).",
        "",
    ]
    if before:
        lines.append(render_run(before, "Before"))
    if after:
        lines.append(render_run(after, "After"))
    data = {"before": before, "after": after}
    lines.append(DATA_MARK + json.dumps(data, ensure_ascii=False, separators=(",", ":")) + " -->")
    return "\n".join(lines) + "\n"


def previous(out: Path) -> dict[str, Any]:
    if not out.exists():
        return {}
    text = out.read_text()
    start = text.find(DATA_MARK)
    if start < 0:
        return {}
    end = text.find(" -->", start)
    found: dict[str, Any] = json.loads(text[start + len(DATA_MARK) : end])
    return found


# --- main ------------------------------------------------------------------------------------


def main() -> None:
    from bench.run import write_section

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    parser.add_argument("--label", choices=("before", "after"), default=None)
    parser.add_argument("--reuse-data", action="store_true")
    parser.add_argument(
        "--render-only", action="store_true", help="rewrite the section from its stored figures"
    )
    args = parser.parse_args()
    if args.render_only:
        kept = previous(Path(args.out))
        write_section(Path(args.out), render(kept.get("before"), kept.get("after")))
        return

    db = os.environ.get("BENCH_DATABASE_URL", "")
    if not db.startswith(("postgres://", "postgresql://")):
        raise SystemExit("Set BENCH_DATABASE_URL to a scratch PostgreSQL database (it is flushed).")
    if db == os.environ.get("DATABASE_URL"):
        raise SystemExit("BENCH_DATABASE_URL must not be the project's DATABASE_URL.")
    users = _env_int("BENCH_LOAD_USERS", 20)
    seconds = _env_float("BENCH_LOAD_SECONDS", 60)
    runs = _env_int("BENCH_LOAD_RUNS", 3)
    warmup = _env_float("BENCH_LOAD_WARMUP", 5)
    rush_users = _env_int("BENCH_LOAD_RUSH_USERS", 300)
    rush_seconds = _env_float("BENCH_LOAD_RUSH_SECONDS", 180)
    n_requests = _env_int("BENCH_LOAD_REQUESTS", 100_000)
    n_credits = _env_int("BENCH_LOAD_CREDITS", 600_000)

    db_name = db.rsplit("/", 1)[-1].split("?", 1)[0]
    measured_commit = commit()
    work = Path(tempfile.mkdtemp(prefix="bulu-bench-load-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.load.settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": db,
        "REDIS_URL": "",
        "MEDIA_ROOT": str(work / "media"),
        "STATIC_ROOT": str(work / "static"),
        # One persistent connection per worker for the whole run, so the server's CPU time
        # (workers + their PostgreSQL backends) is measured on the same processes throughout.
        "CONN_MAX_AGE": "3600",
        "PYTHONPATH": str(ROOT),
    }
    manage = [sys.executable, str(ROOT / "manage.py")]
    proc = None
    try:
        started = time.perf_counter()
        if not args.reuse_data:
            print(f"building the data in {db_name}", flush=True)
            from bench.common import database_ensure

            database_ensure(db)
            run([*manage, "migrate", "--noinput", "-v0"], env)
            run([*manage, "flush", "--noinput", "-v0"], env)
            print(run([*manage, "seed_demo", "--force"], env).strip().splitlines()[0], flush=True)
            print(child("build", json.dumps([n_requests, n_credits]), env), flush=True)
        built = time.perf_counter() - started
        if os.environ.get("BENCH_LOAD_COLLECTSTATIC", "1") != "0":
            run([*manage, "collectstatic", "--noinput", "-v0"], env)
        targets = child("targets", "", env)
        port = free_port()
        log = work / "gunicorn.log"
        proc = start_gunicorn(env, port, log)
        pids = workers(proc.pid)
        host = f"http://127.0.0.1:{port}"
        config: dict[str, Any] = {
            "mode": "steady",
            "server_pids": pids,
            "db": db_name,
            "host": host,
            "password": PASSWORD,
            "users": users,
            "seconds": seconds,
            "warmup": warmup,
            "pages": [{"label": p["label"], "accounts": p["accounts"]} for p in targets["pages"]],
        }
        # Raw figures as they come (a failure later loses nothing): var/ for the real run, next
        # to the output file otherwise (a smoke run leaves nothing in the work tree).
        default_out = (ROOT / "docs" / "benchmarks.md").resolve()
        folder = ROOT / "var" if Path(args.out).resolve() == default_out else Path(args.out).parent
        raw = folder / f"bench-load-{time.strftime('%Y%m%d-%H%M%S')}.json"
        raw.parent.mkdir(exist_ok=True)
        steady_runs = []
        for n in range(runs):
            print(f"steady run {n + 1}/{runs}: {len(config['pages'])} pages", flush=True)
            result = drive(config, env, work)
            for r in result:
                print(
                    f"  {r['label']}: {r['rps']:.1f} req/s, p95 {r.get('p95')} ms,"
                    f" server {r['server_cpu_ms'] or 0:.1f} ms CPU/request,"
                    f" other load {r['others_cores']:.2f} cores",
                    flush=True,
                )
            steady_runs.append(result)
            raw.write_text(
                json.dumps({"targets": targets, "steady": steady_runs}, ensure_ascii=False)
            )
        mix = {name: weight for name, weight, _accounts in targets["roles"]}
        rush_config = {
            "mode": "rush",
            "server_pids": pids,
            "db": db_name,
            "host": host,
            "password": PASSWORD,
            "users": rush_users,
            "spawn_rate": 10,
            "login_timeout": 60 + rush_users,
            "seconds": rush_seconds,
            "warmup": warmup,
            "think": [3, 10],
            "roles": targets["roles"],
        }
        print(f"rush: {rush_users} users for {rush_seconds:g} s", flush=True)
        rush = drive(rush_config, env, work)
        raw.write_text(
            json.dumps(
                {"targets": targets, "steady": steady_runs, "rush": rush}, ensure_ascii=False
            )
        )
        stop(proc)
        proc = None
        logged = log.read_text() if log.exists() else ""
        result = {
            "date": f"{date.today():%Y-%m-%d}",
            "commit": measured_commit,
            "machine": machine(),
            "python": platform.python_version(),
            "postgres": targets["postgres"],
            "data": targets["data"],
            "built_seconds": None if args.reuse_data else built,
            "config": {"users": users, "seconds": seconds, "runs": runs},
            "steady": summarize(steady_runs, targets["pages"]),
            "rush_config": {
                "spawn_rate": rush_config["spawn_rate"],
                "login_timeout": rush_config["login_timeout"],
                "users": rush_users,
                "seconds": rush_seconds,
                "think": [3, 10],
                "mix": {k: f"{v} %" for k, v in mix.items()},
            },
            "rush": rush,
            "server_errors": logged.count("Traceback"),
        }
        out = Path(args.out)
        kept = previous(out)
        label = args.label or ("after" if kept.get("before") else "before")
        before = result if label == "before" else kept.get("before")
        after = result if label == "after" else None
        section = render(before, after)
        write_section(out, section)
        print("\n" + section)
    finally:
        if proc is not None:
            stop(proc)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "child":
        output = CHILDREN[sys.argv[2]](sys.argv[3])
        print(json.dumps(output, ensure_ascii=False))
    else:
        main()
