"""The outbox's writes: enqueue in the caller's transaction, hand over after commit, run, sweep.

A job is handed to the broker after the transaction that asked for it commits; with the broker
down the hand-over fails fast (no retry loop in the web request) and the job stays pending for
the sweeper. A running job beats its heart every few seconds from a thread; the sweeper takes a
job whose heart stopped for a dead worker and queues it again, until `max_attempts`, after which
the job is failed and its owner told (the handler's `on_give_up`).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.selectors import user_is_center
from bulu.exceptions import AccessDenied, ApplicationError
from bulu.jobs.models import Job
from bulu.jobs.registry import HANDLERS, Describe, Handler, Hook, handler_get

logger = logging.getLogger(__name__)

State = Job.State


def job_handler(
    name: str,
    *,
    time_limit: int,
    soft_time_limit: int | None = None,
    on_retry: Hook | None = None,
    on_give_up: Hook | None = None,
    label: str | Promise = "",
    describe: Describe | None = None,
) -> Callable[[Callable[..., Any]], Any]:
    """Register `run` as the body of job `name` and declare its Celery task (same name).

    `label` names the work for people (lazy Chinese text); `describe(args)` says what it works
    on, for the center's list of failed jobs.
    """

    def register(run: Callable[..., Any]) -> Any:
        HANDLERS[name] = Handler(name, run, time_limit, on_retry, on_give_up, label, describe)

        @shared_task(
            name=name,
            # The job row holds the outcome; a result would also make every hand-over talk to
            # the result backend (which retries for ~20 s when Redis is down).
            ignore_result=True,
            acks_late=True,
            reject_on_worker_lost=True,
            time_limit=time_limit,
            soft_time_limit=soft_time_limit or max(time_limit - 30, 1),
        )
        def task(job_id: int, token: str) -> str:
            return job_run(job_id=job_id, token=token)

        return task

    return register


def job_enqueue(*, name: str, args: Sequence[Any] = (), key: str = "", again: bool = False) -> Job:
    """Record a job in the current transaction; it is handed to the broker after commit.

    With `key`, a job already pending under that key is reused (asked twice, done once); with
    `again` (an owner's retry) it is handed over anew even if an earlier hand-over was lost.
    """
    handler_get(name)  # KeyError for a name no app registered
    if again and key:  # an owner's retry: the failed runs under this key are answered
        Job.objects.filter(key=key, state=State.FAILED, retried_at__isnull=True).update(
            retried_at=timezone.now()
        )
    job: Job | None = None
    if key:
        job = Job.objects.filter(key=key, state=State.PENDING).first()
    if job is None:
        from bulu.celery import app

        try:
            with transaction.atomic():
                job = Job.objects.create(
                    name=name,
                    args=list(args),
                    key=key,
                    # In-process (no broker, no sweeper): one run; a failure shows at once, with
                    # the owner's retry button, instead of waiting for a sweep that never comes.
                    max_attempts=1
                    if app.conf.task_always_eager
                    else settings.BULU_JOB_MAX_ATTEMPTS,
                )
        except IntegrityError:  # a concurrent request queued the same key first
            job = Job.objects.get(key=key, state=State.PENDING)
    pk = job.pk
    # Handed over once: a second ask finds it handed over already (job_publish is a no-op then).
    transaction.on_commit(lambda: job_publish(job_id=pk, again=again))
    return job


# After a failed hand-over this process hands nothing over for BULU_JOB_BROKER_PAUSE_SECONDS:
# the jobs stay pending for the sweeper. A broker that hangs (its port open, nothing answering)
# then costs one socket timeout per pause and process, not one per job (an approval hands over
# three: it was 30 s and every gunicorn worker stuck, found by bench/faults.py).
_broker_pause = {"until": 0.0}


def job_publish(*, job_id: int, again: bool = False) -> bool:
    """Hand a pending job to the broker under a fresh token; False (job kept) if it is down.

    A job already handed over is left alone unless `again` (its message may be lost): the fresh
    token makes the earlier message, should it still arrive, do nothing.
    """
    from bulu.celery import app

    if time.monotonic() < _broker_pause["until"]:
        return False  # the broker failed a moment ago: the sweeper hands it over
    token = uuid.uuid4()
    now = timezone.now()
    pending = Job.objects.filter(pk=job_id, state=State.PENDING)
    if not again:
        pending = pending.filter(published_at__isnull=True)
    if not pending.update(token=token, published_at=now):
        return False
    name = Job.objects.values_list("name", flat=True).get(pk=job_id)
    handler_get(name)  # this process may not have imported the app that declares the task yet
    try:
        app.tasks[name].apply_async(args=[job_id, str(token)], retry=False)  # type: ignore[arg-type]
    except Exception as exc:  # broker unreachable: the sweeper hands it over later
        logger.warning("job %s (%s): broker unreachable, kept for later: %s", job_id, name, exc)
        Job.objects.filter(pk=job_id, token=token, state=State.PENDING).update(published_at=None)
        if not app.conf.task_always_eager:  # in-process there is no broker, and no sweeper
            _broker_pause["until"] = time.monotonic() + settings.BULU_JOB_BROKER_PAUSE_SECONDS
        return False
    return True


class _Heartbeat:
    """Touches the running job every few seconds from a thread (its own connection)."""

    def __init__(self, job_id: int, token: uuid.UUID) -> None:
        self.job_id, self.token = job_id, token
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self) -> None:
        from django.db import connection as thread_connection

        try:
            while not self.stop.wait(settings.BULU_JOB_HEARTBEAT_SECONDS):
                Job.objects.filter(pk=self.job_id, token=self.token, state=State.RUNNING).update(
                    heartbeat_at=timezone.now()
                )
        except Exception:
            logger.exception("job %s: heartbeat failed", self.job_id)
        finally:
            thread_connection.close()

    def __enter__(self) -> _Heartbeat:
        # In-process (eager) runs share the web process's database connection and need none.
        from bulu.celery import app

        if not app.conf.task_always_eager:
            self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join(timeout=5)


def job_run(*, job_id: int, token: str) -> str:
    """Run one delivery of a job: at most once per token, never past `max_attempts`."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.state not in Job.LIVE or str(job.token) != token:
            return "skipped"
        handler = handler_get(job.name)
        if job.state == State.RUNNING and not _heart_stopped(job):
            return "skipped"  # another delivery of this token is running it
        if job.attempts >= job.max_attempts:
            _give_up(job, handler, job.error or _("多次执行均未完成"))
            return "failed"
        job.attempts += 1
        job.state = State.RUNNING
        job.started_at = job.heartbeat_at = timezone.now()
        job.save(update_fields=["attempts", "state", "started_at", "heartbeat_at"])
    try:
        with _Heartbeat(job.pk, job.token):
            handler.run(*job.args)
    except Exception as exc:
        logger.exception("job %s (%s) attempt %s failed", job.pk, job.name, job.attempts)
        job_failure_record(job_id=job.pk, token=job.token, message=f"{type(exc).__name__}: {exc}")
        return "failed"
    Job.objects.filter(pk=job.pk, token=job.token, state=State.RUNNING).update(
        state=State.DONE, finished_at=timezone.now(), error=""
    )
    return "done"


def _heart_stopped(job: Job) -> bool:
    stale = timedelta(seconds=settings.BULU_JOB_STALE_SECONDS)
    return job.heartbeat_at is None or job.heartbeat_at < timezone.now() - stale


def _give_up(job: Job, handler: Handler, message: str) -> None:
    job.state = State.FAILED
    job.finished_at = timezone.now()
    job.error = message[:2000]
    job.save(update_fields=["state", "finished_at", "error"])
    if handler.on_give_up is not None:
        handler.on_give_up(job.args, message)


def job_failure_record(*, job_id: int, token: uuid.UUID, message: str) -> None:
    """A run failed: queue it again after a pause, or give up after `max_attempts`.

    Written on a fresh connection when the run broke the one it had (a database restart or
    `pg_terminate_backend` leaves it unusable, and a failure written there would be lost).
    """
    if not connection.in_atomic_block:
        connection.close_if_unusable_or_obsolete()
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id, token=token).first()
        if job is None or job.state not in Job.LIVE:
            return
        handler = handler_get(job.name)
        if job.attempts >= job.max_attempts:
            _give_up(job, handler, message)
            return
        job.state = State.PENDING
        job.error = message[:2000]
        job.published_at = None
        job.available_at = timezone.now() + timedelta(
            seconds=settings.BULU_JOB_RETRY_SECONDS * job.attempts
        )
        job.save(update_fields=["state", "error", "published_at", "available_at"])
        if handler.on_retry is not None:
            handler.on_retry(job.args, message)


