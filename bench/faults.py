"""`make bench-faults`: the outbox (bulu.jobs) on a bad day, measured (issue 18).

On a scratch PostgreSQL database (BENCH_DATABASE_URL; dropped and created afresh) with a
redis-server of its own (BENCH_FAULTS_REDIS_PORT, else a free port):

1. `migrate`, `seed_demo --force` (DEBUG=0), then `child setup`: the students of four counselors'
   classes file pending personal requests (through the services, evidence and all), every user
   gets an e-mail address, and 附件4 rosters are written from the school's template
   (/work/shared/fixtures/growth_record_template.xlsx, else imports.template_xlsx). The app runs
   as deployed: gunicorn (`bulu.wsgi`, settings `bulu.settings`, DEBUG=0, plain HTTP on loopback)
   and `celery -A bulu worker -B` (the beat included; `--include bench.faults_ledger` only adds a
   line per delivery to a ledger file, see that module). E-mail goes to Django's file backend
   (EMAIL_URL=filemail://…), so the mails sent can be counted.
2. Trial A, "broker stopped for a minute": threads log in through the login form (CSRF and all)
   as the six student applicants, who upload rosters and poll their pages, and as four
   counselors and four branch secretaries, who open 我的待办 and approve requests; BEFORE s
   later the redis-server is shut down (SIGTERM; `--outage freeze` SIGSTOPs it instead) for
   OUTAGE s, then started again; the clients go on AFTER s more; then the script waits until
   every job row is done. Measured: each response's time and status (before / during / after
   the outage), jobs created / done / failed, each roster validated once, each e-mail sent once
   (mails counted against the e-mail jobs), each approval kept, the time from the broker's
   return to the last job done, and the CPU the machine and other processes used.
3. Trial B, "worker killed": big faulty rosters and PDF renders are queued; KILLS times a
   running delivery is killed with SIGKILL — alternately the pool process running it and the
   whole worker (main process, beat and pool; started again at once). Measured: jobs lost, jobs
   done twice, time from each kill to its job done.
4. Each trial runs RUNS times; the figures go to docs/reliability.md, section "Fault trials
   (measured)" (a trial not run this time keeps its earlier figures, stored in the section's
   closing comment), the raw figures to var/bench-faults-*.json.

    python bench/faults.py [--runs-a 3] [--runs-b 2] [--kills 10] [--outage stop|freeze]
                           [--before 15] [--outage-seconds 60] [--after 30] [--out FILE] [--keep]

Not part of `make test` or `make bench`; it takes about 12 minutes (`--outage freeze --runs-b 0`
adds the frozen-broker trial). Every process it starts is in a process group of its own and is
stopped on exit, also on SIGTERM.
"""

from __future__ import annotations

import argparse
import html
import io
import json
import os
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import free_port, machine_busy_s, own_cpu_s, run_checked, write_section  # noqa: E402

SECTION = "## Fault trials (measured)"
DATA_MARK = "<!-- bench-faults "
PASSWORD = "demo1234"  # noqa: S105 - the published demo password (accounts.demo.DEMO_PASSWORD)
# The demo's student applicants (学生干部): they may upload rosters (a plain student may not).
UPLOADERS = ("2023010102", "2023040103", "2024040408", "2023020215", "2023020305", "2024030312")
# One counselor with three classes per college, and each college's branch secretary (the
# personal route's second step for those classes).
COUNSELORS = ("T0001", "T0003", "T0005", "T0007")
SECRETARIES = ("T0101", "T0102", "T0103", "T0104")
TARGET_SECONDS = 2.0
MARKER = b"FAULT-000000"  # replaced in each upload's copy, so no two uploads share their bytes
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
DETAIL_LINK = re.compile(r'href="/flow/requests/(\d+)/"')
DECIDE_FORM = re.compile(r'<form[^>]*action="([^"]+/decide/)"[^>]*id="decide">(.*?)</form>', re.S)
INPUT = re.compile(r"<input\b[^>]*>", re.S)
ATTR = re.compile(r'([\w-]+)="([^"]*)"')
WORKER_CONCURRENCY = 2
ROSTER_ROWS = 150  # trial A's rosters (a class or two)
GUNICORN_WORKERS = 3


# --- children that need Django ---


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bulu.settings")
    import django

    django.setup()


def _png() -> bytes:
    from personal.demo import _certificate_png

    return _certificate_png("文艺比赛获奖")


def _pending_request(student: Any, standard: Any, n: int, png: bytes) -> None:
    """One personal request, filed and submitted by `student` through the services."""
    from datetime import timedelta

    from personal import services

    request = services.personal_request_create(student=student, title=f"文艺比赛获奖等补录 {n}")
    evidence = services.evidence_stage(
        request=request, actor=student, uploads=[("证书.png", io.BytesIO(png))]
    )
    item = services.personal_item_save(
        request=request,
        actor=student,
        staged=[e.pk for e in evidence],
        data=services.ItemData(
            content=f"{standard.name}（第 {n} 届校园歌手大赛）",
            start_date=date(2025, 9, 10) + timedelta(days=n % 60),
            end_date=None,
            category_id=standard.subcategory.category_id,
            subcategory_id=standard.subcategory_id,
            level_id=standard.level_id or 0,
            awards=standard.award,
            credit_type_id=standard.credit_type_id,
            claimed_value=standard.points,
            standard_item_id=standard.pk,
        ),
    )
    services.personal_item_mark_online(
        item=item, actor=student, applied=True, applied_on=date.today()
    )
    services.personal_request_submit(request=request, actor=student)


def _roster(path: Path, students: list[tuple[str, str]], *, level: str) -> None:
    """A roster from the school's template: one data row per student from row 7."""
    from datetime import datetime

    import openpyxl

    from imports.roster import COLUMNS
    from imports.template_xlsx import build_template

    fixture = ROOT.parent / "shared" / "fixtures" / "growth_record_template.xlsx"
    workbook = openpyxl.load_workbook(fixture) if fixture.is_file() else build_template()
    sheet = workbook.worksheets[0]
    for r, (number, name) in enumerate(students, start=7):
        values = {
            "学号": number,
            "姓名": name,
            "开始时间": datetime(2025, 10, 12),
            "结束时间": datetime(2025, 10, 12),
            "内容": f"文艺比赛获奖（校园歌手大赛 {MARKER.decode()}）" if r == 7 else "文艺比赛获奖",
            "活动一级分类": "文体活动",
            "活动二级分类": "文艺活动",
            "活动等级": level,
            "奖项内容": "一等奖",
            "学分类型": "文体活动学分",
            "发放学分值": 2,
        }
        for c, column in enumerate(COLUMNS, start=1):
            cell = sheet.cell(row=r, column=c, value=values[column])
            if isinstance(values[column], datetime):
                cell.number_format = "yyyy/m/d"
    workbook.save(path)


