"""The real parts: PostgreSQL in CI and a real Celery worker consuming from Redis."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.db import connection

from bulu.celery import ping
from tests.conftest import celery_worker_process, settings_in_fresh_process

ROOT = Path(__file__).resolve().parent.parent


def test_it_runs_on_postgresql_when_database_url_says_so(db: None, require_postgres: None) -> None:
    with connection.cursor() as cursor:
        cursor.execute("select version()")
        (version,) = cursor.fetchone()
    assert "PostgreSQL" in version


def _celery_settings(**env: str) -> dict[str, object]:
    """The Celery settings a fresh process derives from its environment."""
    eager, broker, backend = settings_in_fresh_process(
        "from django.conf import settings as s",
        "[s.CELERY_TASK_ALWAYS_EAGER, s.CELERY_BROKER_URL, s.CELERY_RESULT_BACKEND]",
        **env,
    )
    return {"eager": eager, "broker": broker, "backend": backend}


def test_it_runs_tasks_in_process_without_redis_and_on_redis_with_it() -> None:
    assert _celery_settings() == {"eager": True, "broker": "memory://", "backend": None}
    url = "redis://127.0.0.1:6379/5"
    assert _celery_settings(REDIS_URL=url) == {"eager": False, "broker": url, "backend": url}


def test_an_eager_task_runs_in_process(settings: object) -> None:
    assert ping.delay().get(timeout=5) == "pong"


@pytest.mark.services
def test_it_round_trips_a_task_through_a_real_worker(require_redis: None) -> None:
    queue = f"wiring-{os.getpid()}"
    with celery_worker_process(queue) as worker:
        result = ping.apply_async(queue=queue)
        assert result.get(timeout=60) == "pong"
    assert worker.returncode is not None
