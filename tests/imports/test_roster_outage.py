"""A roster uploaded while the broker is down is kept and validated once it is back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from bulu.celery import app as celery_app
from bulu.jobs.models import Job
from bulu.jobs.services import jobs_sweep
from imports.models import RosterUpload
from tests.conftest import School, celery_worker_process
from tests.imports.conftest import roster_xlsx, row
from tests.jobs.test_outbox_worker import _wait, _worker_env

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.services


_UPLOAD_WITH_BROKER_DOWN = """
import io, json, sys, time
import django
django.setup()
from accounts.models import User
from imports.services import roster_upload_create
started = time.monotonic()
user = User.objects.get(username=sys.argv[1])
upload = roster_upload_create(user=user, fileobj=open(sys.argv[2], "rb"), filename="名单.xlsx")
print(json.dumps({"seconds": time.monotonic() - started, "upload": upload.pk}))
"""


def test_an_upload_while_the_broker_is_down_is_validated_once_it_is_back(
    require_postgres: None,
    require_redis: None,
    transactional_db: None,
    school: School,
    registry: dict[str, str],
    settings: Any,
    tmp_path: Path,
) -> None:
    roster = tmp_path / "名单.xlsx"
    roster.write_bytes(roster_xlsx([row()]))
    env = {
        **os.environ,
        **_worker_env(tmp_path),
        "REDIS_URL": "redis://127.0.0.1:1/0",  # a closed port: the broker is down
        "DJANGO_SETTINGS_MODULE": "bulu.settings",
    }
    done = subprocess.run(
        [sys.executable, "-c", _UPLOAD_WITH_BROKER_DOWN, school.bob.username, str(roster)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    # The web side answered at once (it was ~19 s of kombu retries, then a 500) and kept it all.
    assert answer["seconds"] < 5, answer
    upload = RosterUpload.objects.get(pk=answer["upload"])
    job = Job.objects.get(key=f"roster:{upload.pk}")
    assert (upload.status, job.state, job.published_at) == ("queued", "pending", None)

    queue = f"jobs-{os.getpid()}-{time.monotonic_ns()}"
    routes: Any = celery_app.conf.task_routes
    celery_app.conf.task_routes = {"imports.roster_validate": {"queue": queue}}
    try:
        with celery_worker_process(queue, **_worker_env(tmp_path)) as worker:
            assert jobs_sweep()["published"] == 1  # the broker is back: the sweeper hands it over
            assert _wait(lambda: RosterUpload.objects.get(pk=upload.pk).is_finished), worker
    finally:
        celery_app.conf.task_routes = routes
    upload.refresh_from_db()
    job.refresh_from_db()
    assert (upload.status, upload.attempts, job.state, job.attempts) == ("done", 1, "done", 1)
    assert jobs_sweep() == {"dead": 0, "published": 0}  # nothing left, nothing done twice
