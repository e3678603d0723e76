"""Writes for printable forms: render and keep a request's PDFs, signatures and seals.

A request's PDFs are rendered by a Celery task after each decision (`documents_schedule`, called
after commit by the workflow) and on demand. The stored PDF of a form is reused while the HTML it
would be rendered from is byte-identical (`html_sha256`): any change to what the form shows — a
decision, an edit after 退回修改, a corrected phone number — renders it again.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organization, User
from bulu.exceptions import AccessDenied, ApplicationError
from bulu.files import atomic_with_files, file_store, files_delete_on_commit
from bulu.jobs.models import Job
from bulu.workflow.models import BackfillRequest
from bulu.workflow.registry import PrintForm
from documents import rendering, verification
from documents.images import png_check
from documents.models import SEAL_ORG_KINDS, RequestDocument, SealImage, SignatureImage
from documents.selectors import opinion_boxes, request_forms

logger = logging.getLogger(__name__)

SCHOOL = "四川工业科技学院"


@dataclass(frozen=True)
class BuiltHtml:
    form: PrintForm
    html: str
    sha256: str
    code: str
    log_count: int


def shared_context(*, request: BackfillRequest) -> dict[str, Any]:
    """What every form gets: the opinion boxes, the verification code and its QR code."""
    records = verification.signed_records(request_id=request.pk)
    code = verification.code_for(request=request, records=records)
    url = verification.verify_url(code)
    boxes = opinion_boxes(request=request, records=records)
    by_role: dict[str, list[Any]] = {}
    for box in boxes:
        by_role.setdefault(box.role, []).append(box)
    return {
        "request": request,
        "school": SCHOOL,
        "boxes": boxes,
        "boxes_by_role": by_role,
        "code": code,
        "log_count": len(records),
        "verify_url": url,
        "qr": verification.qr_data_uri(url),
    }


def document_html(
    *, request: BackfillRequest, form: PrintForm, shared: dict[str, Any] | None = None
) -> BuiltHtml:
    shared = shared if shared is not None else shared_context(request=request)
    context = {**shared, **form.context(request, shared), "form": form}
    html = render_to_string(form.template, context)
    return BuiltHtml(
        form=form,
        html=html,
        sha256=hashlib.sha256(html.encode()).hexdigest(),
        code=shared["code"],
        log_count=shared["log_count"],
    )


def form_get(*, request: BackfillRequest, key: str) -> PrintForm:
    for form in request_forms(request=request):
        if form.key == key:
            return form
    raise LookupError(key)


def stored_document(*, request: BackfillRequest, built: BuiltHtml) -> RequestDocument | None:
    """The stored PDF if it was rendered from exactly this HTML (and its file is there)."""
    doc = RequestDocument.objects.filter(request_id=request.pk, form_key=built.form.key).first()
    if (
        doc is not None
        and doc.html_sha256 == built.sha256
        and doc.file.name
        and doc.file.storage.exists(doc.file.name)
    ):
        return doc
    return None


def _store(
    request: BackfillRequest, built: BuiltHtml, result: rendering.Rendered
) -> RequestDocument:
    name = f"{built.form.key}-{built.sha256[:12]}.pdf"
    with atomic_with_files():
        doc = (
            RequestDocument.objects.select_for_update()
            .filter(request_id=request.pk, form_key=built.form.key)
            .first()
        )
        old = doc.file.name if doc is not None else ""
        if doc is None:
            doc = RequestDocument(request_id=request.pk, form_key=built.form.key)
        doc.code = built.code
        doc.log_count = built.log_count
        doc.html_sha256 = built.sha256
        doc.size = len(result.pdf)
        doc.pages = result.pages
        doc.render_seconds = round(result.seconds, 3)
        file_store(doc.file, name, ContentFile(result.pdf))
        try:
            with transaction.atomic():
                doc.save()
        except IntegrityError:  # a simultaneous render stored it first: same content
            doc.file.delete(save=False)
            return RequestDocument.objects.get(request_id=request.pk, form_key=built.form.key)
        if old and old != doc.file.name:
            # The superseded PDF goes after commit (a worker killed before that leaves it to
            # the purge of files without rows).
            files_delete_on_commit([old], doc.file.storage)
    return doc


def document_current(
    *,
    request: BackfillRequest,
    form: PrintForm,
    guarded: bool,
    shared: dict[str, Any] | None = None,
) -> RequestDocument:
    """The form's PDF as the request stands now: the stored one, or rendered and stored.

    `guarded` renders under the web time guard (raises rendering.RenderTimeout); the worker
    renders unguarded, under the Celery task's time limits.
    """
    built = document_html(request=request, form=form, shared=shared)
    doc = stored_document(request=request, built=built)
    if doc is not None:
        return doc
    result = (
        rendering.render_guarded(built.html, timeout=settings.BULU_PDF_WEB_TIMEOUT)
        if guarded
        else rendering.render(built.html)
    )
    return _store(request, built, result)


def documents_render(*, request_id: int) -> list[RequestDocument]:
    """Every form of the request, as it stands now (the Celery task's body)."""
    request = BackfillRequest.objects.filter(pk=request_id, submitted_at__isnull=False).first()
    if request is None:
        return []
    forms = request_forms(request=request)
    if not forms:
        return []
    shared = shared_context(request=request)
    return [
        document_current(request=request, form=form, guarded=False, shared=shared) for form in forms
    ]


def documents_schedule(request_id: int) -> None:
    """After a decision (on commit): render the request's PDFs in the worker.

    Without a broker (the embedded default runs tasks in-process) nothing is rendered here: the
    decision would wait for it; the first download renders instead.
    """
    documents_enqueue(request_id=request_id)


# --- signatures and seals --------------------------------------------------------------------


def signature_upload(*, user: User, data: bytes) -> SignatureImage:
    checked = png_check(data, what=_("签名图片"))
    return SignatureImage.objects.create(
        user=user,
        png=checked.data,
        width=checked.width,
        height=checked.height,
        sha256=checked.sha256,
        created_at=timezone.now(),
    )


def signature_remove(*, user: User) -> SignatureImage:
    """Later decisions show the name in signature style; earlier ones keep their image."""
    return SignatureImage.objects.create(user=user, png=None, created_at=timezone.now())


def seal_upload(*, organization: Organization, actor: User, data: bytes) -> SealImage:
    if not actor.is_superuser:
        raise AccessDenied(_("只有系统管理员可以上传印章。"))
    if organization.kind not in SEAL_ORG_KINDS:
        raise ApplicationError(_("只有团总支、二课中心和校团委有印章。"))
    checked = png_check(data, what=_("印章图片"))
    return SealImage.objects.create(
        organization=organization,
        png=checked.data,
        width=checked.width,
        height=checked.height,
        sha256=checked.sha256,
        created_by=actor,
        created_at=timezone.now(),
    )


def documents_enqueue(*, request_id: int, again: bool = False) -> bool:
    """Queue a render in the worker; False without a broker (nothing would run it apart)."""
    from bulu.celery import app
    from bulu.jobs.services import job_enqueue
    from documents.tasks import RENDER_TASK, render_key

    if app.conf.task_always_eager:
        return False
    # Through the outbox: kept if the broker is down (handed over later), queued once however
    # many decisions ask before it runs. `again`: a retry after the render gave up.
    job_enqueue(name=RENDER_TASK, args=[request_id], key=render_key(request_id), again=again)
    return True


def documents_render_retry(*, request: BackfillRequest) -> None:
    """Render the request's PDFs again after the background render gave up (its page's
    「重新生成」; whoever may see the request may ask, it changes nothing but the files)."""
    from documents.selectors import render_job_failed

    failed = render_job_failed(request=request)
    if failed is None:
        raise ApplicationError(_("申请表 PDF 没有生成失败，无需重新生成。"))
    with transaction.atomic():
        if not documents_enqueue(request_id=request.pk, again=True):
            # No worker (the embedded default): the next download renders it in the page.
            Job.objects.filter(pk=failed.pk).update(retried_at=timezone.now())
