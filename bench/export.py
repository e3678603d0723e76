"""`make bench`: the 到梦空间 export batch with 100,000 records, side by side with two writers.

Three writers of the same rows, each in its own fresh subprocess that reports its own peak memory
at the end (`ru_maxrss` of RUSAGE_SELF, and VmHWM from /proc/self/status: the parent that spawns
them stays small, so neither carries a bigger peak across exec):

- naive: openpyxl in normal mode (the whole workbook in memory), rows read from a CSV file;
- floor: bare XlsxWriter `constant_memory`, the same rows from the same CSV, no layout rows;
- ours: `exports.services.export_batch_create` end to end on PostgreSQL — claiming the records,
  moving their requests to 已导出 (bulk state moves, approval records, tallies) and writing the
  template workbook(s), split at BULU_EXPORT_ROWS_PER_FILE, plus the zip. Each round then cancels
  the batch (timed too) so the next round finds the same pool.

Rounds alternate the three writers; medians of `--repeat` rounds (default 3). Before each round of
ours, untimed, VACUUM ANALYZE of the tables a round churns (what autovacuum would do). The
export desk's summary (counts and totals per credit type over the pool) is timed through
Django's test client.

Needs BENCH_DATABASE_URL naming a scratch PostgreSQL database (emptied and filled with
bench/data.py: 100k requests, 225k credit records of which ~100k wait for export); without it the
bench prints why and does nothing. Written to docs/benchmarks.md under "## Export batches".
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import machine_busy_s, own_cpu_s, write_section  # noqa: E402

SECTION = "## Export batches (到梦空间 import sheet)"
TARGET_RECORDS = int(os.environ.get("BENCH_EXPORT_RECORDS", "100000"))
REQUESTS = int(os.environ.get("BENCH_EXPORT_REQUESTS", "100000"))
# bench/data.py spreads credits evenly over approved (20 %), exported and imported (25 %)
# requests: 2.25 credits per waiting one.
CREDITS = int(os.environ.get("BENCH_EXPORT_CREDITS", str(TARGET_RECORDS * 23 // 10)))
# The desk is timed again once the table holds this many records (those added belong to
# exported and imported requests, so the pool stays the same).
DESK_RECORDS = int(os.environ.get("BENCH_EXPORT_DESK_RECORDS", "600000"))
TARGET_SECONDS = 10.0
TARGET_MB = 150.0


def _status_mb(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _memory() -> dict[str, float | None]:
    return {
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "hwm_mb": _status_mb("VmHWM"),
    }


def _django() -> None:
    os.environ["DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret-0f1e2d3c4b5a69788796a5b4c3d2e1f0")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ["REDIS_URL"] = ""  # tasks in-process: no PDF renders queued by the moves
    import django

    django.setup()


# --- children --------------------------------------------------------------------------------


def child_setup(csv_path: Path) -> dict[str, Any]:
    """Empty the scratch database, fill it, and write the pool's rows to CSV for the writers."""
    _django()
    from django.core.management import call_command
    from django.db import connection

    from bench.data import populate
    from exports.selectors import ExportFilters, export_pool
    from exports.services import SHEET_FIELDS

    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    built = populate(requests=REQUESTS, credits=CREDITS)
    connection.close()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    fields = [f.removeprefix("record__") for f in SHEET_FIELDS]
    n = 0
    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        for row in export_pool(filters=ExportFilters()).order_by("pk").values_list(*fields):
            out.writerow(["" if v is None else v for v in row])
            n += 1
    return {
        "requests": built.requests,
        "credits": built.credits,
        "pool": n,
        "seconds": built.seconds,
    }


def _csv_rows(csv_path: Path) -> Any:
    from datetime import date

    with csv_path.open(newline="", encoding="utf-8") as fh:
        for r in csv.reader(fh):
            yield (
                r[0],
                r[1],
                date.fromisoformat(r[2]),
                date.fromisoformat(r[3]) if r[3] else None,
                *r[4:10],
                float(r[10]) if r[10] else None,
            )


