"""The request page's panel when the background PDF render gave up."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from accounts.models import User
from bulu.workflow.models import BackfillRequest
from documents.selectors import render_job_failed


def render_failed_panel(
    request: BackfillRequest, user: User, posted: Mapping[str, Any] | None
) -> tuple[str, dict[str, Any]] | None:
    job = render_job_failed(request=request)
    if job is None:
        return None
    return "documents/_render_failed.html", {"job": job}
