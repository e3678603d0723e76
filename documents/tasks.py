"""Thin Celery tasks: render a request's PDFs. WeasyPrint is imported once, at worker start."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from celery.signals import worker_init
from django.conf import settings


@worker_init.connect
def _preload_weasyprint(**kwargs: Any) -> None:
    # Before the pool forks: every worker process starts with WeasyPrint imported.
    from documents.rendering import preload

    preload()


@shared_task(
    name="documents.render_request",
    acks_late=True,
    soft_time_limit=settings.BULU_PDF_TASK_SOFT_LIMIT,
    time_limit=settings.BULU_PDF_TASK_SOFT_LIMIT + 30,
)
def documents_render_task(request_id: int) -> list[str]:
    from documents.services import documents_render

    return [doc.form_key for doc in documents_render(request_id=request_id)]