def child_naive(csv_path: Path, out_dir: Path) -> dict[str, Any]:
    """openpyxl, normal mode: every cell an object in memory until save."""
    started = time.perf_counter()
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    rows = 0
    for r, row in enumerate(_csv_rows(csv_path), start=1):
        ws.append(list(row))
        ws.cell(r, 1).number_format = "@"
        ws.cell(r, 3).number_format = "yyyy/m/d"
        if row[3] is not None:
            ws.cell(r, 4).number_format = "yyyy/m/d"
        rows += 1
    wb.save(out_dir / "naive.xlsx")
    return {"seconds": time.perf_counter() - started, "rows": rows, **_memory()}


def child_floor(csv_path: Path, out_dir: Path) -> dict[str, Any]:
    """Bare XlsxWriter, constant_memory: the same cells, nothing else."""
    started = time.perf_counter()
    from datetime import datetime

    import xlsxwriter

    wb = xlsxwriter.Workbook(str(out_dir / "floor.xlsx"), {"constant_memory": True})
    ws = wb.add_worksheet()
    text = wb.add_format({"num_format": "@"})
    day = wb.add_format({"num_format": "yyyy/m/d"})
    rows = 0
    for r, row in enumerate(_csv_rows(csv_path)):
        ws.write_string(r, 0, row[0], text)
        ws.write_string(r, 1, row[1])
        ws.write_datetime(r, 2, datetime(row[2].year, row[2].month, row[2].day), day)
        if row[3] is not None:
            ws.write_datetime(r, 3, datetime(row[3].year, row[3].month, row[3].day), day)
        for c in range(4, 10):
            if row[c]:
                ws.write_string(r, c, row[c])
        if row[10] is not None:
            ws.write_number(r, 10, row[10])
        rows += 1
    wb.close()
    return {"seconds": time.perf_counter() - started, "rows": rows, **_memory()}


def child_ours(csv_path: Path, out_dir: Path) -> dict[str, Any]:
    """The export service end to end; the clock starts before Django is even imported."""
    started = time.perf_counter()
    _django()
    from django.conf import settings

    from accounts.models import User
    from exports.selectors import ExportFilters
    from exports.services import export_batch_cancel, export_batch_create

    settings.MEDIA_ROOT = str(out_dir / "media")
    staff = User.objects.get(username="T0301")
    ready = time.perf_counter()
    batch = export_batch_create(actor=staff, filters=ExportFilters())
    done = time.perf_counter()
    memory = _memory()
    files = batch.files.count()
    export_batch_cancel(batch=batch, actor=staff, reason="bench")
    return {
        "seconds": done - started,
        "service_seconds": done - ready,
        "cancel_seconds": time.perf_counter() - done,
        "rows": batch.rows,
        "requests": batch.requests,
        "files": files,
        **memory,
    }


def child_desk(csv_path: Path, out_dir: Path) -> dict[str, Any]:
    """The export desk page (counts and totals over the pool) through Django's test client."""
    _django()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User

    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    client = Client()
    client.force_login(User.objects.get(username="T0301"))
    timings: dict[str, float] = {}
    queries: dict[str, int] = {}
    for label, url in (
        ("export desk, everything", "/exports/"),
        ("export desk, one credit type", "/exports/?credit_type=志愿者工时"),
    ):
        assert client.get(url, secure=True).status_code == 200
        times = []
        for _ in range(7):
            t = time.perf_counter()
            client.get(url, secure=True)
            times.append(time.perf_counter() - t)
        with CaptureQueriesContext(connection) as ctx:
            client.get(url, secure=True)
        timings[label] = statistics.median(times) * 1000
        queries[label] = len(ctx.captured_queries)
    return {"pages": timings, "queries": queries}


def child_vacuum(csv_path: Path, out_dir: Path) -> dict[str, Any]:
    """Between rounds, untimed: what autovacuum does to the tables a round churns (each round
    updates ~20k requests twice and adds ~100k export items), so every round starts alike."""
    _django()
    from django.db import connection

    tables = ("workflow_backfillrequest", "exports_exportitem", "workflow_requesttally")
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {table}")
    return {}