def child_setup(spec: dict[str, Any]) -> dict[str, Any]:
    """Pending requests at the counselors, e-mail addresses, the roster files."""
    _django()
    from django.db.models import F, Value
    from django.db.models.functions import Concat

    from accounts.models import Membership, User
    from imports.models import CreditStandardItem
    from personal.models import PersonalRequest

    standard = (
        CreditStandardItem.objects.filter(level__isnull=False, award="一等奖")
        .select_related("subcategory")
        .first()
    ) or CreditStandardItem.objects.filter(level__isnull=False).select_related("subcategory")[0]
    png = _png()
    started = time.monotonic()
    filed = 0
    taken = set(PersonalRequest.objects.values_list("applicant_id", flat=True))
    for counselor in COUNSELORS:
        classes = Membership.objects.filter(
            user__username=counselor, role=Membership.Role.COUNSELOR
        ).values("organization_id")
        students = (
            User.objects.filter(
                memberships__role=Membership.Role.STUDENT,
                memberships__organization_id__in=classes,
            )
            .exclude(pk__in=taken)
            .order_by("username")[: spec["per_counselor"]]
        )
        for student in students:
            filed += 1
            _pending_request(student, standard, filed, png)
    # After the requests: their submissions sent no e-mail (nobody had an address yet).
    User.objects.update(email=Concat(F("username"), Value("@faults.example.edu")))
    registry = list(
        User.objects.filter(memberships__role=Membership.Role.STUDENT)
        .order_by("username")
        .values_list("username", "name")
    )
    out = Path(spec["dir"])
    _roster(out / "small.xlsx", registry[:ROSTER_ROWS], level="校级")
    big = [registry[i % len(registry)] for i in range(spec["big_rows"])]
    _roster(out / "big.xlsx", big, level="超级级")  # unknown 活动等级: every row is an error
    return {"filed": filed, "seconds": round(time.monotonic() - started, 1)}


def child_queue(spec: dict[str, Any]) -> dict[str, Any]:
    """Trial B's work, queued through the outbox (the broker is up): big rosters, and renders of
    submitted requests whose stored PDFs are deleted first (so each renders for real)."""
    _django()
    from accounts.models import User
    from bulu.jobs.models import Job
    from bulu.workflow.models import BackfillRequest
    from documents.models import RequestDocument
    from documents.services import documents_enqueue
    from imports.services import roster_upload_create

    base = Path(spec["big"]).read_bytes()
    users = list(User.objects.filter(username__in=UPLOADERS))
    for n in range(spec["rosters"]):
        data = unique_copy(base, spec["serial"] + n)
        roster_upload_create(
            user=users[n % len(users)], fileobj=io.BytesIO(data), filename=f"名单{n}.xlsx"
        )
    live = {
        a[0]
        for a in Job.objects.filter(
            name="documents.render_request", state__in=Job.LIVE
        ).values_list("args", flat=True)
    }
    ids = [
        pk
        for pk in BackfillRequest.objects.filter(submitted_at__isnull=False, kind="personal")
        .order_by("?")
        .values_list("pk", flat=True)[: spec["renders"] + len(live)]
        if pk not in live
    ][: spec["renders"]]
    for doc in RequestDocument.objects.filter(request_id__in=ids):
        doc.file.delete(save=False)
        doc.delete()
    for pk in ids:
        documents_enqueue(request_id=pk)
    return {"rosters": spec["rosters"], "renders": len(ids)}


def _mails(folder: Path) -> Counter[tuple[tuple[str, ...], str]]:
    """Every message Django's file backend wrote: (recipients, body) → how many times."""
    import email
    import email.policy

    found: Counter[tuple[tuple[str, ...], str]] = Counter()
    separator = b"\n" + b"-" * 79 + b"\n"
    for path in sorted(folder.glob("*.log")) if folder.is_dir() else []:
        for chunk in path.read_bytes().split(separator):
            if not chunk.strip():
                continue
            message = email.message_from_bytes(chunk, policy=email.policy.default)
            to = tuple(sorted(a.strip() for a in str(message["To"] or "").split(",") if a))
            body = message.get_body(preferencelist=("plain",))
            text = body.get_content() if body is not None else ""
            found[(to, text.strip())] += 1
    return found


def _job_figures(jobs: list[Any], up: float | None) -> dict[str, Any]:
    names: dict[str, Counter[str]] = {}
    for job in jobs:
        names.setdefault(job.name, Counter())[job.state] += 1
    waits = [
        job.finished_at.timestamp() - up
        for job in jobs
        if up is not None
        and job.finished_at is not None
        and job.created_at.timestamp() < up
        and job.finished_at.timestamp() > up
    ]
    return {
        "by_name": {name: dict(c) for name, c in sorted(names.items())},
        "created": len(jobs),
        "done": sum(j.state == "done" for j in jobs),
        "failed": sum(j.state == "failed" for j in jobs),
        "left": sum(j.state in ("pending", "running") for j in jobs),
        "attempts": dict(Counter(str(j.attempts) for j in jobs)),
        "recover_s": max(waits) if waits else 0.0,
        "last_done_s": max(
            (j.finished_at.timestamp() - up for j in jobs if j.finished_at and up), default=0.0
        ),
        "failed_errors": [j.error[:200] for j in jobs if j.state == "failed"][:5],
    }


def child_audit(spec: dict[str, Any]) -> dict[str, Any]:
    """What the database and the mail folder say about one trial's jobs and changes."""
    _django()
    from bulu.jobs.models import Job
    from bulu.workflow.models import ApprovalRecord
    from bulu.workflow.tasks import SEND_EMAIL
    from documents.models import RequestDocument
    from imports.models import RosterUpload

    jobs = list(Job.objects.filter(pk__gt=spec["since"]).order_by("pk"))
    figures = _job_figures(jobs, spec.get("up"))
    # Each e-mail job's message, counted against the mails written (all trials so far).
    wanted = Counter(
        (tuple(sorted(j.args[0])), (f"{j.args[1]}\n\n{j.args[2]}" if j.args[2] else j.args[1]))
        for j in Job.objects.filter(name=SEND_EMAIL, state="done")
    )
    sent = _mails(Path(spec["mails"]))
    mine = {
        (tuple(sorted(j.args[0])), (f"{j.args[1]}\n\n{j.args[2]}" if j.args[2] else j.args[1]))
        for j in jobs
        if j.name == SEND_EMAIL
    }
    figures["mail"] = {
        "jobs": sum(1 for j in jobs if j.name == SEND_EMAIL),
        "sent": sum(sent[k] for k in mine),
        "missing": sum(max(wanted[k] - sent[k], 0) for k in mine),
        "twice": sum(max(sent[k] - wanted[k], 0) for k in mine),
        "strays": sum(n for k, n in sent.items() if k not in wanted),
    }
    uploads = list(RosterUpload.objects.filter(pk__in=spec.get("uploads", [])))
    roster_jobs = (
        Counter(
            j.args[0]
            for j in Job.objects.filter(
                name="imports.roster_validate", args__0__in=[u.pk for u in uploads]
            )
        )
        if uploads
        else Counter()
    )
    figures["rosters"] = {
        "uploaded": len(spec.get("uploads", [])),
        "found": len(uploads),
        "validated": sum(u.is_finished for u in uploads),
        "reused": sum(u.reused_from_id is not None for u in uploads),
        "once": sum(u.attempts == 1 for u in uploads),
        "more": sum(u.attempts > 1 for u in uploads),
        "jobs_per_upload": dict(Counter(str(roster_jobs[u.pk]) for u in uploads)),
    }
    kept = 0
    for pk, username in spec.get("approvals", []):
        kept += ApprovalRecord.objects.filter(
            request_id=pk, actor__username=username, decision="approve"
        ).exists()
    figures["approvals"] = {"posted": len(spec.get("approvals", [])), "kept": kept}
    render_ids = {j.args[0] for j in jobs if j.name == "documents.render_request"}
    figures["documents"] = {
        "requests": len(render_ids),
        "with_pdf": RequestDocument.objects.filter(request_id__in=render_ids)
        .values("request_id")
        .distinct()
        .count(),
    }
    return figures


