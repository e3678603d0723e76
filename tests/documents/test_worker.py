"""A decision's PDFs rendered end to end by a real Celery worker, on Redis and PostgreSQL."""

from __future__ import annotations

import os
import time
from typing import Any

import pytest
from django.conf import settings

from bulu.celery import app as celery_app
from documents import verification
from documents.models import RequestDocument
from personal.models import PersonalRequest
from tests.conftest import School, celery_worker_process, decide
from tests.documents.conftest import pdf_bytes, pdf_text, personal_submitted, squash
from tests.imports.test_roster_worker import _test_database_url


def _reroute(routes: Any) -> None:
    """Set the task routes and drop Celery's cached router, which would keep the old ones (and
    send a later test's tasks to the wrong queue)."""
    celery_app.conf.task_routes = routes
    celery_app.amqp._rtable = None  # type: ignore[attr-defined]
    celery_app.amqp.__dict__.pop("router", None)


@pytest.mark.services
def test_a_real_worker_renders_the_pdfs_after_a_decision(
    require_postgres: None,
    require_redis: None,
    transactional_db: None,
    school: School,
    draft: PersonalRequest,
) -> None:
    request = personal_submitted(school, draft)  # eager: the submission renders nothing
    assert not RequestDocument.objects.exists()
    queue = f"documents-{os.getpid()}-{time.monotonic_ns()}"
    routes: Any = celery_app.conf.task_routes
    _reroute({"documents.render_request": {"queue": queue}})
    worker_env = {
        "DATABASE_URL": _test_database_url(),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "CONN_MAX_AGE": "0",
    }
    try:
        with celery_worker_process(queue, **worker_env) as worker:
            # The real path: the decision commits, and its on-commit hook enqueues the render.
            decide(request, school.bob, opinion="证书属实")
            deadline = time.monotonic() + 90
            doc = None
            while time.monotonic() < deadline:
                doc = RequestDocument.objects.filter(request=request, log_count=2).first()
                if doc is not None or worker.poll() is not None:
                    break
                time.sleep(0.3)
    finally:
        _reroute(routes)
    log = worker.log  # type: ignore[attr-defined]
    assert doc is not None, log
    assert verification.code_verify(doc.code).status == "genuine"
    text = squash(pdf_text(pdf_bytes(doc)))
    assert "审核通过：证书属实" in text and "王博" in text