def child_grow(csv_path: Path, out_dir: Path) -> dict[str, Any]:
    """Copy records of exported and imported requests until the table holds DESK_RECORDS."""
    _django()
    from django.db import connection

    from credits.models import CreditRecord

    copy = 0
    while CreditRecord.objects.count() < DESK_RECORDS:
        copy += 1
        missing = DESK_RECORDS - CreditRecord.objects.count()
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO imports_creditrecord (request_id, source_key, student_id, student_no,"
                " student_name, start_date, end_date, content, category, subcategory, level, award,"
                " credit_type, value, delivery, created_at)"
                " SELECT c.request_id, c.source_key || %s, c.student_id, c.student_no,"
                " c.student_name, c.start_date, c.end_date, c.content, c.category, c.subcategory,"
                " c.level, c.award, c.credit_type, c.value, c.delivery, c.created_at"
                " FROM imports_creditrecord c"
                " JOIN workflow_backfillrequest r ON r.id = c.request_id"
                " WHERE r.state IN ('exported', 'imported') AND c.source_key NOT LIKE %s"
                " ORDER BY c.id LIMIT %s",
                [f"#{copy}", "%#%", missing],
            )
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE imports_creditrecord")
    return {"records": CreditRecord.objects.count()}


CHILDREN = {
    "grow": child_grow,
    "vacuum": child_vacuum,
    "setup": lambda a, _b: child_setup(a),
    "naive": child_naive,
    "floor": child_floor,
    "ours": child_ours,
    "desk": child_desk,
}


# --- the parent --------------------------------------------------------------------------------


