"""The real parts: PostgreSQL in CI and a real Celery worker consuming from Redis."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from bulu.celery import app as celery_app
from bulu.celery import ping

ROOT = Path(__file__).resolve().parent.parent


def test_it_runs_on_postgresql_when_database_url_says_so(db: None, require_postgres: None) -> None:
    with connection.cursor() as cursor:
        cursor.execute("select version()")
        (version,) = cursor.fetchone()
    assert "PostgreSQL" in version


def test_it_runs_tasks_in_process_without_redis(settings: object) -> None:
    assert ping.delay().get(timeout=5) == "pong"


@pytest.mark.services
def test_it_round_trips_a_task_through_a_real_worker(require_redis: None) -> None:
    env = {**os.environ, "REDIS_URL": settings.REDIS_URL, "DJANGO_SETTINGS_MODULE": "bulu.settings"}
    queue = f"wiring-{os.getpid()}"
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "bulu",
            "worker",
            "--pool=solo",
            "-Q",
            queue,
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            "--loglevel=WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    celery_app.conf.task_always_eager = False
    try:
        result = ping.apply_async(queue=queue)
        assert result.get(timeout=60) == "pong"
    finally:
        worker.terminate()
        out, _ = worker.communicate(timeout=30)
    assert worker.returncode is not None, out
