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


@shared_task(name="jobs.orphan_files_purge")
def orphan_files_purge_task() -> int:
    """Daily: stored files no row points to, older than the grace period, are deleted."""
    from datetime import timedelta

    from django.conf import settings

    from bulu.files import orphan_files_purge

    grace = timedelta(hours=settings.BULU_ORPHAN_FILE_GRACE_HOURS)
    return len(orphan_files_purge(grace=grace).deleted)