def jobs_sweep() -> dict[str, int]:
    """Take jobs whose worker died for failed runs; hand over due pending jobs not in the broker."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.BULU_JOB_STALE_SECONDS)
    dead = list(
        Job.objects.filter(state=State.RUNNING, heartbeat_at__lt=stale).values_list("pk", "token")
    )
    for pk, token in dead:
        job_failure_record(job_id=pk, token=token, message=_("后台进程中断（工作进程退出或重启）"))
    now = timezone.now()
    lost = now - timedelta(seconds=settings.BULU_JOB_REPUBLISH_SECONDS)
    due = Job.objects.filter(state=State.PENDING, available_at__lte=now)
    published = 0
    for pk, handed in due.values_list("pk", "published_at")[:500]:
        if handed is None or handed < lost:
            published += job_publish(job_id=pk, again=handed is not None)
    return {"dead": len(dead), "published": published}


def job_retry(*, job: Job, actor: User) -> Job:
    """Ask a failed job again (the center's 重试): a new run under a fresh job, the old one kept
    as it failed and marked answered. The owner's own retry (a roster's 重新校验) does the same
    through its service."""
    if not user_is_center(actor):
        raise AccessDenied(_("只有二课中心工作人员可以重试后台任务。"))
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        if locked.state != State.FAILED or locked.retried_at is not None:
            raise ApplicationError(_("该后台任务没有失败或已经重试过，请刷新页面。"))
        handler = handler_get(locked.name)
        fresh = job_enqueue(name=locked.name, args=locked.args, key=locked.key, again=True)
        locked.retried_at = timezone.now()
        locked.retried_by = actor
        locked.save(update_fields=["retried_at", "retried_by"])
        if handler.on_retry is not None:  # the owner's page shows it queued again
            handler.on_retry(locked.args, "")
    return fresh
