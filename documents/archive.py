"""The center's paper file: every approved request's forms in one ZIP or one merged PDF."""

from __future__ import annotations

import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from typing import IO, Any

from django.conf import settings
from django.utils import timezone

from bulu.workflow.models import BackfillRequest, Kind
from documents import rendering, services
from documents.models import RequestDocument
from documents.selectors import request_forms

SPOOL_BYTES = 16 * 1024 * 1024


@dataclass
class ArchiveResult:
    file: IO[bytes] | None
    filename: str
    content_type: str
    count: int = 0
    pending: list[int] = field(default_factory=list)


def _safe(text: str) -> str:
    return re.sub(r'[\\/:*?"<>|\r\n\t]+', "_", text).strip()[:60] or "_"


def archive_documents(
    *, requests: list[BackfillRequest], render_budget: int
) -> tuple[list[tuple[BackfillRequest, Any, RequestDocument]], list[int]]:
    """Each request's current PDFs; at most `render_budget` renders here, the rest queued."""
    found: list[tuple[BackfillRequest, Any, RequestDocument]] = []
    pending: list[int] = []
    budget = render_budget
    for request in requests:
        shared = services.shared_context(request=request)
        for form in request_forms(request=request):
            built = services.document_html(request=request, form=form, shared=shared)
            doc = services.stored_document(request=request, built=built)
            if doc is None and budget > 0:
                budget -= 1
                try:
                    doc = services.document_current(
                        request=request, form=form, guarded=True, shared=shared
                    )
                except rendering.RenderTimeout:
                    doc = None
            if doc is None:
                if request.pk not in pending:
                    pending.append(request.pk)
                    services.documents_enqueue(request_id=request.pk)
                continue
            found.append((request, form, doc))
    return found, pending


def archive_build(*, requests: list[BackfillRequest], fmt: str) -> ArchiveResult:
    found, pending = archive_documents(
        requests=requests, render_budget=settings.BULU_PDF_ARCHIVE_RENDERS
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    if pending:
        return ArchiveResult(None, "", "", len(found), pending)
    out: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
    if fmt == "pdf":
        from pypdf import PdfWriter

        writer = PdfWriter()
        for request, form, doc in found:
            with doc.file.open("rb") as handle:
                writer.append(handle, outline_item=f"#{request.pk} {request.title} · {form.label}")
        writer.write(out)
        filename, content_type = f"补录归档-{stamp}.pdf", "application/pdf"
    else:
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as bundle:
            for request, form, doc in found:
                folder = f"{Kind(request.kind).label}/{request.pk}-{_safe(request.title)}"
                with doc.file.open("rb") as handle:
                    bundle.writestr(f"{folder}/{_safe(str(form.label))}.pdf", handle.read())
        filename, content_type = f"补录归档-{stamp}.zip", "application/zip"
    out.seek(0)
    return ArchiveResult(out, filename, content_type, len(found))
