"""The real parts: PostgreSQL in CI and a real Celery worker consuming from Redis."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.db import connection

from bulu.celery import ping
from tests.conftest import celery_worker_process

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
    queue = f"wiring-{os.getpid()}"
    with celery_worker_process(queue) as worker:
        result = ping.apply_async(queue=queue)
        assert result.get(timeout=60) == "pong"
    assert worker.returncode is not None
