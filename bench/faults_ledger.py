"""What the fault trials (bench/faults.py) learn from inside the worker: which pool process runs
which job, and what each delivery returned.

Loaded by `celery -A bulu worker --include bench.faults_ledger` (the app is bulu's own, unchanged):
when BENCH_FAULTS_LEDGER names a file, every pool process appends one line per event to it —
`pool <pid> <time>` when it starts, `start <pid> <job> <time>` before a job's delivery runs and
`end <pid> <job> <returned> <time>` after it (`done`, `skipped` or `failed`, what `job_run`
returned). Each line is one `write` to a file opened with O_APPEND, so processes never interleave
within a line. Without the variable nothing is written.
"""

from __future__ import annotations

import os
import time
from typing import Any

from celery.signals import task_postrun, task_prerun, worker_process_init

PATH = os.environ.get("BENCH_FAULTS_LEDGER", "")


def _write(*fields: object) -> None:
    if not PATH:
        return
    line = " ".join(str(f) for f in (*fields, f"{time.time():.6f}")) + "\n"
    fd = os.open(PATH, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def _job_id(task: Any, args: Any) -> int | None:
    """The job row a delivery is about: outbox tasks take (job_id, token)."""
    if task is None or not args or len(args) != 2 or not isinstance(args[0], int):
        return None
    from bulu.jobs.services import HANDLERS

    return args[0] if task.name in HANDLERS else None


@worker_process_init.connect
def _pool_started(**_kwargs: Any) -> None:
    _write("pool", os.getpid())


@task_prerun.connect
def _started(task: Any = None, args: Any = None, **_kwargs: Any) -> None:
    job = _job_id(task, args)
    if job is not None:
        _write("start", os.getpid(), job)


@task_postrun.connect
def _ended(task: Any = None, args: Any = None, retval: Any = None, **_kwargs: Any) -> None:
    job = _job_id(task, args)
    if job is not None:
        _write("end", os.getpid(), job, str(retval).split()[0] if retval else "none")
