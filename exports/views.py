"""The center's export desk: thin views over exports.selectors and exports.services."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.selectors import user_is_center
from bulu.exceptions import ApplicationError
from bulu.web import current_user, paginate
from credits.models import CreditRecord
from exports import selectors, services
from exports.forms import CancelForm, ExportFilterForm
from exports.models import ExportFile


def _center_only(request: HttpRequest) -> None:
    if not user_is_center(current_user(request)):
        raise PermissionDenied


def _filter_form(request: HttpRequest) -> ExportFilterForm:
    return ExportFilterForm(request.GET or None)


def _query(form: ExportFilterForm) -> str:
    if not form.is_bound:
        return ""
    return urlencode({k: v for k, v in form.data.items() if k != "page" and v})


@login_required
def desk(request: HttpRequest) -> HttpResponse:
    """Choose approved, not yet exported records; see counts and totals; create a batch."""
    _center_only(request)
    form = _filter_form(request)
    filters = form.filters() if (not form.is_bound or form.is_valid()) else None
    summary = selectors.export_pool_summary(filters=filters) if filters else []
    held = selectors.export_pool_held_back(filters=filters) if filters else None
    held_count = held.count() if held is not None else 0
    context = {
        "held": list(held[:50]) if held_count and held is not None else [],
        "held_count": held_count,
        "to_export": sum(t.records for t in summary) - held_count,
        "form": form,
        "summary": summary,
        "total_records": sum(t.records for t in summary),
        "in_platform_count": (
            selectors.in_platform_records(filters=filters).count() if filters else 0
        ),
        "query": _query(form),
        "recent": selectors.batches_for_user(user=current_user(request))[:5],
    }
    return render(request, "exports/desk.html", context)


@login_required
@require_POST
def create(request: HttpRequest) -> HttpResponseBase:
    _center_only(request)
    form = ExportFilterForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("筛选条件有误，请检查后重试。"))
        return redirect("exports:desk")
    batch = services.export_batch_create(actor=current_user(request), filters=form.filters())
    messages.success(
        request,
        _("已生成导出批次 #%(n)s：%(rows)s 条记录，%(files)s 个文件。")
        % {"n": batch.pk, "rows": batch.rows, "files": batch.files.count()},
    )
    return redirect("exports:batch", batch.pk)


@login_required
def in_platform(request: HttpRequest) -> HttpResponse:
    """Records approved inside 到梦空间: shown for the record, never exported."""
    _center_only(request)
    form = _filter_form(request)
    # Validate first: the filters come from the cleaned data.
    if form.is_bound and not form.is_valid():
        qs = CreditRecord.objects.none()
    else:
        qs = selectors.in_platform_records(filters=form.filters())
    page = paginate(request, qs.order_by("-pk"), display=lambda q: q.select_related("request"))
    return render(
        request, "exports/in_platform.html", {"form": form, "page": page, "query": _query(form)}
    )


@login_required
def batches(request: HttpRequest) -> HttpResponse:
    _center_only(request)
    page = paginate(request, selectors.batches_for_user(user=current_user(request)))
    return render(request, "exports/batches.html", {"page": page, "query": ""})


@login_required
def batch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    batch = selectors.batch_get_for_user(user=current_user(request), pk=pk)
    page = paginate(request, selectors.batch_records(batch=batch))
    files = list(batch.files.all())
    context = {
        "batch": batch,
        "files": files,
        # Workbooks deleted once a student in them was anonymized (privacy): nothing to fetch.
        "files_removed": bool(files) and not all(f.file for f in files),
        "downloads": list(batch.downloads.select_related("user", "file").order_by("-at")[:20]),
        "page": page,
        "query": "",
        "cancel_form": CancelForm(),
    }
    return render(request, "exports/batch.html", context)


def _send(opened: object, name: str, content_type: str) -> FileResponse:
    response = FileResponse(opened, as_attachment=True, filename=name, content_type=content_type)
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def download(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The batch's workbook (one file) or the zip of its files; the same bytes every time."""
    batch = selectors.batch_get_for_user(user=current_user(request), pk=pk)
    opened, name, content_type = services.export_batch_download(
        batch=batch, actor=current_user(request)
    )
    return _send(opened, name, content_type)


@login_required
def download_file(request: HttpRequest, pk: int, index: int) -> HttpResponseBase:
    batch = selectors.batch_get_for_user(user=current_user(request), pk=pk)
    try:
        file = batch.files.get(index=index)
    except ExportFile.DoesNotExist as exc:
        raise Http404 from exc
    opened, name, content_type = services.export_batch_download(
        batch=batch, actor=current_user(request), file=file
    )
    return _send(opened, name, content_type)


@login_required
@require_POST
def confirm(request: HttpRequest, pk: int) -> HttpResponseBase:
    batch = selectors.batch_get_for_user(user=current_user(request), pk=pk)
    services.export_batch_confirm(batch=batch, actor=current_user(request))
    done, total = selectors.batch_requests_imported(batch=batch)
    if done == total:
        text = _(
            "已确认导入到梦空间；%(n)s 份申请已全部补录，申请人已收到“已补录到到梦空间”的消息。"
        )
    elif done:
        text = _(
            "已确认导入到梦空间；%(n)s 份申请已全部补录并已通知申请人，另有 %(rest)s 份申请"
            "还有记录未导入，暂未通知。"
        )
    else:
        text = _(
            "已确认导入到梦空间；本批次涉及的 %(rest)s 份申请还有其他记录未导入，暂未通知申请人。"
        )
    messages.success(request, text % {"n": done, "rest": total - done})
    return redirect("exports:batch", batch.pk)


@login_required
@require_POST
def cancel(request: HttpRequest, pk: int) -> HttpResponseBase:
    batch = selectors.batch_get_for_user(user=current_user(request), pk=pk)
    form = CancelForm(request.POST)
    if not form.is_valid():  # nothing cancelled: the reason is refused, not dropped
        raise ApplicationError("".join(map(str, form.errors["reason"])))
    reason = form.cleaned_data["reason"]
    services.export_batch_cancel(batch=batch, actor=current_user(request), reason=reason)
    messages.success(request, _("已撤销该批次，其中的记录回到待导出。"))
    return redirect("exports:batch", batch.pk)