def run_child(kind: str, csv_path: Path, out_dir: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "child", kind, str(csv_path), str(out_dir)],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if done.returncode != 0:
        raise SystemExit(f"bench child {kind} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _other_load(busy: float | None, own: float, started: float) -> str:
    """The sentence bench/run.py's OtherLoad writes, without importing it up front."""
    now_busy = machine_busy_s()
    if busy is None or now_busy is None:
        return ""
    cores = max((now_busy - busy) - (own_cpu_s() - own), 0.0) / (time.monotonic() - started)
    return (
        f" While it ran, other processes on the machine used on average {cores:.2f} of its"
        f" {os.cpu_count()} cores"
        + (
            ": the timings are slower than on an idle machine."
            if cores >= 0.2
            else " (an idle machine)."
        )
    )


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(float(r[key]) for r in runs if r.get(key) is not None)


def render(
    setup: dict[str, Any], runs: dict[str, list[dict[str, Any]]], desk: dict[str, Any], load: str
) -> str:
    cpu = platform.processor() or platform.machine()
    ours = runs["ours"]
    seconds, mb = _median(ours, "seconds"), _median(ours, "maxrss_mb")
    lines = [
        SECTION,
        "",
        f"Measured {time.strftime('%Y-%m-%d')} by `make bench` (bench/export.py) on "
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, PostgreSQL; "
        f"{setup['requests']:,} requests and {setup['credits']:,} credit records, of which "
        f"{setup['pool']:,} (名单导入, request 已通过) wait for export. Median of "
        f"{len(ours)} alternating rounds; each writer ran in its own fresh process and reports its "
        f"own peak memory (`ru_maxrss`, and VmHWM).{load}",
        "",
        "| writer | rows | time (s) | peak memory, ru_maxrss (MB) | VmHWM (MB) |",
        "|---|---:|---:|---:|---:|",
    ]
    names = {
        "naive": "naive: openpyxl normal mode, rows from CSV",
        "floor": "floor: bare XlsxWriter constant_memory, rows from CSV",
        "ours": "ours: `export_batch_create` end to end (Django start-up, claim, state moves, "
        "template workbooks, zip)",
    }
    for kind in ("naive", "floor", "ours"):
        rs = runs[kind]
        hwm = [r["hwm_mb"] for r in rs if r.get("hwm_mb") is not None]
        lines.append(
            f"| {names[kind]} | {rs[0]['rows']:,} | {_median(rs, 'seconds'):.2f} | "
            f"{_median(rs, 'maxrss_mb'):.0f} | {statistics.median(hwm) if hwm else 0:.0f} |"
        )
    lines += [
        "",
        f"Ours: the service alone (after Django start-up) {_median(ours, 'service_seconds'):.2f} s "
        f"for {ours[0]['rows']:,} records of {ours[0]['requests']:,} requests in "
        f"{ours[0]['files']} files; cancelling the batch again (records back to the pool, "
        f"requests back to 已通过) {_median(ours, 'cancel_seconds'):.2f} s. All rounds (s): "
        + ", ".join(f"{r['seconds']:.2f}" for r in ours)
        + ".",
        "",
        "| page (center staff) | records in the table | median (ms) | SQL queries |",
        "|---|---:|---:|---:|",
    ]
    for run in (desk, desk["big"]):
        for label, ms in run["pages"].items():
            lines.append(f"| {label} | {run['records']:,} | {ms:.0f} | {run['queries'][label]} |")
    lines += [
        "",
        "The desk's counts and totals are one aggregate over the pool (名单导入 records of 已通过 "
        "requests not in an active batch): the records added for the second line belong to "
        "exported and imported requests, so the page reads the same pool "
        f"({setup['pool']:,} records) out of a bigger table.",
    ]
    verdicts = [
        f"{'met' if seconds < TARGET_SECONDS else 'NOT met'}: {ours[0]['rows']:,} records in "
        f"{seconds:.2f} s (target < {TARGET_SECONDS:.0f} s)",
        f"{'met' if mb < TARGET_MB else 'NOT met'}: peak {mb:.0f} MB of the measuring process "
        f"(target < {TARGET_MB:.0f} MB)",
    ]
    if ours[0]["rows"] < 100_000:
        verdicts = [f"not judged: {ours[0]['rows']:,} records is not the target size"]
    lines += ["", "Targets: " + "; ".join(verdicts) + "."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=int(os.environ.get("BENCH_REPEAT", "3")))
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    args = parser.parse_args()
    if not os.environ.get("BENCH_DATABASE_URL", "").startswith(("postgres", "pgsql")):
        print(
            "bench/export.py: skipped — set BENCH_DATABASE_URL=postgres://…/scratch (a scratch "
            "PostgreSQL database; it is emptied) to measure the export batches."
        )
        return
    # bench.run (and what it imports) is loaded only after the children ran: the parent must stay
    # small, or its peak would be inherited by the children's ru_maxrss.
    busy_at_start, own_at_start, started = machine_busy_s(), own_cpu_s(), time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bulu-export-bench-") as tmp:
        work = Path(tmp)
        csv_path = work / "pool.csv"
        setup = run_child("setup", csv_path, work)
        print(f"bench/export.py: {setup}", flush=True)
        runs: dict[str, list[dict[str, Any]]] = {"naive": [], "floor": [], "ours": []}
        for round_no in range(args.repeat):
            for kind in runs:
                if kind == "ours":
                    run_child("vacuum", csv_path, work)
                runs[kind].append(run_child(kind, csv_path, work))
                print(f"round {round_no + 1} {kind}: {runs[kind][-1]}", flush=True)
        run_child("vacuum", csv_path, work)
        desk = run_child("desk", csv_path, work)
        grown = run_child("grow", csv_path, work)
        desk_big = run_child("desk", csv_path, work)
        desk["records"], desk["big"] = setup["credits"], {**desk_big, **grown}

    section = render(setup, runs, desk, _other_load(busy_at_start, own_at_start, started))
    print(section)
    write_section(Path(args.out), section)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        kind, a, b = sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
        print(json.dumps(CHILDREN[kind](a, b), default=str))
    else:
        main()
