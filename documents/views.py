"""PDF downloads, the approver's signature page, the center's archive and the public
verification page."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_ratelimit.decorators import ratelimit

from accounts.selectors import user_role_codes, user_scope
from bulu.context_processors import APPROVER_ROLES
from bulu.exceptions import ApplicationError
from bulu.web import current_user
from bulu.workflow.selectors import request_get_for_user
from documents import archive, rendering, services, verification
from documents.forms import ArchiveForm, SignatureForm
from documents.models import SignatureImage
from documents.selectors import requests_for_archive, signature_current

logger = logging.getLogger(__name__)


@login_required
def download(request: HttpRequest, pk: int, form_key: str) -> HttpResponseBase:
    """A form of a request as PDF, for whoever may see the request (404 for anyone else)."""
    obj = request_get_for_user(user=current_user(request), pk=pk)
    if obj.submitted_at is None:
        raise Http404
    try:
        form = services.form_get(request=obj, key=form_key)
    except LookupError as exc:
        raise Http404 from exc
    try:
        doc = services.document_current(request=obj, form=form, guarded=True)
    except rendering.RenderTimeout:
        queued = services.documents_enqueue(request_id=obj.pk)
        return render(request, "documents/pending.html", {"obj": obj, "queued": queued}, status=503)
    except rendering.RenderFailed:
        logger.exception("PDF render failed for request %s form %s", obj.pk, form_key)
        messages.error(request, _("文件生成失败，请稍后再试；多次失败请联系二课中心。"))
        return redirect("workflow:detail", obj.pk)
    return FileResponse(
        doc.file.open("rb"),
        as_attachment=True,
        filename=f"{obj.pk}-{form.label}.pdf",
        content_type="application/pdf",
    )


@login_required
@require_POST
def render_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """「重新生成」 after the background render gave up (404 for whoever may not see it)."""
    obj = request_get_for_user(user=current_user(request), pk=pk)
    try:
        services.documents_render_retry(request=obj)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已重新排队生成申请表 PDF，稍后即可下载。"))
    return redirect("workflow:detail", obj.pk)


def _require_approver(request: HttpRequest) -> None:
    user = current_user(request)
    if not (user_role_codes(user=user) & APPROVER_ROLES or user.is_superuser):
        raise PermissionDenied


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    """个人资料: the approver's own signature image (only ever their own)."""
    _require_approver(request)
    user = current_user(request)
    form = SignatureForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["image"]
        try:
            services.signature_upload(user=user, data=upload.read(600 * 1024))
        except ApplicationError as exc:
            form.add_error("image", exc.message)
        else:
            messages.success(request, _("签名图片已保存，此后的审核意见将使用它。"))
            return redirect("documents:profile")
    return render(
        request,
        "documents/profile.html",
        {"form": form, "signature": signature_current(user=user)},
    )


@login_required
@require_POST
def signature_remove(request: HttpRequest) -> HttpResponse:
    _require_approver(request)
    services.signature_remove(user=current_user(request))
    messages.success(request, _("签名图片已删除，此后的审核意见将以签名字体显示姓名。"))
    return redirect("documents:profile")


@login_required
def signature_image(request: HttpRequest, pk: int) -> HttpResponse:
    """The user's own signature image (for the profile page); anyone else's is a 404."""
    found = SignatureImage.objects.filter(pk=pk, user_id=current_user(request).pk).first()
    if found is None or not found.png:
        raise Http404
    response = HttpResponse(bytes(found.png), content_type="image/png")
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def archive_page(request: HttpRequest) -> HttpResponseBase:
    """The center's archive: every approved request's forms of a 补录通知 or a date range."""
    user = current_user(request)
    if not (user_scope(user=user).org_ids("approve_as_center") or user.is_superuser):
        raise PermissionDenied
    form = ArchiveForm(request.GET if "fmt" in request.GET else None)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        window = data.get("window")
        requests = list(
            requests_for_archive(
                window_id=window.pk if window else None,
                start=data.get("start"),
                end=data.get("end"),
            )
        )
        if not requests:
            messages.warning(request, _("所选范围内没有已审核通过的申请。"))
        else:
            result = archive.archive_build(requests=requests, fmt=data["fmt"])
            if result.pending:
                messages.warning(
                    request,
                    _("还有 %(n)d 份申请的文件正在后台生成，请过几分钟再下载。")
                    % {"n": len(result.pending)},
                )
            else:
                assert result.file is not None
                return FileResponse(
                    result.file,
                    as_attachment=True,
                    filename=result.filename,
                    content_type=result.content_type,
                )
    return render(request, "documents/archive.html", {"form": form})


@ratelimit(key="ip", rate=lambda group, request: settings.BULU_VERIFY_RATE, block=False)
def verify(request: HttpRequest, code: str = "") -> HttpResponse:
    """Public: is this document genuine? Names masked, no 学号 or phone numbers."""
    if getattr(request, "limited", False):
        return render(request, "documents/verify.html", {"limited": True}, status=429)
    if not code:
        typed = request.GET.get("code", "")
        if typed:
            return redirect("documents:verify", verification.code_normalize(typed)[:64] or "-")
        return render(request, "documents/verify.html", {"ask": True})
    verdict = verification.code_verify(code)
    context = {"verdict": verdict, "code": code[:64]}
    if verdict.request is not None:
        context.update(verification.public_summary(verdict))
    return render(request, "documents/verify.html", context)
