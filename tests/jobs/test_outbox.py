"""The outbox: recorded with the change, handed over after commit, done once, never looping."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.test import TestCase
from django.utils import timezone

from bulu.celery import app as celery_app
from bulu.jobs import services
from bulu.jobs.models import Job
from bulu.jobs.services import job_enqueue, job_handler, job_run, jobs_sweep

CALLS: list[Any] = []
GAVE_UP: list[Any] = []
RETRIED: list[Any] = []


def _body(value: str) -> str:
    CALLS.append(value)
    if value.startswith("boom"):
        raise RuntimeError(f"poison {value}")
    return value


probe_task = job_handler(
    "tests.probe",
    time_limit=60,
    on_retry=lambda args, msg: RETRIED.append((args, msg)),
    on_give_up=lambda args, msg: GAVE_UP.append((args, msg)),
)(_body)


@pytest.fixture(autouse=True)
def _clean() -> Any:
    CALLS.clear()
    GAVE_UP.clear()
    RETRIED.clear()
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False  # as with a broker: max attempts 3
    yield
    celery_app.conf.task_always_eager = eager


@pytest.mark.django_db
def test_it_is_recorded_in_the_transaction_and_handed_over_after_commit() -> None:
    with mock.patch.object(probe_task, "apply_async") as publish:
        with TestCase.captureOnCommitCallbacks(execute=False) as callbacks:
            job = job_enqueue(name="tests.probe", args=["a"])
            publish.assert_not_called()
        assert Job.objects.get(pk=job.pk).state == "pending"
        for callback in callbacks:
            callback()
    job.refresh_from_db()
    publish.assert_called_once_with(args=[job.pk, str(job.token)], retry=False)
    assert job.published_at is not None


@pytest.mark.django_db
def test_a_broker_that_is_down_keeps_the_job_for_the_sweeper() -> None:
    with (
        mock.patch.object(probe_task, "apply_async", side_effect=ConnectionError("down")),
        TestCase.captureOnCommitCallbacks(execute=True),
    ):
        job = job_enqueue(name="tests.probe", args=["a"])
    job.refresh_from_db()
    assert (job.state, job.published_at) == ("pending", None)
    with mock.patch.object(probe_task, "apply_async") as publish:
        assert jobs_sweep()["published"] == 1  # the broker is back
    job.refresh_from_db()
    publish.assert_called_once_with(args=[job.pk, str(job.token)], retry=False)


@pytest.mark.django_db
def test_after_a_failed_hand_over_the_process_leaves_the_next_ones_to_the_sweeper(
    settings: Any,
) -> None:
    """A broker that hangs costs one timeout per pause, not one per job of the request."""
    settings.BULU_JOB_BROKER_PAUSE_SECONDS = 60
    try:
        with (
            mock.patch.object(probe_task, "apply_async", side_effect=TimeoutError("frozen")),
            TestCase.captureOnCommitCallbacks(execute=True),
        ):
            first = job_enqueue(name="tests.probe", args=["a"])
        with (
            mock.patch.object(probe_task, "apply_async") as publish,
            TestCase.captureOnCommitCallbacks(execute=True),
        ):
            second = job_enqueue(name="tests.probe", args=["b"])
            assert jobs_sweep()["published"] == 0
        publish.assert_not_called()
        assert list(
            Job.objects.filter(pk__in=[first.pk, second.pk]).values_list("state", "published_at")
        ) == [("pending", None), ("pending", None)]
        services._broker_pause["until"] = 0.0  # the pause is over
        with mock.patch.object(probe_task, "apply_async") as publish:
            assert jobs_sweep()["published"] == 2
        assert publish.call_count == 2
    finally:
        services._broker_pause["until"] = 0.0


@pytest.mark.django_db
def test_one_pending_job_per_key() -> None:
    with (
        mock.patch.object(probe_task, "apply_async") as publish,
        TestCase.captureOnCommitCallbacks(execute=True),
    ):
        first = job_enqueue(name="tests.probe", args=["a"], key="k")
        second = job_enqueue(name="tests.probe", args=["a"], key="k")
    assert first.pk == second.pk and Job.objects.count() == 1
    assert publish.call_count == 1


@pytest.mark.django_db
def test_a_delivery_runs_once_and_a_stale_token_does_nothing() -> None:
    job = Job.objects.create(name="tests.probe", args=["a"])
    assert job_run(job_id=job.pk, token="00000000-0000-0000-0000-000000000000") == "skipped"
    assert job_run(job_id=job.pk, token=str(job.token)) == "done"
    assert job_run(job_id=job.pk, token=str(job.token)) == "skipped"  # a redelivery
    assert CALLS == ["a"]
    job.refresh_from_db()
    assert (job.state, job.attempts) == ("done", 1)


@pytest.mark.django_db
def test_a_poison_job_stops_after_max_attempts_and_tells_its_owner(settings: Any) -> None:
    settings.BULU_JOB_RETRY_SECONDS = 0
    job = Job.objects.create(name="tests.probe", args=["boom"], max_attempts=3)
    for attempt in range(1, 4):
        with mock.patch.object(probe_task, "apply_async"):
            jobs_sweep()  # hands the pending job over under a fresh token
        job.refresh_from_db()
        assert job_run(job_id=job.pk, token=str(job.token)) == "failed"
        job.refresh_from_db()
        assert job.attempts == attempt
    assert job.state == "failed" and "poison boom" in job.error
    assert len(CALLS) == 3 and len(RETRIED) == 2 and [(["boom"], job.error)] == GAVE_UP
    with mock.patch.object(probe_task, "apply_async") as publish:
        jobs_sweep()
    publish.assert_not_called()  # never loops


@pytest.mark.django_db
def test_a_job_whose_worker_died_is_taken_up_again(settings: Any) -> None:
    job = Job.objects.create(name="tests.probe", args=["a"])
    # A worker started it and died: state running, heart stopped a minute ago.
    Job.objects.filter(pk=job.pk).update(
        state="running",
        attempts=1,
        started_at=timezone.now() - timedelta(minutes=1),
        heartbeat_at=timezone.now() - timedelta(seconds=settings.BULU_JOB_STALE_SECONDS + 1),
    )
    # A redelivery of its message while the heart is still fresh would be skipped ...
    fresh = Job.objects.create(name="tests.probe", args=["b"])
    Job.objects.filter(pk=fresh.pk).update(state="running", attempts=1, heartbeat_at=timezone.now())
    assert job_run(job_id=fresh.pk, token=str(fresh.token)) == "skipped"
    # ... the sweeper finds the dead one, queues it again and hands it over.
    settings.BULU_JOB_RETRY_SECONDS = 0
    with mock.patch.object(probe_task, "apply_async") as publish:
        swept = jobs_sweep()
    assert swept == {"dead": 1, "published": 1}
    job.refresh_from_db()
    assert job.state == "pending" and "中断" in job.error and RETRIED
    publish.assert_called_once_with(args=[job.pk, str(job.token)], retry=False)
    assert job_run(job_id=job.pk, token=str(job.token)) == "done"
    assert Job.objects.get(pk=job.pk).attempts == 2


@pytest.mark.django_db
def test_in_process_a_failure_is_final_at_once() -> None:
    """Without a broker nothing sweeps: the owner sees 失败 and a retry button at once."""
    celery_app.conf.task_always_eager = True
    with TestCase.captureOnCommitCallbacks(execute=True):
        job = job_enqueue(name="tests.probe", args=["boom-eager"])
    job.refresh_from_db()
    assert (job.state, job.attempts, job.max_attempts) == ("failed", 1, 1)
    assert GAVE_UP and not RETRIED


def test_unknown_names_are_refused() -> None:
    with pytest.raises(KeyError):
        services.job_enqueue(name="tests.nothing")
