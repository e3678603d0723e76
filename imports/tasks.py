"""Celery tasks of imports: thin wrappers around the services."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from imports.services import roster_uploads_purge, roster_validate


@shared_task(name="imports.roster_validate", acks_late=True, reject_on_worker_lost=True)
def roster_validate_task(upload_id: int, sha256: str | None = None) -> str:
    """Validate one roster upload; idempotent (a finished upload is left as it is)."""
    try:
        upload = roster_validate(upload_id=upload_id, sha256=sha256)
    except Exception:
        # Already logged and recorded on the upload as "failed"; re-raising would only make an
        # eager run (no Redis) fail the web request that enqueued it.
        return "failed"
    return upload.status if upload is not None else "missing"


@shared_task(name="imports.roster_uploads_purge")
def roster_uploads_purge_task() -> int:
    return roster_uploads_purge(older_than_days=settings.BULU_ROSTER_RETENTION_DAYS)
