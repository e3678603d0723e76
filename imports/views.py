"""Roster upload pages: upload, watch the progress (htmx polling), read the result, download."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from bulu.exceptions import ApplicationError
from imports.forms import RosterUploadForm
from imports.models import RosterUpload
from imports.roster import CODE_LABELS, COLUMNS
from imports.selectors import (
    roster_upload_get_for_user,
    roster_uploads_for_user,
    user_may_upload_roster,
)
from imports.services import (
    JUDGED_AT,
    STALE_AFTER,
    roster_upload_create,
    roster_upload_retry,
)
from imports.template_xlsx import template_bytes

# A phone cannot show 20,000 rows of problems; the annotated workbook lists every one.
MAX_SHOWN = 500
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _uploader(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or not user_may_upload_roster(user=user):
        raise PermissionDenied
    return user


def _upload_for(request: HttpRequest, pk: int) -> RosterUpload:
    return roster_upload_get_for_user(user=_uploader(request), pk=pk)


def _problems(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**p, "label": CODE_LABELS.get(p.get("code", ""), "")} for p in items[:MAX_SHOWN]]


def _context(upload: RosterUpload) -> dict[str, Any]:
    result: dict[str, Any] = upload.result or {}
    errors: list[dict[str, Any]] = result.get("errors", [])
    warnings: list[dict[str, Any]] = result.get("warnings", [])
    last_touch = upload.started_at or upload.created_at
    stalled = (
        upload.status in (RosterUpload.Status.QUEUED, RosterUpload.Status.RUNNING)
        and last_touch < timezone.now() - STALE_AFTER
    )
    return {
        "upload": upload,
        "result": result,
        "errors": _problems(errors),
        "warnings": _problems(warnings),
        "errors_hidden": max(result.get("errors_total", len(errors)) - MAX_SHOWN, 0),
        "warnings_hidden": max(result.get("warnings_total", len(warnings)) - MAX_SHOWN, 0),
        "summary": result.get("summary", {}),
        "stalled": stalled,
        "polling": not upload.is_finished
        and upload.status != RosterUpload.Status.FAILED
        and not stalled,
        "max_shown": MAX_SHOWN,
        "annotating": upload.status == RosterUpload.Status.RUNNING and upload.progress >= JUDGED_AT,
    }


@login_required
@require_http_methods(["GET", "POST"])
def roster_upload(request: HttpRequest) -> HttpResponse:
    user = _uploader(request)
    form = RosterUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        uploaded = form.cleaned_data["file"]
        try:
            upload = roster_upload_create(user=user, fileobj=uploaded, filename=uploaded.name or "")
        except ApplicationError as exc:
            form.add_error("file", exc.message)
        else:
            return redirect("imports:roster_detail", pk=upload.pk)
    return render(
        request,
        "imports/roster_upload.html",
        {
            "form": form,
            "uploads": roster_uploads_for_user(user=user),
            "columns_text": " ".join(COLUMNS),
            "max_rows": settings.BULU_ROSTER_MAX_ROWS,
            "max_mb": settings.BULU_UPLOAD_MAX_BYTES // (1024 * 1024),
        },
    )


@login_required
@require_GET
def roster_detail(request: HttpRequest, pk: int) -> HttpResponse:
    upload = _upload_for(request, pk)
    return render(request, "imports/roster_detail.html", _context(upload))


@login_required
@require_GET
def roster_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The polled fragment: the progress bar until the result is there, then the result."""
    upload = _upload_for(request, pk)
    if not getattr(request, "htmx", False):
        return redirect("imports:roster_detail", pk=upload.pk)
    return render(request, "imports/_roster_status.html", _context(upload))


@login_required
@require_GET
def roster_annotated(request: HttpRequest, pk: int) -> FileResponse:
    upload = _upload_for(request, pk)
    if not upload.annotated:
        raise Http404
    stem = PurePath(upload.original_name).stem or "roster"
    return FileResponse(
        upload.annotated.open("rb"),
        as_attachment=True,
        filename=f"{stem}-错误标注.xlsx",
        content_type=XLSX_TYPE,
    )


@login_required
@require_POST
def roster_retry(request: HttpRequest, pk: int) -> HttpResponse:
    upload = _upload_for(request, pk)
    try:
        roster_upload_retry(upload=upload)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("imports:roster_detail", pk=upload.pk)


@login_required
@require_GET
def roster_template(request: HttpRequest) -> HttpResponse:
    _uploader(request)
    response = HttpResponse(template_bytes(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = (
        'attachment; filename="growth_record_template.xlsx"; '
        "filename*=UTF-8''%E6%88%90%E9%95%BF%E8%AE%B0%E5%BD%95%E8%A1%A5%E5%85%85%E6%A8%A1%E6%9D%BF.xlsx"
    )
    return response