CHILDREN: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "setup": child_setup,
    "queue": child_queue,
    "audit": child_audit,
}


# --- the parent: processes ---


def unique_copy(xlsx: bytes, serial: int) -> bytes:
    """The workbook with its marker replaced by `serial`: the same roster, other bytes."""
    stamp = f"FAULT-{serial:06d}".encode()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(info, source.read(info.filename).replace(MARKER, stamp))
    return out.getvalue()


def run(cmd: list[str], env: dict[str, str], timeout: float = 900) -> str:
    return run_checked(cmd, env, cwd=ROOT, timeout=timeout)


def child(kind: str, spec: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    out = run([sys.executable, str(Path(__file__).resolve()), "child", kind, json.dumps(spec)], env)
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def redis_ping(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def wait_for(check: Callable[[], bool], seconds: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return False


def _backend(pid: str) -> bytes:
    """A PostgreSQL backend's title names its database ("postgres: … faults_db …")."""
    title = Path(f"/proc/{pid}/cmdline").read_bytes()
    return title if title.startswith(b"postgres: ") else b""


class Stack:
    """redis-server, gunicorn and the worker, each in a process group of its own."""

    def __init__(self, work: Path, env: dict[str, str], redis_port: int, web_port: int) -> None:
        self.work, self.env, self.redis_port, self.web_port = work, env, redis_port, web_port
        self.db_name = " " + urlsplit(env["DATABASE_URL"]).path.lstrip("/") + " "
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.frozen = False
        self.worker_starts = 0

    def spawn(self, name: str, cmd: list[str]) -> subprocess.Popen[bytes]:
        log = (self.work / f"{name}.log").open("ab")
        try:
            proc = subprocess.Popen(
                cmd,
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()
        self.procs[name] = proc
        return proc

    def log(self, name: str) -> str:
        path = self.work / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def redis_start(self) -> float:
        """Start (or thaw) the broker; the time it answers PING again."""
        if self.frozen:
            os.kill(self.procs["redis"].pid, signal.SIGCONT)
            self.frozen = False
        else:
            data = self.work / "redis"
            data.mkdir(exist_ok=True)
            self.spawn(
                "redis",
                [
                    "redis-server",
                    "--port",
                    str(self.redis_port),
                    "--bind",
                    "127.0.0.1",
                    "--dir",
                    str(data),
                    "--save",
                    "3600 1 300 100 60 10000",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "no",
                    "--loglevel",
                    "warning",
                ],
            )
        if not wait_for(lambda: redis_ping(self.redis_port), 20, 0.02):
            raise SystemExit(f"redis-server did not answer:\n{self.log('redis')[-2000:]}")
        return time.time()

    def redis_stop(self, mode: str) -> float:
        """Shut the broker down as an operator would (SIGTERM: it saves its data and exits), or
        freeze it (SIGSTOP: connections stay open and nothing answers)."""
        proc = self.procs["redis"]
        at = time.time()
        if mode == "freeze":
            os.kill(proc.pid, signal.SIGSTOP)
            self.frozen = True
        else:
            proc.terminate()
            proc.wait(timeout=30)
        return at

    def gunicorn_start(self) -> None:
        self.spawn(
            "gunicorn",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "bulu.wsgi:application",
                "--workers",
                str(GUNICORN_WORKERS),
                "--bind",
                f"127.0.0.1:{self.web_port}",
                "--timeout",
                "60",
                "--log-level",
                "warning",
            ],
        )

        def up() -> bool:
            import requests

            try:
                return requests.get(self.url("/login/"), timeout=5).status_code == 200
            except requests.RequestException:
                return False

        if not wait_for(up, 60, 0.3):
            raise SystemExit(f"gunicorn did not answer:\n{self.log('gunicorn')[-3000:]}")

    def worker_start(self) -> float:
        """Start `celery -A bulu worker -B`; the time it says it is ready."""
        before = self.log("worker").count(" ready.")
        started = time.time()
        self.spawn(
            "worker",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "bulu",
                "worker",
                "-B",
                "--concurrency",
                str(WORKER_CONCURRENCY),
                "--loglevel",
                "info",
                "--include",
                "bench.faults_ledger",
                "-s",
                str(self.work / "beat-schedule"),
                "--hostname",
                f"faults{self.worker_starts}@%h",
            ],
        )
        self.worker_starts += 1
        if not wait_for(lambda: self.log("worker").count(" ready.") > before, 60, 0.1):
            raise SystemExit(f"the worker did not start:\n{self.log('worker')[-3000:]}")
        return time.time() - started

    def worker_supervise(self, when: str) -> str:
        """Start the worker again if it exited, as a supervisor would; what happened."""
        proc = self.procs["worker"]
        if proc.poll() is None:
            return ""
        crash = [ln for ln in self.log("worker").splitlines() if "Unrecoverable error" in ln]
        self.worker_start()
        return f"the worker exited {when} (code {proc.returncode}; {crash[-1:]}); started again"

    def worker_kill(self) -> None:
        proc = self.procs["worker"]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def cpu_seconds(self) -> float:
        """CPU time used so far by this stack: its process groups, their PostgreSQL backends
        and this process (the clients) with the children it waited for."""
        groups = {p.pid for p in self.procs.values()}
        ticks = 0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                ours = int(stat[2]) in groups or self.db_name.encode() in _backend(entry)
            except (OSError, IndexError, ValueError):
                continue
            if ours:
                ticks += int(stat[11]) + int(stat[12])
        return ticks / os.sysconf("SC_CLK_TCK") + own_cpu_s()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.web_port}{path}"

    def close(self) -> None:
        if self.frozen and "redis" in self.procs:
            os.kill(self.procs["redis"].pid, signal.SIGCONT)
        for proc in reversed(list(self.procs.values())):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


class Database:
    """The parent's own look at the job table (psycopg2; no Django in this process)."""

    def __init__(self, url: str) -> None:
        import psycopg2

        parts = urlsplit(url)
        self.conn = psycopg2.connect(
            dbname=parts.path.lstrip("/"),
            user=parts.username or None,
            password=parts.password or None,
            host=parts.hostname or None,
            port=parts.port or None,
        )
        self.conn.autocommit = True

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with self.conn.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall())

    def last_job(self) -> int:
        return int(self.rows("SELECT coalesce(max(id), 0) FROM jobs_job")[0][0])

    def live(self, since: int) -> int:
        return int(
            self.rows(
                "SELECT count(*) FROM jobs_job WHERE id > %s AND state IN ('pending', 'running')",
                since,
            )[0][0]
        )

    def jobs(self, ids: list[int]) -> dict[int, tuple[str, int, float | None]]:
        """id → (state, attempts, finished at as a Unix time)."""
        if not ids:
            return {}
        found = self.rows(
            "SELECT id, state, attempts, extract(epoch FROM finished_at) FROM jobs_job"
            " WHERE id = ANY(%s)",
            list(ids),
        )
        return {r[0]: (r[1], r[2], float(r[3]) if r[3] is not None else None) for r in found}

    def close(self) -> None:
        self.conn.close()


