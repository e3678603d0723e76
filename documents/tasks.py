"""Thin Celery tasks: render a request's PDFs. WeasyPrint is imported once, at worker start."""

from __future__ import annotations

from typing import Any

from celery.signals import worker_init
from django.conf import settings

from bulu.jobs.services import job_handler


def _consumes_render_queue(app: Any) -> bool:
    """Whether this worker takes the render task (a worker started with -Q for other queues
    does not, and need not pay for WeasyPrint)."""
    route = app.amqp.router.route({}, RENDER_TASK)
    queue = getattr(route.get("queue"), "name", route.get("queue"))
    return queue in app.amqp.queues.consume_from


@worker_init.connect
def _preload_weasyprint(sender: Any = None, **kwargs: Any) -> None:
    # Before the pool forks: every worker process starts with WeasyPrint imported.
    from bulu.celery import app

    if _consumes_render_queue(getattr(sender, "app", None) or app):
        from documents.rendering import preload

        preload()


RENDER_TASK = "documents.render_request"


def documents_render_request(request_id: int) -> list[str]:
    from documents.services import documents_render

    return [doc.form_key for doc in documents_render(request_id=request_id)]


documents_render_task = job_handler(
    RENDER_TASK,
    soft_time_limit=settings.BULU_PDF_TASK_SOFT_LIMIT,
    time_limit=settings.BULU_PDF_TASK_SOFT_LIMIT + 30,
)(documents_render_request)
