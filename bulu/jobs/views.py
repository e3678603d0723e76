"""The center's page of background work: what waits, and what failed with a retry button."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.selectors import user_is_center
from bulu.exceptions import ApplicationError
from bulu.jobs import selectors, services
from bulu.web import current_user, paginate


def _require_center(request: HttpRequest) -> None:
    if not user_is_center(current_user(request)):
        raise PermissionDenied


@login_required
def failed(request: HttpRequest) -> HttpResponse:
    _require_center(request)
    page = paginate(request, selectors.jobs_failed_open())
    return render(
        request,
        "jobs/failed.html",
        {
            "page": page,
            "shown": selectors.jobs_failed_for_display(list(page.object_list)),
            "backlog": selectors.jobs_backlog(),
            "query": "",
            "attempts": settings.BULU_JOB_MAX_ATTEMPTS,
        },
    )


@login_required
@require_POST
def retry(request: HttpRequest, pk: int) -> HttpResponse:
    _require_center(request)
    job = get_object_or_404(selectors.jobs_failed_open(), pk=pk)
    try:
        services.job_retry(job=job, actor=current_user(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已重新排队，稍后由后台完成。"))
    return redirect("jobs:failed")
