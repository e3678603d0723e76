"""One roster validated end to end by a real Celery worker, on Redis and PostgreSQL."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from bulu.celery import app as celery_app
from imports.services import roster_upload_create
from tests.conftest import School, celery_worker_process
from tests.imports.conftest import roster_xlsx, row

ROOT = Path(__file__).resolve().parents[2]


def _test_database_url() -> str:
    db = connection.settings_dict
    auth = quote(db["USER"] or "")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"])
    host = db["HOST"] or "127.0.0.1"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{auth}@{host}{port}/{db['NAME']}"


@pytest.mark.services
def test_a_real_worker_validates_an_upload(
    require_postgres: None,
    require_redis: None,
    transactional_db: None,
    school: School,
    registry: dict[str, str],
) -> None:
    queue = f"roster-{os.getpid()}-{time.monotonic_ns()}"
    routes: Any = celery_app.conf.task_routes
    celery_app.conf.task_routes = {"imports.roster_validate": {"queue": queue}}
    worker_env = {
        "DATABASE_URL": _test_database_url(),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "CONN_MAX_AGE": "0",
    }
    try:
        with celery_worker_process(queue, **worker_env) as worker:
            # The real path: the upload commits, and its on-commit hook enqueues the task.
            upload = roster_upload_create(
                user=school.bob,
                fileobj=io.BytesIO(roster_xlsx([row(), row(活动等级="乡级", 内容="另一项")])),
                filename="名单.xlsx",
            )
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                upload.refresh_from_db()
                if upload.is_finished or upload.status == "failed" or worker.poll() is not None:
                    break
                time.sleep(0.2)
    finally:
        celery_app.conf.task_routes = routes
    log = worker.log  # type: ignore[attr-defined]
    assert upload.status == "done", log
    assert (upload.data_rows, upload.error_count, upload.attempts) == (2, 1, 1)
    assert upload.result is not None
    assert upload.result["errors"][0]["code"] == "unknown_level"
    assert upload.annotated and Path(upload.annotated.path).is_file()