def database_fresh(url: str) -> None:
    """Drop and create the scratch database (it must not be the project's own)."""
    import psycopg2
    from psycopg2 import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    conn = psycopg2.connect(
        dbname="postgres",
        user=parts.username or None,
        password=parts.password or None,
        host=parts.hostname or None,
        port=parts.port or None,
    )
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        conn.close()


class Ledger:
    """bench/faults_ledger.py's lines, read as they come."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset = path, 0
        self.running: dict[int, int] = {}  # job → pool process running a delivery of it
        self.pool: set[int] = set()
        self.ends: Counter[tuple[int, str]] = Counter()

    def poll(self) -> None:
        if not self.path.exists():
            return
        with self.path.open("rb") as f:
            f.seek(self.offset)
            chunk = f.read()
        end = chunk.rfind(b"\n") + 1
        self.offset += end
        for line in chunk[:end].decode().splitlines():
            parts = line.split()
            if parts[0] == "pool":
                self.pool.add(int(parts[1]))
            elif parts[0] == "start":
                self.running[int(parts[2])] = int(parts[1])
            elif parts[0] == "end":
                self.running.pop(int(parts[2]), None)
                self.ends[(int(parts[2]), parts[3])] += 1

    def forget(self, pids: set[int]) -> None:
        """Processes killed: what they were running never ends."""
        self.running = {j: p for j, p in self.running.items() if p not in pids}

    def done_twice(self, since: int) -> int:
        return sum(
            1 for (job, what), n in self.ends.items() if job > since and what == "done" and n > 1
        )

    def skipped(self, since: int) -> int:
        return sum(n for (job, what), n in self.ends.items() if job > since and what == "skipped")


# --- the parent: clients ---


@dataclass
class Hit:
    at: float  # Unix time the request was sent
    seconds: float
    status: int  # 0: no answer (connection error or timeout)
    what: str
    user: str
    note: str = ""


@dataclass
class Record:
    """What the clients did and saw during one trial."""

    hits: list[Hit] = field(default_factory=list)
    uploads: list[tuple[int, float, bool]] = field(default_factory=list)  # (id, at, said 排队中)
    approvals: list[tuple[int, str, float]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Client(threading.Thread, ABC):
    def __init__(self, stack: Stack, record: Record, username: str, stop: threading.Event) -> None:
        super().__init__(daemon=True, name=username)
        import requests

        self.stack, self.record, self.username, self.stop = stack, record, username, stop
        self.session = requests.Session()
        self.rng = random.Random(username)
        self.failure: str = ""
        self.ready = threading.Event()  # set once the login was tried

    def call(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        import requests

        at, started = time.time(), time.perf_counter()
        try:
            response = self.session.request(
                method, self.stack.url(path), allow_redirects=False, timeout=60, **kwargs
            )
        except requests.RequestException as exc:
            hit = Hit(at, time.perf_counter() - started, 0, what, self.username, type(exc).__name__)
            with self.record.lock:
                self.record.hits.append(hit)
            return None
        hit = Hit(at, time.perf_counter() - started, response.status_code, what, self.username)
        with self.record.lock:
            self.record.hits.append(hit)
        return response

    def get_following(self, path: str, what: str) -> Any:
        response = self.call("GET", path, what)
        for _hop in range(3):
            if response is None or response.status_code not in (301, 302):
                break
            response = self.call("GET", response.headers["Location"], what)
        return response

    def login(self) -> bool:
        page = self.call("GET", "/login/", "login page")
        token = CSRF.search(page.text) if page is not None else None
        if token is None:
            return False
        answer = self.call(
            "POST",
            "/login/",
            "login",
            data={"csrfmiddlewaretoken": token[1], "username": self.username, "password": PASSWORD},
        )
        return answer is not None and answer.status_code == 302

    def think(self) -> None:
        self.stop.wait(self.rng.uniform(3.0, 6.0))

    def run(self) -> None:
        try:
            logged_in = self.login()
            self.ready.set()
            if not logged_in:
                self.failure = "login failed"
                return
            while not self.stop.is_set():
                self.step()
                self.think()
        except Exception as exc:  # a client bug must not hang the trial; it is reported
            self.failure = f"{type(exc).__name__}: {exc}"
        finally:
            self.ready.set()

    @abstractmethod
    def step(self) -> None:
        """One action of this kind of user (an upload, an approval)."""


class Uploader(Client):
    """A student applicant: opens the roster page, uploads, watches the result come."""

    serial = iter(range(1, 10**6))
    serial_lock = threading.Lock()

    def __init__(self, *args: Any, roster: bytes) -> None:
        super().__init__(*args)
        self.roster = roster

    def step(self) -> None:
        page = self.call("GET", "/imports/roster/", "roster page")
        token = CSRF.search(page.text) if page is not None else None
        if token is None:
            return
        with Uploader.serial_lock:
            n = next(Uploader.serial)
        at = time.time()
        answer = self.call(
            "POST",
            "/imports/roster/",
            "roster upload",
            data={"csrfmiddlewaretoken": token[1]},
            files={"file": (f"名单{n}.xlsx", unique_copy(self.roster, n), XLSX)},
        )
        if answer is None or answer.status_code != 302:
            return
        location = answer.headers["Location"]
        upload = int(location.rstrip("/").rsplit("/", 1)[1])
        detail = self.call("GET", location, "roster result page")
        queued = detail is not None and "排队中" in detail.text
        with self.record.lock:
            self.record.uploads.append((upload, at, queued))
        for _poll in range(3):  # the page polls its status fragment (htmx) while it waits
            if self.stop.wait(1.0):
                return
            self.call(
                "GET", f"{location}status/", "roster status poll", headers={"HX-Request": "true"}
            )


class Approver(Client):
    """A counselor or branch secretary: 我的待办, open a request, approve it."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.tried: set[int] = set()

    def step(self) -> None:
        todo = self.call("GET", "/flow/todo/", "我的待办")
        if todo is None or todo.status_code != 200:
            return
        ids = [int(pk) for pk in DETAIL_LINK.findall(todo.text) if int(pk) not in self.tried]
        if not ids:
            return
        pk = ids[-1]  # the oldest on the page
        self.tried.add(pk)
        page = self.get_following(f"/flow/requests/{pk}/", "request page")
        form = DECIDE_FORM.search(page.text) if page is not None else None
        if form is None:
            return
        fields: dict[str, str] = {}
        for tag in INPUT.findall(form[2]):
            attrs = dict(ATTR.findall(tag))
            if attrs.get("type") == "hidden" and "name" in attrs:
                fields[attrs["name"]] = html.unescape(attrs.get("value", ""))
        at = time.time()
        answer = self.call(
            "POST",
            html.unescape(form[1]),
            "approve",
            data={**fields, "decision": "approve", "opinion": "情况属实，同意。"},
        )
        if answer is not None and answer.status_code == 302:
            with self.record.lock:
                self.record.approvals.append((pk, self.username, at))
            self.call("GET", answer.headers["Location"], "我的待办 (after)")
        elif answer is not None:
            with self.record.lock:
                self.record.refused.append(f"{self.username} #{pk}: {answer.status_code}")


