"""Celery tasks of imports: thin wrappers around the services."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from celery import shared_task
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bulu.jobs.services import job_handler
from imports.models import RosterUpload
from imports.services import roster_uploads_purge, roster_validate

ROSTER_VALIDATE = "imports.roster_validate"


def roster_validate_job(upload_id: int, sha256: str | None = None) -> str:
    """Validate one roster upload; idempotent (a finished upload is left as it is). A failure
    is recorded on the upload and raised, so the outbox tries again (then gives up)."""
    upload = roster_validate(upload_id=upload_id, sha256=sha256)
    return upload.status if upload is not None else "missing"


def _roster_retrying(args: Sequence[Any], message: str) -> None:
    # The page shows 排队中 again (not a frozen 校验中): the next attempt starts from the top.
    RosterUpload.objects.filter(pk=args[0]).exclude(status__in=RosterUpload.FINISHED).update(
        status=RosterUpload.Status.QUEUED, progress=0
    )


def _roster_gave_up(args: Sequence[Any], message: str) -> None:
    RosterUpload.objects.filter(pk=args[0]).exclude(status__in=RosterUpload.FINISHED).update(
        status=RosterUpload.Status.FAILED, finished_at=timezone.now()
    )


def _roster_described(args: Sequence[Any]) -> tuple[str, str]:
    upload = RosterUpload.objects.select_related("uploaded_by").filter(pk=args[0]).first()
    if upload is None:
        return _("名单 #%(n)s（已删除）") % {"n": args[0]}, ""
    return (
        _("名单“%(name)s”（%(who)s 上传）")
        % {"name": upload.original_name, "who": upload.uploaded_by.name},
        reverse("imports:roster_detail", args=[upload.pk]),
    )


roster_validate_task = job_handler(
    ROSTER_VALIDATE,
    time_limit=settings.BULU_ROSTER_TASK_TIME_LIMIT,
    on_retry=_roster_retrying,
    on_give_up=_roster_gave_up,
    label=gettext_lazy("名单校验"),
    describe=_roster_described,
)(roster_validate_job)


@shared_task(name="imports.roster_uploads_purge")
def roster_uploads_purge_task() -> int:
    return roster_uploads_purge(older_than_days=settings.BULU_ROSTER_RETENTION_DAYS)
