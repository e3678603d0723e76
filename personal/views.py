"""Personal back-fill pages: thin views over personal.services and personal.selectors."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import User
from accounts.selectors import student_class
from bulu.exceptions import ApplicationError
from bulu.web import domain_errors
from bulu.workflow.models import Decision, State, StepRole
from bulu.workflow.selectors import request_log, request_may_act, windows_open
from imports.models import CreditRecord
from personal import services
from personal.forms import EvidenceForm, OnlineAppliedForm, PersonalItemForm, RequestTitleForm
from personal.models import PersonalItem, PersonalRequest
from personal.selectors import (
    evidence_get,
    my_personal_requests,
    personal_item_get,
    personal_request_get,
)


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _own(request: HttpRequest, pk: int) -> PersonalRequest:
    """The user's own request: 404 if invisible, 403 if visible but someone else's."""
    obj = personal_request_get(user=_user(request), pk=pk)
    if obj.applicant_id != request.user.pk:
        raise PermissionDenied
    return obj


@login_required
def request_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    return render(
        request,
        "personal/list.html",
        {
            "requests": my_personal_requests(user=user),
            "windows": windows_open(kind="personal"),
            "is_student": student_class(user=user) is not None,
        },
    )


@login_required
@domain_errors
def request_create(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if student_class(user=user) is None:
        raise PermissionDenied
    form = RequestTitleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        obj = services.personal_request_create(student=user, title=form.cleaned_data["title"])
        messages.success(request, _("草稿已创建，请添加补录事项。"))
        return redirect("personal:edit", obj.pk)
    return render(request, "personal/create.html", {"form": form})


@login_required
@domain_errors
def request_edit(request: HttpRequest, pk: int) -> HttpResponse:
    obj = _own(request, pk)
    if obj.state not in services.EDITABLE_STATES:
        return redirect("personal:detail", obj.pk)
    title_form = RequestTitleForm(request.POST or None, initial={"title": obj.title})
    if request.method == "POST" and title_form.is_valid():
        services.personal_request_update(
            request=obj, actor=_user(request), title=title_form.cleaned_data["title"]
        )
        messages.success(request, _("已保存。"))
        return redirect("personal:edit", obj.pk)
    return render(
        request,
        "personal/edit.html",
        {
            "obj": obj,
            "title_form": title_form,
            "item_form": PersonalItemForm(),
            "evidence_form": EvidenceForm(),
            "log": request_log(request=obj),
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
        standard_item_id=d["standard_item"].pk if d.get("standard_item") else None,
    )


@login_required
@domain_errors
def item_edit(request: HttpRequest, pk: int, item_pk: int | None = None) -> HttpResponse:
    obj = _own(request, pk)
    item = (
        personal_item_get(user=_user(request), request_pk=pk, item_pk=item_pk) if item_pk else None
    )
    form = PersonalItemForm(request.POST or None, instance=item)
    if request.method == "POST" and form.is_valid():
        try:
            services.personal_item_save(
                request=obj, actor=_user(request), data=_item_data(form), item=item
            )
        except Exception as exc:  # model validation: show on the form, keep what was typed
            from django.core.exceptions import ValidationError

            if not isinstance(exc, ValidationError):
                raise
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            messages.success(request, _("事项已保存。"))
            return redirect("personal:edit", obj.pk)
    return render(request, "personal/item_form.html", {"obj": obj, "item": item, "form": form})


@login_required
@require_POST
@domain_errors
def item_delete(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    _own(request, pk)
    item = personal_item_get(user=_user(request), request_pk=pk, item_pk=item_pk)
    services.personal_item_delete(item=item, actor=_user(request))
    messages.success(request, _("事项已删除。"))
    return redirect("personal:edit", pk)


@login_required
@require_POST
@domain_errors
def evidence_upload(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    _own(request, pk)
    item = personal_item_get(user=_user(request), request_pk=pk, item_pk=item_pk)
    form = EvidenceForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("请选择要上传的文件。"))
    else:
        upload = form.cleaned_data["file"]
        services.evidence_add(item=item, actor=_user(request), upload=upload, name=upload.name)
        messages.success(request, _("证明材料已上传。"))
    return redirect("personal:edit", pk)


@login_required
@require_POST
@domain_errors
def evidence_delete(request: HttpRequest, pk: int, evidence_pk: int) -> HttpResponse:
    _own(request, pk)
    evidence = evidence_get(user=_user(request), pk=evidence_pk)
    if evidence.item.request_id != pk:
        raise PermissionDenied
    services.evidence_delete(evidence=evidence, actor=_user(request))
    messages.success(request, _("证明材料已删除。"))
    return redirect("personal:edit", pk)


@login_required
def evidence_file(request: HttpRequest, evidence_pk: int) -> FileResponse:
    evidence = evidence_get(user=_user(request), pk=evidence_pk)
    response = FileResponse(evidence.file.open("rb"), content_type=evidence.content_type)
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _version(request: HttpRequest) -> int | None:
    raw = request.POST.get("version", "")
    return int(raw) if raw.isdigit() else None


@login_required
@require_POST
@domain_errors
def request_submit(request: HttpRequest, pk: int) -> HttpResponse:
    obj = _own(request, pk)
    services.personal_request_submit(
        request=obj, actor=_user(request), expected_version=_version(request)
    )
    messages.success(request, _("已提交，等待辅导员审核。"))
    return redirect("personal:detail", obj.pk)


@login_required
@require_POST
@domain_errors
def request_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    obj = _own(request, pk)
    services.personal_request_withdraw(
        request=obj, actor=_user(request), expected_version=_version(request)
    )
    messages.success(request, _("申请已撤回。"))
    return redirect("personal:detail", obj.pk)


@login_required
@require_POST
@domain_errors
def item_online(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    _own(request, pk)
    item = personal_item_get(user=_user(request), request_pk=pk, item_pk=item_pk)
    form = OnlineAppliedForm(request.POST)
    if form.is_valid():
        applied = form.cleaned_data["online_applied"]
        services.personal_item_mark_online(
            item=item,
            actor=_user(request),
            applied=applied,
            applied_on=form.cleaned_data["online_applied_on"] or timezone.localdate(),
        )
        messages.success(request, _("已记录到梦空间线上申请情况。"))
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, f"{item.content}：{error}")
    return redirect("personal:detail", pk)


def _render_detail(
    request: HttpRequest,
    obj: PersonalRequest,
    *,
    items: list[PersonalItem] | None = None,
    opinion: str = "",
) -> HttpResponse:
    user = _user(request)
    may_act = request_may_act(user=user, request=obj)
    step = obj.current_step
    log = list(request_log(request=obj))
    last_reason = next(
        (r for r in reversed(log) if r.decision in (Decision.RETURN, Decision.REJECT)), None
    )
    is_owner = obj.applicant_id == user.pk
    return render(
        request,
        "personal/detail.html",
        {
            "obj": obj,
            "items": items if items is not None else list(obj.items.all()),
            "log": log,
            "last_reason": last_reason if obj.state in (State.RETURNED, State.REJECTED) else None,
            "is_owner": is_owner,
            "may_act": may_act,
            "at_center": may_act and step is not None and step.role == StepRole.CENTER,
            "editable": obj.state in services.EDITABLE_STATES and is_owner,
            "may_withdraw": is_owner
            and (
                obj.state in services.EDITABLE_STATES
                or (obj.state == State.PENDING and obj.step_index == 0)
            ),
            "deliveries": CreditRecord.Delivery.choices,
            "credits": obj.credit_records.all(),
            "opinion": opinion,
        },
    )


@login_required
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_detail(request, personal_request_get(user=_user(request), pk=pk))


def _recognitions(request: HttpRequest, obj: PersonalRequest) -> dict[int, services.Recognition]:
    result: dict[int, services.Recognition] = {}
    item: PersonalItem
    for item in obj.items.all():
        raw = request.POST.get(f"value-{item.pk}", "").strip()
        try:
            value = Decimal(raw) if raw else None
        except InvalidOperation as exc:
            raise ApplicationError(
                _("事项“%(item)s”的认定学分值“%(raw)s”不是数字。")
                % {"item": item.content, "raw": raw}
            ) from exc
        result[item.pk] = services.Recognition(
            value=value,
            reason=request.POST.get(f"reason-{item.pk}", ""),
            delivery=request.POST.get(f"delivery-{item.pk}", CreditRecord.Delivery.BATCH),
        )
    return result


@login_required
@require_POST
def request_decide(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    obj = personal_request_get(user=user, pk=pk)
    decision = request.POST.get("decision", "")
    opinion = request.POST.get("opinion", "")
    at_center = obj.current_step is not None and obj.current_step.role == StepRole.CENTER
    try:
        recognitions = _recognitions(request, obj) if at_center else None
        services.personal_request_decide(
            request=obj,
            actor=user,
            decision=decision,
            opinion=opinion,
            expected_version=_version(request),
            recognitions=recognitions if decision == Decision.APPROVE else None,
        )
    except ApplicationError as exc:
        # Show the page again with everything the approver typed, and the reason.
        messages.error(request, exc.message)
        obj = personal_request_get(user=user, pk=pk)
        items = _items_with_posted_values(request, obj) if at_center else None
        return _render_detail(request, obj, items=items, opinion=opinion)
    except PermissionError as exc:
        raise PermissionDenied(str(exc)) from exc
    messages.success(request, _("已处理：%(d)s") % {"d": Decision(decision).label})
    return redirect("workflow:todo")


def _items_with_posted_values(request: HttpRequest, obj: PersonalRequest) -> list[PersonalItem]:
    items = list(obj.items.all())
    for item in items:
        # Shown back exactly as typed, even when it is not a number.
        item.posted_value = request.POST.get(f"value-{item.pk}", "").strip()  # type: ignore[attr-defined]
        item.recognition_reason = request.POST.get(f"reason-{item.pk}", "")
        item.delivery = request.POST.get(f"delivery-{item.pk}", item.delivery)
    return items