# --- the trials ---


@dataclass
class Options:
    before: float
    outage: float
    after: float
    mode: str
    kills: int
    drain: float
    b_rosters: int
    b_renders: int


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def hit_figures(hits: list[Hit], busy: float | None = None) -> dict[str, Any]:
    """Response times and statuses of a phase; `busy`: the share of the machine's cores in use."""
    seconds = [h.seconds for h in hits]
    slow = sorted(hits, key=lambda h: -h.seconds)[:3]
    pages: dict[str, list[float]] = {}
    for h in hits:
        pages.setdefault(h.what, []).append(h.seconds)
    return {
        "busy": busy,
        "pages": {
            what: [len(v), percentile(v, 0.5), percentile(v, 0.95), max(v)]
            for what, v in sorted(pages.items())
        },
        "requests": len(hits),
        "max_s": max(seconds, default=0.0),
        "p95_s": percentile(seconds, 0.95),
        "p50_s": percentile(seconds, 0.5),
        "over_target": sum(s >= TARGET_SECONDS for s in seconds),
        "status": dict(Counter(str(h.status) for h in hits)),
        "server_errors": sum(h.status >= 500 or h.status == 0 for h in hits),
        "slowest": [f"{h.what} {h.seconds:.2f} s ({h.status})" for h in slow],
    }


def drain(db: Database, since: int, seconds: float) -> float | None:
    """Wait until no job after `since` is pending or running; when that was (None: timeout)."""
    if wait_for(lambda: db.live(since) == 0, seconds, 0.25):
        return time.time()
    return None


def trial_a(stack: Stack, db: Database, opts: Options, rosters: bytes, env: dict[str, str]) -> Any:
    since = db.last_job()
    record = Record()
    stop = threading.Event()
    clients: list[Client] = [
        *(Uploader(stack, record, u, stop, roster=rosters) for u in UPLOADERS),
        *(Approver(stack, record, u, stop) for u in (*COUNSELORS, *SECRETARIES)),
    ]
    for c in clients:  # people arrive one by one, not all in the same instant
        c.start()
        time.sleep(0.3)
    for c in clients:
        c.ready.wait(60)
    begun = time.time()  # the logins are over: the figures count from here
    busy: dict[str, float] = {}
    busy_at: dict[str, float] = {}
    mine: dict[str, float] = {}

    def snapshot(key: str) -> None:
        busy[key], busy_at[key], mine[key] = (
            machine_busy_s() or 0.0,
            time.time(),
            stack.cpu_seconds(),
        )

    snapshot("begun")
    time.sleep(opts.before)
    snapshot("down")
    down = stack.redis_stop(opts.mode)
    print(f"  broker {'frozen' if opts.mode == 'freeze' else 'stopped'}", flush=True)
    time.sleep(opts.outage)
    exits = [stack.worker_supervise("during the outage")]
    up = stack.redis_start()
    snapshot("up")
    print(f"  broker back after {up - down:.1f} s", flush=True)
    time.sleep(opts.after)
    snapshot("stopped")
    stop.set()
    for c in clients:
        c.join(timeout=90)
    ended = time.time()
    exits.append(stack.worker_supervise("after the outage"))
    drained = drain(db, since, opts.drain)
    audit = child(
        "audit",
        {
            "since": since,
            "up": up,
            "mails": str(stack.work / "mails"),
            "uploads": [u[0] for u in record.uploads],
            "approvals": [[pk, user] for pk, user, _at in record.approvals],
        },
        env,
    )

    def phase(start: float, end: float, cpu: tuple[str, str]) -> dict[str, Any]:
        seconds = busy_at[cpu[1]] - busy_at[cpu[0]]
        machine = busy[cpu[1]] - busy[cpu[0]]
        figures = hit_figures(
            [h for h in record.hits if start <= h.at < end],
            machine / (seconds * (os.cpu_count() or 1)),
        )
        figures["others_cores"] = (machine - (mine[cpu[1]] - mine[cpu[0]])) / seconds
        return figures

    logins = [h.seconds for h in record.hits if h.what == "login"]
    return {
        "down_s": up - down,
        "before": phase(begun, down, ("begun", "down")),
        "during": phase(down, up, ("down", "up")),
        "after": phase(up, ended, ("up", "stopped")),
        "uploads_during": sum(1 for _pk, at, _q in record.uploads if down <= at <= up),
        "queued_shown_during": sum(1 for _pk, at, q in record.uploads if down <= at <= up and q),
        "approvals_during": sum(1 for _pk, _u, at in record.approvals if down <= at <= up),
        "refused": record.refused[:10],
        "client_failures": [f"{c.username}: {c.failure}" for c in clients if c.failure],
        "worker_exits": [e for e in exits if e],
        "login_max_s": max(logins, default=0.0),
        "drained_s": (drained - up) if drained else None,
        "stopped_clients_s": ended - up,
        "audit": audit,
    }


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _victims(ledger: Ledger, hit: Counter[int], mode: str) -> dict[int, int] | None:
    """Jobs to kill now (job → pid), or None: nothing suitable is running."""
    ledger.poll()
    running = {j: p for j, p in ledger.running.items() if _alive(p)}
    if not running or any(hit[j] for j in running):
        fresh = {j: p for j, p in running.items() if not hit[j]}
        if mode == "child" and fresh:
            job, pid = next(iter(fresh.items()))
            return {job: pid}
        return None
    if mode == "child":
        job, pid = next(iter(running.items()))
        return {job: pid}
    return running


def kill_once(
    stack: Stack, ledger: Ledger, hit: Counter[int], mode: str, rng: random.Random
) -> Any:
    """Wait for a delivery to be running, let it run a little, kill it."""
    deadline = time.monotonic() + 12
    while time.monotonic() < deadline:
        victims = _victims(ledger, hit, mode)
        if victims:
            time.sleep(rng.uniform(0.05, 0.5))  # somewhere inside the run, not at its start
            ledger.poll()
            victims = {j: p for j, p in victims.items() if ledger.running.get(j) == p}
            if victims:
                break
        time.sleep(0.02)
    else:
        return None
    at = time.time()
    if mode == "child":
        for pid in set(victims.values()):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:  # it ended its job and was replaced meanwhile
                return None
        ledger.forget(set(victims.values()))
        restart = 0.0
    else:
        stack.worker_kill()
        ledger.poll()  # every delivery started before the kill died with it
        victims = dict(ledger.running)
        ledger.running.clear()
        restart = stack.worker_start()
    for job in victims:
        hit[job] += 1
    return {"at": at, "mode": mode, "jobs": sorted(victims), "restart_s": restart}


