"""`make bench`: 附件4 roster validation, measured side by side, written to docs/benchmarks.md.

Every measurement runs in a fresh child process (`run.py child KIND FILE`), so its peak memory is
that process's own `ru_maxrss` (Python, Django and the work, not the parent's leftovers). Each is
repeated (default 3 times) and the median is reported.

Measured on generated rosters of 1k, 10k and 100k rows laid out like the school's template:
- bare: python-calamine opening the file and walking every row (the floor);
- judged: `roster_check` with the database lookups (read + normalize + every check);
- end to end: `roster_upload_create` -> on-commit task (eager) -> `roster_validate` -> stored;
- django-import-export: a dry-run import of the same 10k file into an equivalent model.

The database is a throwaway SQLite file unless BENCH_DATABASE_URL names another one. The
project's DATABASE_URL is deliberately not used: the bench writes 100k fake students.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SIZES = (1_000, 10_000, 100_000)
IEX_SIZE = 10_000
FAULTY_EVERY = 100  # the "faulty" roster: one row in a hundred has an unknown 活动等级
SECTION = "## 附件4 roster validation"
# The format comes from the app itself (importing these needs no configured Django).
from imports.roster import COLUMNS  # noqa: E402
from imports.template_xlsx import NOTES, SAMPLES  # noqa: E402

CONTENTS = ("参加校园歌手大赛", "参加“三下乡”社会实践", "校运动会志愿服务", "担任班长满一年")
KINDS = (
    ("文体活动", "文体活动", "校级", "文体活动学分", 2),
    ("实践实习", "社会实践", "省级", "实践实习学分", 1),
    ("志愿公益", "志愿服务", "院系级", "志愿者工时", 4),
    ("工作履历", "班级干部", "院系级", "工作成长积分", 1),
)


def student_no(i: int) -> str:
    return f"2021{i:06d}"


def student_name(i: int) -> str:
    return f"学生{i:06d}"


# --- generating rosters ----------------------------------------------------------------------


def generate(path: Path, rows: int, *, faulty_every: int = 0) -> None:
    """A roster like the template (title, header, samples, notes), `rows` data rows from row 7."""
    import xlsxwriter  # the bench extra

    workbook = xlsxwriter.Workbook(str(path))
    ws = workbook.add_worksheet("成长记录补充模板")
    date_format = workbook.add_format({"num_format": "yyyy/m/d"})
    text = workbook.add_format({"num_format": "@"})
    ws.merge_range(0, 0, 0, 10, "成长记录补充模板")
    ws.write_row(1, 0, COLUMNS)
    for r, sample in enumerate(SAMPLES, start=2):
        for c, value in enumerate(sample):
            if isinstance(value, datetime):
                ws.write_datetime(r, c, value, date_format)
            elif c == 0:
                ws.write_string(r, c, str(value), text)
            elif value is not None:
                ws.write(r, c, value)
    ws.merge_range(5, 0, 5, 10, NOTES)
    for i in range(rows):
        r = 6 + i
        category, subcategory, level, credit_type, points = KINDS[i % len(KINDS)]
        if faulty_every and i % faulty_every == faulty_every - 1:
            level = "乡级"
        start = datetime(2024, 3 + i % 6, 1 + i % 28)
        ws.write_string(r, 0, student_no(i), text)
        ws.write_string(r, 1, student_name(i))
        ws.write_datetime(r, 2, start, date_format)
        if i % 3:
            ws.write_datetime(r, 3, start.replace(day=28), date_format)
        ws.write_string(r, 4, CONTENTS[i % len(CONTENTS)])
        ws.write_string(r, 5, category)
        ws.write_string(r, 6, subcategory)
        ws.write_string(r, 7, level)
        if i % 5 == 0:
            ws.write_string(r, 8, "一等奖")
        ws.write_string(r, 9, credit_type)
        ws.write_number(r, 10, points)
    workbook.close()


# --- children: one measurement each ----------------------------------------------------------


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_setup(students: int) -> dict[str, Any]:
    _django()
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command

    from accounts.models import Membership, Organization, User
    from accounts.services import role_grant
    from imports.demo import demo_seed_credit_settings

    call_command("migrate", run_syncdb=True, verbosity=0)
    demo_seed_credit_settings()
    klass, _created = Organization.objects.get_or_create(kind="class", name="机械2101")
    center, _created = Organization.objects.get_or_create(kind="center", name="二课中心")
    staff, _created = User.objects.get_or_create(username="T0001", defaults={"name": "杜老师"})
    role_grant(user=staff, organization=center, role="center_staff")
    have = set(User.objects.filter(username__startswith="2021").values_list("username", flat=True))
    password = make_password("bench")
    batch = [
        User(username=student_no(i), name=student_name(i), password=password)
        for i in range(students)
        if student_no(i) not in have
    ]
    User.objects.bulk_create(batch, batch_size=5000)
    users = User.objects.filter(username__startswith="2021").exclude(memberships__role="student")
    Membership.objects.bulk_create(
        [Membership(user=u, organization=klass, role="student") for u in users.only("pk")],
        batch_size=5000,
    )
    return {"students": Membership.objects.filter(role="student").count()}


def child_bare(path: Path) -> dict[str, Any]:
    from python_calamine import CalamineWorkbook

    data = path.read_bytes()
    start = time.perf_counter()
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0)
    rows = sum(1 for _row in sheet.iter_rows())
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "rows": rows, "maxrss_mb": _maxrss_mb()}


def child_judged(path: Path) -> dict[str, Any]:
    _django()
    from imports.roster import roster_check
    from imports.selectors import roster_lookups_load

    data = path.read_bytes()
    start = time.perf_counter()
    report = roster_check(io.BytesIO(data), lookups=roster_lookups_load())
    seconds = time.perf_counter() - start
    assert report.readable, report.errors[:3]
    return {
        "seconds": seconds,
        "rows": report.data_rows,
        "errors": len(report.errors),
        "maxrss_mb": _maxrss_mb(),
    }


def child_e2e(path: Path) -> dict[str, Any]:
    _django()
    from accounts.models import User
    from imports.models import RosterUpload
    from imports.services import roster_upload_create

    RosterUpload.objects.all().delete()  # no reuse of an earlier run's result
    user = User.objects.get(username="T0001")
    data = path.read_bytes()
    start = time.perf_counter()
    upload = roster_upload_create(user=user, fileobj=io.BytesIO(data), filename=path.name)
    seconds = time.perf_counter() - start
    upload.refresh_from_db()
    assert upload.status == "done", upload.status
    return {
        "seconds": seconds,
        "rows": upload.data_rows,
        "errors": upload.error_count,
        "annotated": bool(upload.annotated),
        "maxrss_mb": _maxrss_mb(),
    }


def child_iex(path: Path) -> dict[str, Any]:
    """django-import-export's dry run; the template's title row and its 4 template rows removed."""
    _django()
    import tablib

    from bench.iebench.resources import RosterRowResource

    data = path.read_bytes()
    start = time.perf_counter()
    # Unaided, tablib takes row 1 (the one-cell title) as the header; skip it, then drop the three
    # sample rows and the notes row, which would otherwise be imported as data.
    dataset = tablib.Dataset().load(io.BytesIO(data), format="xlsx", skip_lines=1)
    for _template_row in range(4):
        del dataset[0]
    result = RosterRowResource().import_data(dataset, dry_run=True, raise_errors=False)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "rows": result.total_rows,
        "errors": len(result.row_errors()) + len(result.invalid_rows),
        "maxrss_mb": _maxrss_mb(),
    }


def child_iex_unaided(path: Path) -> dict[str, Any]:
    """What happens when the template is handed to django-import-export as it is."""
    _django()
    import tablib

    from bench.iebench.resources import RosterRowResource

    dataset = tablib.Dataset().load(io.BytesIO(path.read_bytes()), format="xlsx")
    outcome: str
    try:
        result = RosterRowResource().import_data(dataset, dry_run=True, raise_errors=False)
        first = result.invalid_rows[:1] or [
            e for _n, errors in result.row_errors()[:1] for e in errors
        ]
        outcome = f"{len(result.invalid_rows)} invalid rows, {len(result.row_errors())} row errors"
        if first:
            outcome += f"; first: {str(getattr(first[0], 'error', first[0]))[:160]}"
    except Exception as exc:
        outcome = f"{type(exc).__name__}: {str(exc)[:200]}"
    return {"headers": [str(h) for h in (dataset.headers or [])][:3], "outcome": outcome}


CHILDREN = {
    "bare": child_bare,
    "judged": child_judged,
    "e2e": child_e2e,
    "iex": child_iex,
    "iex_unaided": child_iex_unaided,
}


# --- the parent ------------------------------------------------------------------------------


def run_child(env: dict[str, str], kind: str, arg: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "child", kind, arg],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0:
        raise SystemExit(f"bench child {kind} {arg} failed:\n{done.stderr[-3000:]}")
    line = done.stdout.strip().splitlines()[-1]
    result: dict[str, Any] = json.loads(line)
    return result


def measure(env: dict[str, str], kind: str, path: Path, repeat: int) -> dict[str, Any]:
    runs = [run_child(env, kind, str(path)) for _ in range(repeat)]
    return {
        "seconds": statistics.median(r["seconds"] for r in runs),
        "all_seconds": [round(r["seconds"], 3) for r in runs],
        "maxrss_mb": statistics.median(r["maxrss_mb"] for r in runs),
        "rows": runs[0]["rows"],
        "errors": runs[0].get("errors", 0),
        "annotated": runs[0].get("annotated", False),
    }


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def label(n: int) -> str:
    return f"{n // 1000}k"


def render(
    results: dict[str, dict[str, Any]],
    unaided: dict[str, Any],
    checks: list[str],
    db: str,
    repeat: int,
) -> str:
    def sec(key: str) -> str:
        return f"{results[key]['seconds']:.3f}" if key in results else "—"

    lines = [
        SECTION,
        "",
        f"Measured {date.today():%Y-%m-%d} by `make bench` (bench/run.py) on {os.cpu_count()} cores"
        f" ({cpu_model()}), Python {platform.python_version()}, database {db}."
        f" Median of {repeat} runs, each in a fresh process; memory is that process's peak RSS"
        " (`ru_maxrss`: Python + Django + the work).",
        "",
        "| rows | bare calamine read (s) | judged (s) | judged / bare | end to end (s) | rows/s"
        " (end to end) | peak RSS end to end (MB) | peak RSS judged (MB) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in SIZES:
        b, j, e = results[f"bare-{n}"], results[f"judged-{n}"], results[f"e2e-{n}"]
        lines.append(
            f"| {label(n)} | {b['seconds']:.3f} | {j['seconds']:.3f} |"
            f" {j['seconds'] / b['seconds']:.2f}× | {e['seconds']:.3f} |"
            f" {n / e['seconds']:,.0f} | {e['maxrss_mb']:.0f} | {j['maxrss_mb']:.0f} |"
        )
    faulty = results["e2e-faulty"]
    iex = results["iex"]
    e10 = results[f"e2e-{IEX_SIZE}"]
    lines += [
        "",
        f"- **10k rows with 1 % faulty rows** (so the annotated workbook is written with openpyxl):"
        f" end to end {faulty['seconds']:.3f} s, {faulty['errors']} errors, peak RSS"
        f" {faulty['maxrss_mb']:.0f} MB. The marked copy is the expensive part (openpyxl loads"
        " and saves the user's whole file); a clean roster skips it.",
        f"- **django-import-export 4 dry run, same 10k file** into an equivalent model"
        f" (bench/iebench): {iex['seconds']:.3f} s, {iex['errors']} errors reported, peak RSS"
        f" {iex['maxrss_mb']:.0f} MB — {iex['seconds'] / e10['seconds']:.1f}× our end to end"
        f" ({iex['seconds'] / results[f'judged-{IEX_SIZE}']['seconds']:.1f}× our judging)."
        " It only type-converts the columns: no registry, settings or duplicate checks.",
        f"- It cannot load the template unaided: tablib takes the one-cell title row as the header"
        f" (headers {unaided['headers']}), so the import reports {unaided['outcome']}."
        " For the timing above the bench skips the title row (`skip_lines=1`) and deletes the"
        " three sample rows and the notes row before importing.",
        "- All runs (s): "
        + "; ".join(f"{k} {v['all_seconds']}" for k, v in sorted(results.items())),
        "",
        "Targets (2 cores):",
        "",
        *[f"- {c}" for c in checks],
        "",
    ]
    return "\n".join(lines)


def check_targets(results: dict[str, dict[str, Any]]) -> list[str]:
    judged10 = results["judged-10000"]["seconds"]
    e2e10 = results["e2e-10000"]["seconds"]
    bare10 = results["bare-10000"]["seconds"]
    iex = results["iex"]["seconds"]
    judged100 = results["judged-100000"]["seconds"]
    mem100 = max(results["judged-100000"]["maxrss_mb"], results["e2e-100000"]["maxrss_mb"])
    overhead = (judged10 - bare10) / bare10

    def verdict(ok: bool, text: str, miss: str) -> str:
        return f"{'met' if ok else 'MISSED'}: {text}" + ("" if ok else f" — {miss}")

    return [
        verdict(
            judged10 < 1, f"10k judged in {judged10:.3f} s (< 1 s)", f"{judged10 - 1:.3f} s over"
        ),
        verdict(
            e2e10 < 2, f"10k stored end to end in {e2e10:.3f} s (< 2 s)", f"{e2e10 - 2:.3f} s over"
        ),
        verdict(
            iex / e2e10 >= 7,
            f"{iex / e2e10:.1f}× faster than the django-import-export dry run (≥ 7×)",
            f"{7 - iex / e2e10:.1f}× short",
        ),
        verdict(
            overhead <= 2,
            f"judging overhead {overhead:.2f}× the bare read at 10k (≤ 2×; judged total"
            f" {judged10 / bare10:.2f}× the read)",
            f"{overhead - 2:.2f}× over",
        ),
        verdict(
            judged100 < 4,
            f"100k judged in {judged100:.3f} s (< 4 s)",
            f"{judged100 - 4:.3f} s over",
        ),
        verdict(
            mem100 < 300, f"100k peak RSS {mem100:.0f} MB (< 300 MB)", f"{mem100 - 300:.0f} MB over"
        ),
    ]


def write_section(path: Path, section: str) -> None:
    """Replace (or append) the section whose heading is `section`'s first line."""
    heading = section.split("\n", 1)[0]
    text = path.read_text() if path.exists() else "# Benchmarks\n\n"
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = (
        pattern.sub(lambda _m: section + "\n", text)
        if pattern.search(text)
        else (text.rstrip("\n") + "\n\n" + section + "\n")
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bulu-bench-"))
    db = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{work / 'bench.sqlite3'}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-only-not-secret",
        "DATABASE_URL": db,
        "MEDIA_ROOT": str(work / "media"),
        "REDIS_URL": "",  # the task runs in-process: end to end in one measured call
        "PYTHONPATH": str(ROOT),
    }
    try:
        files: dict[str, Path] = {}
        for n in SIZES:
            files[str(n)] = work / f"roster-{label(n)}.xlsx"
            print(f"generating {files[str(n)].name}", flush=True)
            generate(files[str(n)], n)
        files["faulty"] = work / "roster-10k-faulty.xlsx"
        generate(files["faulty"], 10_000, faulty_every=FAULTY_EVERY)

        print(f"setting up {db} with {max(SIZES):,} students", flush=True)
        print(run_child(env, "setup", str(max(SIZES))), flush=True)

        results: dict[str, dict[str, Any]] = {}
        for n in SIZES:
            for kind in ("bare", "judged", "e2e"):
                results[f"{kind}-{n}"] = measure(env, kind, files[str(n)], args.repeat)
                print(
                    f"{kind:>7} {label(n):>5}: {results[f'{kind}-{n}']['all_seconds']}", flush=True
                )
        results["e2e-faulty"] = measure(env, "e2e", files["faulty"], args.repeat)
        print(f"e2e faulty 10k: {results['e2e-faulty']['all_seconds']}", flush=True)
        results["iex"] = measure(env, "iex", files[str(IEX_SIZE)], args.repeat)
        print(f"import-export 10k: {results['iex']['all_seconds']}", flush=True)
        unaided = run_child(env, "iex_unaided", str(files[str(IEX_SIZE)]))

        checks = check_targets(results)
        db_name = "SQLite (temporary file)" if db.startswith("sqlite") else db.split(":", 1)[0]
        section = render(results, unaided, checks, db_name, args.repeat)
        write_section(Path(args.out), section)
        print("\n" + section)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "child":
        kind, arg = sys.argv[2], sys.argv[3]
        output = child_setup(int(arg)) if kind == "setup" else CHILDREN[kind](Path(arg))
        print(json.dumps(output, ensure_ascii=False))
    else:
        main()
