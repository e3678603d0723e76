"""Reads of the outbox: what the center sees of background work, and a request's PDF job."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Min, QuerySet

from bulu.jobs.models import Job
from bulu.jobs.registry import handler_get

State = Job.State


def jobs_failed_open() -> QuerySet[Job]:
    """Failed jobs nobody has asked again yet, newest first."""
    return Job.objects.filter(state=State.FAILED, retried_at__isnull=True).order_by("-finished_at")


@dataclass(frozen=True)
class FailedJob:
    job: Job
    label: str
    subject: str
    url: str


def jobs_failed_for_display(jobs: list[Job]) -> list[FailedJob]:
    shown = []
    for job in jobs:
        try:
            handler = handler_get(job.name)
        except KeyError:  # a job of a task this version no longer has
            shown.append(FailedJob(job, job.name, "", ""))
            continue
        subject, url = handler.describe(job.args) if handler.describe else ("", "")
        shown.append(FailedJob(job, str(handler.label or job.name), subject, url))
    return shown


@dataclass(frozen=True)
class Backlog:
    pending: int
    running: int
    failed: int
    oldest_pending: datetime | None


def jobs_backlog() -> Backlog:
    live = dict(Job.objects.filter(state__in=Job.LIVE).values_list("state").annotate(n=Count("pk")))
    oldest = Job.objects.filter(state=State.PENDING).aggregate(t=Min("created_at"))["t"]
    return Backlog(
        pending=live.get(State.PENDING, 0),
        running=live.get(State.RUNNING, 0),
        failed=jobs_failed_open().count(),
        oldest_pending=oldest,
    )


def job_latest(*, key: str) -> Job | None:
    """The newest job under `key` (e.g. a request's renders): how its background work stands."""
    return Job.objects.filter(key=key).order_by("-pk").first()