def trial_b(
    stack: Stack, db: Database, opts: Options, ledger: Ledger, env: dict[str, str], serial: int
) -> Any:
    exited = stack.worker_supervise("before the trial")
    since = db.last_job()

    def queue(n: int) -> dict[str, Any]:
        spec = {
            "big": str(stack.work / "rosters" / "big.xlsx"),
            "rosters": opts.b_rosters,
            "renders": opts.b_renders,
            "serial": serial + 1000 * n,
        }
        return child("queue", spec, env)

    queued = [queue(0)]
    rng = random.Random(serial)
    hit: Counter[int] = Counter()
    kills: list[dict[str, Any]] = []
    while len(kills) < opts.kills and len(queued) <= 5:
        kill = kill_once(stack, ledger, hit, "child" if len(kills) % 2 == 0 else "worker", rng)
        if kill is None:  # the queue ran dry (a fast machine): more work, then go on
            queued.append(queue(len(queued)))
            continue
        print(f"  kill {len(kills) + 1}: {kill['mode']}, job(s) {kill['jobs']}", flush=True)
        kills.append(kill)
        time.sleep(rng.uniform(1.0, 3.0))
    drained = drain(db, since, opts.drain)
    ledger.poll()
    states = db.jobs(sorted({j for k in kills for j in k["jobs"]}))
    for kill in kills:
        ends = [e for j in kill["jobs"] if j in states and (e := states[j][2]) is not None]
        kill["recover_s"] = max(ends) - kill["at"] if len(ends) == len(kill["jobs"]) else None
        kill["states"] = [f"{states[j][0]}/{states[j][1]}" for j in kill["jobs"] if j in states]
    audit = child("audit", {"since": since, "mails": str(stack.work / "mails")}, env)
    return {
        "queued": {
            "rosters": sum(q["rosters"] for q in queued),
            "renders": sum(q["renders"] for q in queued),
            "batches": len(queued),
        },
        "kills": kills,
        "drained_s": (drained - kills[-1]["at"]) if drained and kills else None,
        "worker_exits": [e for e in (exited, stack.worker_supervise("during the trial")) if e],
        "done_twice": ledger.done_twice(since),
        "skipped": ledger.skipped(since),
        "audit": audit,
    }


# --- report ---


def _med(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}" if values else "–"


def _max(values: list[float]) -> str:
    return f"{max(values):.2f}" if values else "–"


def _phase_cell(f: dict[str, Any]) -> str:
    busy = f" · {f['busy']:.0%} / {f['others_cores']:.1f}" if f.get("busy") is not None else ""
    return f"{f['max_s']:.2f} ({f['p95_s']:.2f}){busy}"


