"""The database drops the worker's connections mid-validation: the failure is written on a fresh
connection, the job runs again, and the roster never stays 校验中 (PostgreSQL, Redis, a worker)."""

from __future__ import annotations

import io
import os
import time
from typing import Any

import pytest
from django.db import connection

from bulu.celery import app as celery_app
from bulu.jobs.models import Job
from bulu.jobs.services import jobs_sweep
from imports.models import RosterUpload
from imports.services import roster_upload_create
from imports.tasks import ROSTER_VALIDATE
from tests.conftest import School, celery_worker_process
from tests.imports.conftest import roster_xlsx, row
from tests.imports.test_roster_worker import _test_database_url

ROWS = 6000  # long enough to be caught mid-way (every row has a problem: it is annotated too)


def _terminate_other_backends() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return int(cursor.fetchone()[0])


@pytest.mark.services
def test_a_connection_lost_mid_validation_is_recorded_and_run_again(
    require_postgres: None,
    require_redis: None,
    transactional_db: None,
    school: School,
    registry: dict[str, str],
    settings: Any,
) -> None:
    # This process sweeps, but never takes the run for dead: the worker itself must record its
    # failure (on a fresh connection), or the job stays running and the test fails.
    settings.BULU_JOB_STALE_SECONDS = 3600
    queue = f"roster-dbloss-{os.getpid()}-{time.monotonic_ns()}"
    routes: Any = celery_app.conf.task_routes
    celery_app.conf.task_routes = {ROSTER_VALIDATE: {"queue": queue}}
    data = roster_xlsx([row(活动等级="乡级", 内容=f"第{i}项") for i in range(ROWS)])
    env = {
        "DATABASE_URL": _test_database_url(),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "CONN_MAX_AGE": "60",  # the worker keeps its connection: the one that will be dropped
        "BULU_JOB_RETRY_SECONDS": "0",
    }
    terminated = 0
    seen_running = False
    try:
        with celery_worker_process(queue, **env) as worker:
            upload = roster_upload_create(
                user=school.bob, fileobj=io.BytesIO(data), filename="名单.xlsx"
            )
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and worker.poll() is None:
                upload.refresh_from_db()
                if not terminated and upload.status == "running" and upload.progress >= 10:
                    seen_running = True
                    terminated = _terminate_other_backends()
                if upload.is_finished or upload.status == "failed":
                    break
                if terminated:
                    jobs_sweep()  # the beat's sweeper: hands the recorded retry over
                time.sleep(0.05 if not terminated else 0.5)
    finally:
        celery_app.conf.task_routes = routes
    log = worker.log  # type: ignore[attr-defined]
    assert seen_running and terminated >= 1, log
    upload.refresh_from_db()
    job = Job.objects.get(name=ROSTER_VALIDATE)
    assert upload.status == "done", (upload.status, upload.progress, job.error, log)
    assert upload.data_rows == ROWS and upload.error_count == ROWS
    # Done once, on the second run; the first run's failure was written, not lost.
    assert (job.state, job.attempts) == ("done", 2), (job.error, log)
    assert RosterUpload.objects.filter(status="running").count() == 0
