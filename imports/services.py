"""Writes for imports: storing a roster upload and validating it (in a Celery task).

Order as everywhere: guard -> atomic write -> on-commit task. Validation records its result in
one transaction at the end; only the progress figure is written before that (small UPDATEs), so a
worker that dies mid-task leaves a re-runnable upload, never a half-recorded one.
"""

from __future__ import annotations

import hashlib
import io
import logging
from datetime import datetime, timedelta
from typing import IO, Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import F, Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from bulu.exceptions import ApplicationError
from bulu.files import atomic_with_files, file_store, files_delete_on_commit
from bulu.workflow.models import BackfillRequest
from bulu.xlsx import xlsx_check_size
from imports.annotate import roster_annotate
from imports.entries import roster_entries_store
from imports.models import RosterUpload
from imports.roster import RosterReport, roster_check
from imports.selectors import roster_lookups_fingerprint, roster_lookups_load

logger = logging.getLogger(__name__)

Status = RosterUpload.Status
# A stored result is reused for the same bytes and the same lookups fingerprint, and only while
# it is this young: the fingerprint cannot see a student renamed in place.
REUSE_MAX_AGE = timedelta(hours=24)
# A queued or running upload untouched for this long is taken for lost (its worker died).
STALE_AFTER = timedelta(minutes=10)
# Progress is written at most every this many percentage points.
PROGRESS_STEP = 5


def _read_capped(fileobj: IO[bytes], max_bytes: int) -> bytes:
    data = fileobj.read(max_bytes + 1)
    xlsx_check_size(len(data), max_bytes=max_bytes)
    return data


def _enqueue(upload: RosterUpload, *, again: bool = False) -> None:
    """Validation is recorded with the upload (the outbox) and handed to the worker after commit."""
    from bulu.jobs.services import job_enqueue
    from imports.tasks import ROSTER_VALIDATE

    job_enqueue(
        name=ROSTER_VALIDATE,
        args=[upload.pk, upload.sha256],
        key=f"roster:{upload.pk}",
        again=again,
    )


def roster_upload_create(
    *,
    user: User,
    fileobj: IO[bytes],
    filename: str,
    request: BackfillRequest | None = None,
) -> RosterUpload:
    """Store the bytes and queue validation, or reuse the stored result for identical bytes.

    With `request`, the roster belongs to that request (its next version, kept with it); it is
    always judged afresh, since its rows must be stored as RosterEntry.
    """
    data = _read_capped(fileobj, settings.BULU_UPLOAD_MAX_BYTES)
    sha256 = hashlib.sha256(data).hexdigest()
    now = timezone.now()
    previous = None if request is not None else _reusable(sha256, now)
    upload = RosterUpload(
        uploaded_by=user,
        original_name=(filename or "roster.xlsx")[-255:],
        size=len(data),
        sha256=sha256,
        request=request,
        is_current=request is not None,
    )
    if request is not None:
        latest = RosterUpload.objects.filter(request=request).aggregate(v=Max("version"))["v"]
        upload.version = (latest or 0) + 1
    with atomic_with_files():
        file_store(upload.file, "roster.xlsx", ContentFile(data))
        if previous is not None:
            upload.status = previous.status
            upload.progress = 100
            upload.fingerprint = previous.fingerprint
            upload.data_rows = previous.data_rows
            upload.error_count = previous.error_count
            upload.warning_count = previous.warning_count
            upload.result = previous.result
            # Same bytes, same lookups: the same annotated file (read-only, so it is shared).
            upload.annotated.name = previous.annotated.name or None
            upload.reused_from = previous
            upload.started_at = upload.finished_at = now
        upload.save()
        if previous is None:
            _enqueue(upload)
    return upload


def _reusable(sha256: str, now: datetime) -> RosterUpload | None:
    """The latest result judged for these bytes against today's lookups, if young enough."""
    candidates = RosterUpload.objects.filter(
        sha256=sha256,
        status__in=RosterUpload.FINISHED,
        finished_at__gte=now - REUSE_MAX_AGE,
        # Only results judged for real: reusing a reuse would stretch the age limit.
        reused_from__isnull=True,
    )
    # The fingerprint counts the registry's students (a scan of the student memberships): only
    # worth it when these bytes were judged before, which a new file never was.
    if not candidates.exists():
        return None
    return (
        candidates.filter(fingerprint=roster_lookups_fingerprint())
        .order_by("-finished_at", "-pk")
        .first()
    )


def roster_upload_retry(*, upload: RosterUpload) -> RosterUpload:
    """Queue a failed or stalled validation again."""
    stalled = upload.status in (Status.QUEUED, Status.RUNNING) and (
        (upload.started_at or upload.created_at) < timezone.now() - STALE_AFTER
    )
    if upload.status != Status.FAILED and not stalled:
        raise ApplicationError(_("该名单正在校验或已完成，无需重新校验。"))
    with transaction.atomic():
        RosterUpload.objects.filter(pk=upload.pk).update(
            status=Status.QUEUED, progress=0, started_at=None, finished_at=None
        )
        _enqueue(upload, again=True)
    upload.refresh_from_db()
    return upload


# Progress: judging takes 5..60 %, the annotated workbook 60..99 % (it is the slower part).
JUDGED_AT = 60


