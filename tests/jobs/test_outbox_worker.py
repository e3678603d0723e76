"""The outbox with a real worker on Redis and PostgreSQL: a killed worker, a broker outage."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bulu.celery import app as celery_app
from bulu.jobs.models import Job
from bulu.jobs.services import job_enqueue, jobs_sweep
from tests.conftest import celery_worker_process
from tests.imports.test_roster_worker import _test_database_url

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.services


def _wait(check: Callable[[], bool], seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def _worker_env(tmp: Any) -> dict[str, str]:
    return {
        "DATABASE_URL": _test_database_url(),
        "MEDIA_ROOT": str(tmp),
        "CONN_MAX_AGE": "0",
        "BULU_JOB_HEARTBEAT_SECONDS": "0.5",
    }


def test_a_job_whose_worker_was_killed_is_done_by_the_next_worker(
    require_postgres: None,
    require_redis: None,
    transactional_db: None,
    settings: Any,
    tmp_path: Path,
) -> None:
    queue = f"jobs-{os.getpid()}-{time.monotonic_ns()}"
    routes: Any = celery_app.conf.task_routes
    celery_app.conf.task_routes = {"jobs.probe": {"queue": queue}}
    settings.BULU_JOB_STALE_SECONDS = 3
    settings.BULU_JOB_RETRY_SECONDS = 0
    try:
        with celery_worker_process(queue, **_worker_env(tmp_path)) as first:
            job = job_enqueue(name="jobs.probe", args=[30])
            assert _wait(lambda: Job.objects.get(pk=job.pk).state == "running"), first
            os.kill(first.pid, signal.SIGKILL)  # SIGKILL: no goodbye, the message stays unacked
            first.wait(timeout=10)
        assert Job.objects.get(pk=job.pk).state == "running"  # what a dead worker leaves
        # The heart stopped: the sweeper (on the beat) takes the job up again.
        assert _wait(lambda: jobs_sweep()["dead"] == 1, seconds=15)
        Job.objects.filter(pk=job.pk).update(args=[0])  # the retry need not sleep again
        with celery_worker_process(queue, **_worker_env(tmp_path)) as second:
            assert _wait(lambda: Job.objects.get(pk=job.pk).state == "done"), second
    finally:
        celery_app.conf.task_routes = routes
    job.refresh_from_db()
    assert (job.state, job.attempts) == ("done", 2)
