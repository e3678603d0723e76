"""Thin Celery tasks: render a request's PDFs. WeasyPrint is imported once, at worker start."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from celery.signals import worker_init
from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

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


def render_key(request_id: int) -> str:
    """One pending render per request: asked by many decisions, rendered once."""
    return f"render:{request_id}"


def documents_render_request(request_id: int) -> list[str]:
    from documents.services import documents_render

    return [doc.form_key for doc in documents_render(request_id=request_id)]


def _render_described(args: Sequence[Any]) -> tuple[str, str]:
    return (
        _("申请 #%(n)s 的申请表 PDF") % {"n": args[0]},
        reverse("workflow:detail", args=[args[0]]),
    )


documents_render_task = job_handler(
    RENDER_TASK,
    label=gettext_lazy("生成 PDF"),
    describe=_render_described,
    soft_time_limit=settings.BULU_PDF_TASK_SOFT_LIMIT,
    time_limit=settings.BULU_PDF_TASK_SOFT_LIMIT + 30,
)(documents_render_request)