class _ProgressWriter:
    """Maps judging's 0..0.9 onto 5..60 % and writes it in its own small UPDATE."""

    def __init__(self, pk: int) -> None:
        self.pk = pk
        self.last = 0

    def set(self, percent: int) -> None:
        if percent >= self.last + PROGRESS_STEP or percent in (99, 100):
            RosterUpload.objects.filter(pk=self.pk, status=Status.RUNNING).update(progress=percent)
            self.last = percent

    def __call__(self, fraction: float) -> None:
        self.set(5 + int(fraction / 0.9 * (JUDGED_AT - 5)))

    def annotating(self, fraction: float) -> None:
        self.set(JUDGED_AT + int(fraction * (99 - JUDGED_AT)))


# The page shows the first 500 problems of each kind and the annotated copy lists all of them;
# a stored result holds at most this many of each (a file with an error in every cell of
# 20,000 rows would otherwise put ~100 MB of JSON behind every page view of the upload).
RESULT_MAX_PROBLEMS = 1000


def roster_result(report: RosterReport, *, fingerprint: str = "") -> dict[str, Any]:
    return {
        "ok": report.ok,
        "data_rows": report.data_rows,
        "errors": [p.as_dict() for p in report.errors[:RESULT_MAX_PROBLEMS]],
        "warnings": [p.as_dict() for p in report.warnings[:RESULT_MAX_PROBLEMS]],
        "errors_total": len(report.errors),
        "warnings_total": len(report.warnings),
        "summary": report.summary(),
        "header_row": report.header_row,
        "columns": report.columns,
        "fingerprint": fingerprint,
    }


def roster_validate(*, upload_id: int, sha256: str | None = None) -> RosterUpload | None:
    """Judge the stored file and record the result once. Safe to run twice, or concurrently."""
    upload = RosterUpload.objects.filter(pk=upload_id).first()
    if upload is None or upload.is_finished:
        return upload
    if sha256 is not None and sha256 != upload.sha256:
        logger.warning("roster %s: task for other content (%s), ignored", upload_id, sha256)
        return upload
    claimed = (
        RosterUpload.objects.filter(pk=upload_id)
        .exclude(status__in=RosterUpload.FINISHED)
        .update(
            status=Status.RUNNING,
            started_at=timezone.now(),
            progress=1,
            attempts=F("attempts") + 1,
        )
    )
    if not claimed:
        upload.refresh_from_db()
        return upload
    try:
        return _validate(upload)
    except Exception:
        logger.exception("roster %s: validation failed", upload_id)
        # Written on a fresh connection when the failure broke the one we had (a database
        # restart, pg_terminate_backend): else the upload would stay 校验中 for good.
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()
        RosterUpload.objects.filter(pk=upload_id).exclude(status__in=RosterUpload.FINISHED).update(
            status=Status.FAILED, finished_at=timezone.now()
        )
        raise


def _validate(upload: RosterUpload) -> RosterUpload:
    with upload.file.open("rb") as stored:
        data = stored.read()
    if hashlib.sha256(data).hexdigest() != upload.sha256:
        raise RuntimeError(f"roster {upload.pk}: stored file does not match its sha256")
    progress = _ProgressWriter(upload.pk)
    fingerprint = roster_lookups_fingerprint()
    report = roster_check(io.BytesIO(data), lookups=roster_lookups_load(), progress=progress)
    result = roster_result(report, fingerprint=fingerprint)
    annotated: bytes | None = None
    if report.readable and report.header_row is not None and (report.errors or report.warnings):
        progress.set(JUDGED_AT)
        try:
            annotated = roster_annotate(
                data,
                errors=report.errors,
                warnings=report.warnings,
                columns=report.columns,
                progress=progress.annotating,
            )
        except ApplicationError as exc:
            # The problems are still listed on the page; only the marked copy is missing.
            result["annotated_error"] = exc.message
    progress.set(99)
    with atomic_with_files():
        locked = RosterUpload.objects.select_for_update().get(pk=upload.pk)
        if locked.is_finished:  # a twin run got there first
            return locked
        if annotated is not None:
            file_store(locked.annotated, "annotated.xlsx", ContentFile(annotated))
        locked.status = Status.DONE if report.readable else Status.UNREADABLE
        locked.progress = 100
        locked.fingerprint = fingerprint
        locked.data_rows = report.data_rows
        locked.error_count = len(report.errors)
        locked.warning_count = len(report.warnings)
        locked.result = result
        locked.finished_at = timezone.now()
        locked.save()
        if locked.request_id is not None and report.ok:
            roster_entries_store(upload=locked, rows=report.rows)
    return locked


def roster_uploads_purge(*, older_than_days: int) -> int:
    """Delete roster uploads (rows and stored files) older than the retention period.

    Rosters and their results hold students' names and 学号; nobody needs them once a fixed
    file was uploaded again. Returns how many uploads were deleted.
    """
    cutoff = timezone.now() - timedelta(days=older_than_days)
    # A roster uploaded into a request is part of it and is kept as long as the request.
    stale = list(RosterUpload.objects.filter(created_at__lt=cutoff, request__isnull=True))
    kept = RosterUpload.objects.filter(Q(created_at__gte=cutoff) | Q(request__isnull=False))
    with transaction.atomic():
        RosterUpload.objects.filter(pk__in=[u.pk for u in stale]).delete()
        # A reused result shares its annotated copy: keep a file a newer upload still uses.
        files_delete_on_commit(
            name
            for upload in stale
            for name in (upload.file.name, upload.annotated.name)
            if name and not kept.filter(Q(file=name) | Q(annotated=name)).exists()
        )
    return len(stale)
