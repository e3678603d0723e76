"""Personal back-fill pages: only what is personal (items, evidence, the 到梦空间 online record).

The request page, its decision and withdrawal are the workflow's (`workflow:detail`).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.selectors import student_class
from bulu.exceptions import AccessDenied, ApplicationError
from bulu.web import current_user, own_request, posted_version
from bulu.workflow.resume import resubmission_message
from bulu.workflow.selectors import request_log
from bulu.workflow.services import EDITABLE_STATES
from personal import services
from personal.forms import OnlineAppliedForm, PersonalItemForm, RequestTitleForm
from personal.models import PersonalRequest
from personal.selectors import (
    evidence_get,
    evidence_staged,
    personal_item_get,
    personal_items_mark_duplicates,
    personal_request_get,
)


def _own(request: HttpRequest, pk: int) -> PersonalRequest:
    return own_request(personal_request_get, request, pk)


@login_required
def request_list(request: HttpRequest) -> HttpResponse:
    return redirect("workflow:mine")


@login_required
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Old links (messages, bookmarks) lead to the shared request page."""
    return redirect("workflow:detail", pk)


@login_required
def request_create(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    if student_class(user=user) is None:
        raise PermissionDenied
    form = RequestTitleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        obj = services.personal_request_create(student=user, title=form.cleaned_data["title"])
        messages.success(request, _("草稿已创建，请添加补录事项。"))
        return redirect("personal:edit", obj.pk)
    return render(request, "personal/create.html", {"form": form})


@login_required
def request_edit(request: HttpRequest, pk: int) -> HttpResponse:
    obj = _own(request, pk)
    if obj.state not in EDITABLE_STATES:
        return redirect("workflow:detail", obj.pk)
    title_form = RequestTitleForm(request.POST or None, initial={"title": obj.title})
    if request.method == "POST" and title_form.is_valid():
        services.personal_request_update(
            request=obj, actor=current_user(request), title=title_form.cleaned_data["title"]
        )
        messages.success(request, _("已保存。"))
        return redirect("personal:edit", obj.pk)
    personal_items_mark_duplicates(request=obj, items=obj.items.all())
    return render(
        request,
        "personal/edit.html",
        {
            "obj": obj,
            "title_form": title_form,
            "log": request_log(request=obj),
            "online_required": settings.BULU_REQUIRE_ONLINE_SUBMISSION,
            "online_asked": True,
        },
    )


def _item_data(form: PersonalItemForm) -> services.ItemData:
    d = form.cleaned_data
    return services.ItemData(
        content=d["content"],
        start_date=d["start_date"],
        end_date=d.get("end_date"),
        category_id=d["category"].pk,
        subcategory_id=d["subcategory"].pk,
        level_id=d["level"].pk,
        awards=d.get("awards") or "",
        credit_type_id=d["credit_type"].pk,
        claimed_value=d["claimed_value"],
        quantity=d.get("quantity"),
        standard_item_id=d["standard_item"].pk if d.get("standard_item") else None,
    )


@login_required
def item_edit(request: HttpRequest, pk: int, item_pk: int | None = None) -> HttpResponse:
    """One form for the item and its evidence (several files at once, the phone camera too).

    Files arrive with the form: they are kept (staged) at once, so a form shown again for a
    wrong date still has them; saving the item attaches them.
    """
    user = current_user(request)
    obj = _own(request, pk)
    item = personal_item_get(user=user, request_pk=pk, item_pk=item_pk) if item_pk else None
    form = PersonalItemForm(request.POST or None, instance=item)
    staged_ids = [int(v) for v in request.POST.getlist("staged") if v.isdigit()]
    if request.method == "POST":
        uploads = [(f.name or "upload", f) for f in request.FILES.getlist("evidence_files")]
        try:
            staged_ids += [
                e.pk for e in services.evidence_stage(request=obj, actor=user, uploads=uploads)
            ]
        except AccessDenied:
            raise
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        if form.is_valid() and not form.non_field_errors():
            try:
                services.personal_item_save(
                    request=obj, actor=user, data=_item_data(form), item=item, staged=staged_ids
                )
            except ValidationError as exc:  # implausible input: shown on its field, kept as typed
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            else:
                messages.success(request, _("事项已保存。"))
                return redirect("personal:edit", obj.pk)
    return render(
        request,
        "personal/item_form.html",
        {
            "obj": obj,
            "item": item,
            "form": form,
            "staged": evidence_staged(request=obj, pks=staged_ids),
        },
    )


@login_required
@require_POST
def item_delete(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    _own(request, pk)
    item = personal_item_get(user=current_user(request), request_pk=pk, item_pk=item_pk)
    services.personal_item_delete(item=item, actor=current_user(request))
    messages.success(request, _("事项已删除。"))
    return redirect("personal:edit", pk)


@login_required
@require_POST
def evidence_delete(request: HttpRequest, pk: int, evidence_pk: int) -> HttpResponse:
    _own(request, pk)
    evidence = evidence_get(user=current_user(request), pk=evidence_pk)
    if evidence.request_id != pk:
        raise PermissionDenied
    services.evidence_delete(evidence=evidence, actor=current_user(request))
    messages.success(request, _("证明材料已删除。"))
    return redirect("personal:edit", pk)


@login_required
def evidence_file(request: HttpRequest, evidence_pk: int) -> FileResponse:
    evidence = evidence_get(user=current_user(request), pk=evidence_pk)
    response = FileResponse(evidence.file.open("rb"), content_type=evidence.content_type)
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_POST
def request_submit(request: HttpRequest, pk: int) -> HttpResponse:
    obj = _own(request, pk)
    services.personal_request_submit(
        request=obj, actor=current_user(request), expected_version=posted_version(request)
    )
    messages.success(request, resubmission_message(obj) or _("已提交，等待辅导员审核。"))
    return redirect("workflow:detail", obj.pk)


@login_required
@require_POST
def item_online(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    obj = _own(request, pk)
    item = personal_item_get(user=current_user(request), request_pk=pk, item_pk=item_pk)
    form = OnlineAppliedForm(request.POST)
    if form.is_valid():
        applied = form.cleaned_data["online_applied"]
        services.personal_item_mark_online(
            item=item,
            actor=current_user(request),
            applied=applied,
            applied_on=form.cleaned_data["online_applied_on"] or timezone.localdate(),
        )
        messages.success(request, _("已记录到梦空间在线提交情况。"))
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, f"{item.content}：{error}")
    # A draft is ticked item by item on its edit page, before it is submitted.
    if obj.state in EDITABLE_STATES:
        return redirect("personal:edit", pk)
    return redirect("workflow:detail", pk)
