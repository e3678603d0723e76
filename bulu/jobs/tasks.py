"""The outbox's sweeper, on the beat."""

from __future__ import annotations

from celery import shared_task

from bulu.jobs.services import job_handler


@shared_task(name="jobs.sweep")
def jobs_sweep_task() -> dict[str, int]:
    from bulu.jobs.services import jobs_sweep

    return jobs_sweep()


def jobs_probe_run(seconds: float) -> str:
    """Sleeps, then answers: proves the outbox end to end (kill a worker while it sleeps)."""
    import time

    time.sleep(seconds)
    return "pong"


jobs_probe_task = job_handler("jobs.probe", time_limit=120)(jobs_probe_run)
