"""A worker outlives its broker: Redis shut down while a job runs, started again, work goes on.

With kombu 5.7's own Redis transport the worker below stopped for good ("Unrecoverable error:
AttributeError: 'NoneType' object has no attribute 'hostname'") once its running job finished;
bulu.broker's transport makes it reconnect (found by bench/faults.py).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from bulu.broker import Channel
from bulu.jobs.models import Job
from tests.conftest import need, settings_in_fresh_process
from tests.imports.test_roster_worker import _test_database_url

ROOT = Path(__file__).resolve().parents[2]
QUIET = ("--without-heartbeat", "--without-mingle", "--without-gossip", "--loglevel=WARNING")


def _wait(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextmanager
def _redis(port: int, folder: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A redis-server of the test's own (the machine's Redis is never stopped)."""
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert _wait(lambda: _answers(port), 10), "redis-server did not start"
        yield server
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=10)


def _settings(**env: str) -> dict[str, Any]:
    transport, cls = settings_in_fresh_process(
        "from bulu.celery import app",
        "[app.conf.broker_transport, app.connection_for_write().transport_cls]",
        **env,
    )
    return {"transport": transport, "class": cls}


def test_a_redis_broker_uses_the_fixed_transport() -> None:
    assert _settings(REDIS_URL="redis://127.0.0.1:6379/5")["transport"] == "bulu.broker:Transport"
    assert _settings()["transport"] is None  # in-process: kombu's memory transport


def test_a_channel_whose_connection_is_closed_raises_a_connection_error() -> None:
    closed: Any = SimpleNamespace(connection=SimpleNamespace(client=None))
    with pytest.raises(RedisConnectionError):
        Channel._connparams(closed)


_PUBLISH = """
import django
django.setup()
import sys
from bulu.jobs.services import job_publish
assert job_publish(job_id=int(sys.argv[1]))
"""


@pytest.mark.services
def test_a_worker_reconnects_after_the_broker_was_shut_down_while_a_job_ran(
    require_postgres: None, transactional_db: None, tmp_path: Path
) -> None:
    need(shutil.which("redis-server") is not None, "redis-server")
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bulu.settings",
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": f"redis://127.0.0.1:{port}/0",
        "MEDIA_ROOT": str(tmp_path),
        "CONN_MAX_AGE": "0",
    }

    def publish(job: Job) -> None:
        subprocess.run(
            [sys.executable, "-c", _PUBLISH, str(job.pk)], cwd=ROOT, env=env, check=True, timeout=60
        )

    def state(job: Job) -> str:
        return Job.objects.values_list("state", flat=True).get(pk=job.pk)

    with _redis(port, tmp_path) as server:
        # Prefork with two processes: one runs the job (its message unacknowledged, late ack)
        # while the consumer waits for more on the other's behalf: the state that broke kombu.
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "bulu", "worker", "--concurrency", "2", *QUIET],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            first = Job.objects.create(name="jobs.probe", args=[4])
            publish(first)
            assert _wait(lambda: state(first) == "running", 60), "the worker took no job"
            server.terminate()  # Redis shuts down as an operator stops it
            server.wait(timeout=10)
            time.sleep(3)
            with _redis(port, tmp_path):
                assert _wait(lambda: state(first) == "done", 30)  # it ran to its end
                second = Job.objects.create(name="jobs.probe", args=[0])
                publish(second)
                # The worker is still there and takes new work from the broker that came back.
                assert _wait(lambda: state(second) == "done", 60), worker.poll()
                assert worker.poll() is None
        finally:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
            out, _unused = worker.communicate(timeout=60)
    assert b"Unrecoverable error" not in out, out.decode(errors="replace")[-3000:]