def render_a(runs: list[dict[str, Any]], o: dict[str, Any], meta: str) -> list[str]:
    frozen = o["mode"] == "freeze"
    lines = [
        f"### A{'2' if frozen else ''}. Broker"
        f" {'frozen (SIGSTOP)' if frozen else 'shut down (SIGTERM)'} for {o['outage']:g} s"
        " while students upload and counselors approve",
        "",
        meta,
        "",
        f"{len(UPLOADERS)} student applicants upload rosters (each a fresh copy of a"
        f" {ROSTER_ROWS}-row roster) and poll their page; {len(COUNSELORS)} counselors and"
        f" {len(SECRETARIES)} branch secretaries open 我的待办, open a request and approve it;"
        " every client thinks 3–6 s between actions. Every approval queues a PDF render and"
        " e-mails, every upload a validation. The clients log in one by one first (not counted"
        f" below); then the broker runs {o['before']:g} s (*before*), is down {o['outage']:g} s"
        f" (*during*), and runs again while the clients go on {o['after']:g} s (*after*). Cells:"
        " slowest response (p95) in seconds · the machine's CPU busy / cores used by other"
        " processes than the trial's (other work on a shared machine). *Recover* = from the"
        " broker's return to the last job created before it done.",
        "",
        "| run | requests before / during / after | before | during the outage | after"
        " | ≥ 2 s (during) | 5xx or no answer | uploads during (排队中 shown) | approvals"
        " during | jobs created / done / failed / left | rosters validated once | e-mails: jobs"
        " / sent / missing / twice | approvals kept | recover (s) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for i, r in enumerate(runs, start=1):
        phases = [r["before"], r["during"], r["after"]]
        a, m, ro = r["audit"], r["audit"]["mail"], r["audit"]["rosters"]
        lines.append(
            f"| {i} | {' / '.join(str(f['requests']) for f in phases)} |"
            f" {' | '.join(_phase_cell(f) for f in phases)} |"
            f" {sum(f['over_target'] for f in phases)} ({r['during']['over_target']}) |"
            f" {sum(f['server_errors'] for f in phases)} |"
            f" {r['uploads_during']} ({r['queued_shown_during']}) | {r['approvals_during']} |"
            f" {a['created']} / {a['done']} / {a['failed']} / {a['left']} |"
            f" {ro['once']} of {ro['uploaded']} |"
            f" {m['jobs']} / {m['sent']} / {m['missing']} / {m['twice']} |"
            f" {a['approvals']['kept']} of {a['approvals']['posted']} | {a['recover_s']:.1f} |"
        )
    recover = [r["audit"]["recover_s"] for r in runs]
    lines += [
        "",
        "Median / max over the runs — slowest response during the outage"
        f" {_med([r['during']['max_s'] for r in runs])} /"
        f" {_max([r['during']['max_s'] for r in runs])} s, p95 during the outage"
        f" {_med([r['during']['p95_s'] for r in runs])} /"
        f" {_max([r['during']['p95_s'] for r in runs])} s; slowest response with the broker up"
        f" {_med([max(r['before']['max_s'], r['after']['max_s']) for r in runs])} /"
        f" {_max([max(r['before']['max_s'], r['after']['max_s']) for r in runs])} s; time to"
        f" recover {_med(recover)} / {_max(recover)} s; slowest login (before the window)"
        f" {_max([r['login_max_s'] for r in runs])} s.",
        "",
        "Per page, all runs (p95 / slowest, s):",
        "",
        "| page | before | during the outage | after |",
        "|---|---:|---:|---:|",
        *_page_rows(runs),
    ]
    return lines


def _page_rows(runs: list[dict[str, Any]]) -> list[str]:
    """p95 and max per page and phase, pooled over the runs (the medians of the per-run p95s)."""
    names = sorted({w for r in runs for f in ("before", "during", "after") for w in r[f]["pages"]})
    rows = []
    for name in names:
        cells = []
        for f in ("before", "during", "after"):
            seen = [r[f]["pages"][name] for r in runs if name in r[f]["pages"]]
            cells.append(
                f"{_med([v[2] for v in seen])} / {_max([v[3] for v in seen])}" if seen else "–"
            )
        rows.append(f"| {name} | {' | '.join(cells)} |")
    return rows


def render_b(runs: list[dict[str, Any]], o: dict[str, Any], meta: str) -> list[str]:
    lines = [
        f"### B. Worker killed (SIGKILL) {o['kills']} times while rosters and PDFs are worked on",
        "",
        meta,
        "",
        f"Each run queues {o['b_rosters']} rosters of 19,000 rows (every row faulty: judged, then"
        f" the annotated copy written) and {o['b_renders']} PDF renders (as many again whenever"
        " nothing is left to kill: *batches*), and kills a running"
        f" delivery {o['kills']} times, 1–3 s apart: odd kills the pool process running it"
        " (as the OOM killer would), even kills the whole worker (main process, beat and pool;"
        " started again at once). *Recover* = from the kill to the killed job done.",
        "",
        "| run | batches | kills (pool / whole) | whole worker back in (s) | jobs created / done"
        " / failed / left | done twice | redeliveries skipped | recover per kill: median / max"
        " (s) | killed jobs: state/attempts |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for i, r in enumerate(runs, start=1):
        a = r["audit"]
        rec = [k["recover_s"] for k in r["kills"] if k["recover_s"] is not None]
        pending = sum(1 for k in r["kills"] if k["recover_s"] is None)
        modes = Counter(k["mode"] for k in r["kills"])
        attempts = Counter(s for k in r["kills"] for s in k["states"])
        back = [k["restart_s"] for k in r["kills"] if k["mode"] == "worker"]
        lines.append(
            f"| {i} | {r['queued'].get('batches', 1)} |"
            f" {len(r['kills'])} ({modes['child']} / {modes['worker']}) | {_max(back)} |"
            f" {a['created']} / {a['done']} / {a['failed']} / {a['left']} |"
            f" {r['done_twice']} | {r['skipped']} | {_med(rec)} / {_max(rec)}"
            + (f" ({pending} not recovered)" if pending else "")
            + f" | {', '.join(f'{k} ×{n}' for k, n in sorted(attempts.items()))} |"
        )
    every = [k["recover_s"] for r in runs for k in r["kills"] if k["recover_s"] is not None]
    lines += [
        "",
        f"Over all {sum(len(r['kills']) for r in runs)} kills: time to recover median"
        f" {_med(every)} s, max {_max(every)} s (the sweeper's schedule: a heart silent for"
        " BULU_JOB_STALE_SECONDS = 45 s, found by a sweep every 20 s, queued again after"
        " BULU_JOB_RETRY_SECONDS × attempts = 20 s, handed over by the next sweep).",
    ]
    return lines


def _meta(m: dict[str, Any]) -> str:
    return (
        f"Measured {m['date']} at commit `{m['commit']}` on {m['machine']}, by `{m['command']}`"
        f" ({m['minutes']:.1f} minutes in all); PostgreSQL {m['postgres']}, redis-server"
        f" {m['redis']}."
    )


def render(stored: dict[str, Any]) -> str:
    lines = [
        SECTION,
        "",
        "`make bench-faults` (bench/faults.py; not part of `make test` or `make bench`), on a"
        " scratch PostgreSQL database (BENCH_DATABASE_URL, dropped and made afresh: `migrate`,"
        " `seed_demo --force`, pending personal requests filed through the services) with a"
        f" redis-server of its own; gunicorn ({GUNICORN_WORKERS} sync workers, `bulu.wsgi`,"
        " DEBUG=0, plain HTTP on loopback) and `celery -A bulu worker -B --concurrency"
        f" {WORKER_CONCURRENCY}` on the same machine as the clients (threads doing real HTTP"
        " through the login form, CSRF and all). Production settings otherwise: the BULU_JOB_*"
        " defaults (sweep every 20 s, heart stale after 45 s, retry after 20 s × attempts, 3"
        " attempts). E-mail goes to Django's file backend and is counted against the e-mail"
        " jobs; *rosters validated once* = uploads whose validation was claimed exactly once"
        " (RosterUpload.attempts); *done twice* = a job whose delivery returned `done` more than"
        " once (bench/faults_ledger.py). Raw figures: var/bench-faults-*.json.",
        "",
    ]
    notes: list[str] = []
    for mode in ("stop", "freeze"):
        if mode in stored:
            kept = stored[mode]
            lines += [*render_a(kept["runs"], kept["opts"], _meta(kept["meta"])), ""]
            notes += _notes(f"A{'2' if mode == 'freeze' else ''}", kept["runs"], _a_problems)
            notes += kept.get("notes", [])
    if "kill" in stored:
        kept = stored["kill"]
        lines += [*render_b(kept["runs"], kept["opts"], _meta(kept["meta"])), ""]
        notes += _notes("B", kept["runs"], _b_problems)
        notes += kept.get("notes", [])
    lines += ["Notes (written by the script from the figures):", "", *(f"- {n}" for n in notes)]
    data = json.dumps(stored, ensure_ascii=False, separators=(",", ":"))
    return "\n".join([*lines, "", DATA_MARK + data + " -->", ""])


def previous(out: Path) -> dict[str, Any]:
    """The figures an earlier run stored in the section (its other trials are kept)."""
    text = out.read_text(encoding="utf-8") if out.exists() else ""
    start = text.find(DATA_MARK)
    if start < 0:
        return {}
    end = text.find(" -->", start)
    found: dict[str, Any] = json.loads(text[start + len(DATA_MARK) : end])
    return found


def _a_problems(r: dict[str, Any]) -> list[str]:
    a = r["audit"]
    problems = []
    phases = {"before": r["before"], "during the outage": r["during"], "after": r["after"]}
    for name, f in phases.items():
        if f["over_target"]:
            problems.append(
                f"{f['over_target']} responses ≥ 2 s {name} (slowest:"
                f" {', '.join(f['slowest'])}; CPU {f['busy']:.0%} busy, other processes"
                f" {f['others_cores']:.1f} cores)"
            )
        if f["server_errors"]:
            problems.append(f"5xx or no answer {name}: {f['status']}")
    if a["failed"] or a["left"]:
        problems.append(f"jobs failed {a['failed']}, left {a['left']}: {a['failed_errors']}")
    if a["mail"]["missing"] or a["mail"]["twice"]:
        problems.append(f"e-mail: {a['mail']}")
    if a["rosters"]["more"] or a["rosters"]["validated"] != a["rosters"]["uploaded"]:
        problems.append(f"rosters: {a['rosters']}")
    if a["approvals"]["kept"] != a["approvals"]["posted"]:
        problems.append(f"approvals: {a['approvals']}")
    if r["worker_exits"]:
        problems.append("; ".join(r["worker_exits"]))
    if r["client_failures"] or r["refused"]:
        problems.append(f"clients: {r['client_failures']} {r['refused']}")
    if r["login_max_s"] >= TARGET_SECONDS:
        problems.append(
            f"a login took {r['login_max_s']:.2f} s (before the measured window: "
            f"{len(UPLOADERS) + len(COUNSELORS) + len(SECRETARIES)} logins 0.3 s apart, each"
            " a PBKDF2 hash at Django's default iterations; the broker plays no part)"
        )
    return problems


def _b_problems(r: dict[str, Any]) -> list[str]:
    a = r["audit"]
    problems = []
    if a["failed"] or a["left"]:
        problems.append(f"jobs failed {a['failed']}, left {a['left']}: {a['failed_errors']}")
    if r["worker_exits"]:
        problems.append("; ".join(r["worker_exits"]))
    if r["done_twice"]:
        problems.append(f"{r['done_twice']} jobs done twice")
    late = [k for k in r["kills"] if k["recover_s"] is None]
    if late:
        problems.append(f"kills not recovered in time: {late}")
    return problems


def _notes(
    name: str, runs: list[dict[str, Any]], check: Callable[[dict[str, Any]], list[str]]
) -> list[str]:
    out = []
    for i, r in enumerate(runs, start=1):
        problems = check(r)
        out.append(f"{name} run {i}: " + ("; ".join(problems) if problems else "nothing failed."))
    return out


# --- main ---


def environment(db: str, work: Path, redis_port: int, web_port: int) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bulu.settings",
        "PYTHONPATH": str(ROOT),
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": db,
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        # Plain HTTP on loopback: no HTTPS redirect, no secure-only cookies.
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "SECURE_HSTS_SECONDS": "0",
        "MEDIA_ROOT": str(work / "media"),
        "STATIC_ROOT": str(work / "static"),
        "EMAIL_URL": f"filemail:///{work / 'mails'}",
        "BULU_PUBLIC_URL": f"http://127.0.0.1:{web_port}",
        "BENCH_FAULTS_LEDGER": str(work / "ledger.txt"),
        "LOG_LEVEL": "WARNING",
    }


def prepare(env: dict[str, str], work: Path, args: argparse.Namespace) -> dict[str, Any]:
    eager = {**env, "REDIS_URL": ""}  # the data is built in-process, before the worker exists
    manage = [sys.executable, str(ROOT / "manage.py")]
    run([*manage, "migrate", "--noinput", "-v0"], eager)
    print(run([*manage, "seed_demo", "--force"], eager).strip().splitlines()[0], flush=True)
    run([*manage, "collectstatic", "--noinput", "-v0"], eager)
    (work / "rosters").mkdir()
    return child(
        "setup",
        {
            "per_counselor": args.per_counselor,
            "big_rows": 19_000,
            "dir": str(work / "rosters"),
        },
        eager,
    )


def versions(env: dict[str, str], db: Database) -> dict[str, str]:
    redis = run(["redis-server", "--version"], env).split("v=", 1)[-1].split()[0]
    postgres = str(db.rows("SHOW server_version")[0][0]).split()[0]
    return {"redis": redis, "postgres": postgres}


def _terminated(_signum: int, _frame: Any) -> None:
    raise SystemExit("terminated")  # the finally blocks stop every process started


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs-a", type=int, default=3)
    parser.add_argument("--runs-b", type=int, default=2)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--outage", choices=("stop", "freeze"), default="stop")
    parser.add_argument("--before", type=float, default=15)
    parser.add_argument("--outage-seconds", type=float, default=60)
    parser.add_argument("--after", type=float, default=30)
    parser.add_argument("--drain", type=float, default=300, help="longest wait for the jobs")
    parser.add_argument("--per-counselor", type=int, default=70)
    parser.add_argument("--b-rosters", type=int, default=8)
    parser.add_argument("--b-renders", type=int, default=30)
    parser.add_argument("--out", default=str(ROOT / "docs" / "reliability.md"))
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument(
        "--render-only", action="store_true", help="rewrite the section from its stored figures"
    )
    return parser.parse_args()


def trials(stack: Stack, args: argparse.Namespace, opts: Options) -> dict[str, Any]:
    """Build the data, start the app, run the trials; what they measured."""
    env, work = stack.env, stack.work
    found: dict[str, Any] = {"a": [], "b": [], "notes": []}
    stack.redis_start()
    print("preparing the data", flush=True)
    found["setup"] = prepare(env, work, args)
    print(f"  {found['setup']}", flush=True)
    db = Database(env["DATABASE_URL"])
    try:
        stack.gunicorn_start()
        stack.worker_start()
        small = (work / "rosters" / "small.xlsx").read_bytes()
        ledger = Ledger(work / "ledger.txt")
        runs: list[tuple[str, Callable[[int], Any]]] = [
            *(("a", lambda _n: trial_a(stack, db, opts, small, env)) for _ in range(args.runs_a)),
            *(
                ("b", lambda n: trial_b(stack, db, opts, ledger, env, 100_000 * (n + 1)))
                for _ in range(args.runs_b)
            ),
        ]
        for trial, run_once in runs:
            n = len(found[trial])
            print(f"trial {trial.upper()}, run {n + 1}", flush=True)
            try:
                found[trial].append(run_once(n))
            except Exception as exc:  # the other runs still count; this one is reported
                found["notes"].append(f"trial {trial.upper()} run {n + 1} broke off: {exc!r}")
                print(f"  broke off: {exc!r}", flush=True)
                continue
            print(f"  {json.dumps(found[trial][-1], ensure_ascii=False)[:400]}", flush=True)
        found.update(versions(env, db))
    finally:
        db.close()
    errors = stack.log("gunicorn").count("Traceback")
    if errors:
        found["notes"].append(f"gunicorn's log holds {errors} tracebacks (see the work folder).")
    return found


def main() -> None:
    from bench.load.run import commit, machine

    args = arguments()
    if args.render_only:
        write_section(Path(args.out), render(previous(Path(args.out))))
        return
    db_url = os.environ.get("BENCH_DATABASE_URL", "")
    if not db_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("Set BENCH_DATABASE_URL to a scratch PostgreSQL database (it is dropped).")
    if db_url == os.environ.get("DATABASE_URL"):
        raise SystemExit("BENCH_DATABASE_URL must not be the project's DATABASE_URL.")
    opts = Options(
        before=args.before,
        outage=args.outage_seconds,
        after=args.after,
        mode=args.outage,
        kills=args.kills,
        drain=args.drain,
        b_rosters=args.b_rosters,
        b_renders=args.b_renders,
    )
    begun = time.time()
    work = Path(tempfile.mkdtemp(prefix="bulu-faults-"))
    redis_port = int(os.environ.get("BENCH_FAULTS_REDIS_PORT") or free_port())
    web_port = free_port()
    stack = Stack(work, environment(db_url, work, redis_port, web_port), redis_port, web_port)
    database_fresh(db_url)
    print(f"work folder {work}; redis on {redis_port}, web on {web_port}", flush=True)
    signal.signal(signal.SIGTERM, _terminated)
    try:
        found = trials(stack, args, opts)
    finally:
        stack.close()
    meta = {
        "date": date.today().isoformat(),
        "commit": commit(),
        "machine": machine(),
        "minutes": (time.time() - begun) / 60,
        "command": "make bench-faults"
        if len(sys.argv) == 1
        else f"bench/faults.py {' '.join(sys.argv[1:])}",
        "postgres": found["postgres"],
        "redis": found["redis"],
    }
    raw = ROOT / "var" / f"bench-faults-{time.strftime('%Y%m%d-%H%M%S')}.json"
    raw.parent.mkdir(exist_ok=True)
    raw.write_text(json.dumps({"meta": meta, "options": asdict(opts), **found}, indent=1))
    out = Path(args.out)
    stored = previous(out)
    kept = {"meta": meta, "opts": asdict(opts), "notes": found["notes"]}
    if found["a"]:
        stored[opts.mode] = {**kept, "runs": found["a"]}
    if found["b"]:
        stored["kill"] = {**kept, "runs": found["b"]}
    write_section(out, render(stored))
    print(f"wrote {out} (raw figures: {raw})", flush=True)
    if not args.keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        print(json.dumps(CHILDREN[sys.argv[2]](json.loads(sys.argv[3])), default=str))
    else:
        main()
