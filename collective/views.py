"""Collective back-fill pages: only what is collective (the four attachments and the roster).

The request page, its decision and withdrawal are the workflow's (`workflow:detail`).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from bulu.exceptions import AccessDenied, ApplicationError
from bulu.web import current_user, own_request, posted_version
from bulu.workflow.resume import resubmission_message
from bulu.workflow.selectors import request_log
from bulu.workflow.services import EDITABLE_STATES
from collective import services
from collective.forms import CollectiveForm, RosterForm, UnitChoiceForm, kept, letter_formsets
from collective.letter import PARTICIPANT_TIER
from collective.models import CollectiveRequest
from collective.selectors import collective_request_get
from imports.entries import roster_totals
from imports.models import RosterUpload


def _polling(upload: RosterUpload | None) -> bool:
    """The roster is still being judged: the page keeps asking."""
    return (
        upload is not None
        and not upload.is_finished
        and upload.status != RosterUpload.Status.FAILED
    )


def _own(request: HttpRequest, pk: int) -> CollectiveRequest:
    return own_request(collective_request_get, request, pk)


@login_required
def request_create(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    units = services.collective_units_for(user=user)
    if not units.exists():
        raise PermissionDenied
    form = UnitChoiceForm(request.POST or None, units=units)
    if request.method == "POST" and form.is_valid():
        obj = services.collective_request_create(actor=user, unit=form.cleaned_data["unit"])
        messages.success(request, _("草稿已创建：可以随时保存，填完后提交。"))
        return redirect("collective:edit", obj.pk)
    return render(request, "collective/create.html", {"form": form})


def _data(form: CollectiveForm, lines: Any, tiers: Any) -> services.CollectiveData:
    d = form.cleaned_data
    standard = d.get("standard_item")
    return services.CollectiveData(
        case=d.get("case") or "",
        activity_name=d.get("activity_name") or "",
        standard_item_id=standard.pk if standard else None,
        points_per_person=d.get("points_per_person"),
        declared_participants=d.get("declared_participants"),
        declared_total=d.get("declared_total"),
        contact_phone=d.get("contact_phone") or "",
        activity_start=d.get("activity_start"),
        activity_end=d.get("activity_end"),
        location=d.get("location") or "",
        credit_details=d.get("credit_details") or "",
        reason=d.get("reason") or "",
        cause=d.get("cause") or "",
        correct_procedure=d.get("correct_procedure") or "",
        prevention=d.get("prevention") or "",
        summary=d.get("summary") or "",
        extra_lines=[
            services.LineData(
                credit_type_id=line["credit_type"].pk,
                points_per_person=line.get("points_per_person"),
                declared_participants=line.get("declared_participants"),
                declared_total=line.get("declared_total"),
            )
            for line in kept(lines)
        ],
        tiers=[
            services.TierData(
                award=t["award"],
                points=t["points"],
                credit_type_id=t["credit_type"].pk if t.get("credit_type") else None,
            )
            for t in kept(tiers)
        ],
    )


def _edit_page(
    request: HttpRequest,
    obj: CollectiveRequest,
    form: CollectiveForm,
    roster_form: RosterForm | None = None,
    status: int = 200,
    formsets: tuple[Any, Any] | None = None,
) -> HttpResponse:
    upload = obj.roster
    lines, tiers = formsets or letter_formsets(obj, None)
    return render(
        request,
        "collective/edit.html",
        {
            "obj": obj,
            "form": form,
            "lines": lines,
            "participant": PARTICIPANT_TIER,
            "tiers": tiers,
            "roster_form": roster_form or RosterForm(),
            "upload": upload,
            "polling": _polling(upload),
            "totals": roster_totals(upload=upload) if upload is not None and upload.ok else None,
            "checks": services.collective_checks(obj),
            "log": request_log(request=obj),
        },
        status=status,
    )


@login_required
def request_edit(request: HttpRequest, pk: int) -> HttpResponse:
    obj = _own(request, pk)
    if obj.state not in EDITABLE_STATES:
        return redirect("workflow:detail", obj.pk)
    form = CollectiveForm(request.POST or None, instance=obj)
    lines, tiers = letter_formsets(obj, request.POST or None)
    if request.method == "POST":
        if form.is_valid() and lines.is_valid() and tiers.is_valid():
            try:
                services.collective_request_update(
                    request=obj, actor=current_user(request), data=_data(form, lines, tiers)
                )
            except AccessDenied:
                raise
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("已保存。"))
                return redirect("collective:edit", obj.pk)
        obj = _own(request, pk)  # the page shows what is stored; the form keeps what was typed
        return _edit_page(request, obj, form, status=400, formsets=(lines, tiers))
    return _edit_page(request, obj, form)


@login_required
@require_POST
def roster_upload(request: HttpRequest, pk: int) -> HttpResponse:
    obj = _own(request, pk)
    roster_form = RosterForm(request.POST, request.FILES)
    if roster_form.is_valid():
        upload = roster_form.cleaned_data["file"]
        try:
            services.collective_roster_attach(
                request=obj, actor=current_user(request), fileobj=upload, filename=upload.name or ""
            )
        except AccessDenied:
            raise
        except ApplicationError as exc:
            roster_form.add_error("file", exc.message)
        else:
            messages.success(request, _("名单已上传，正在校验。"))
            return redirect(f"{obj.get_edit_url()}#roster")
    return _edit_page(request, obj, CollectiveForm(instance=obj), roster_form, status=400)


@login_required
@require_GET
def roster_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The polled fragment: progress while the roster is judged; the page reloads when done."""
    obj = collective_request_get(user=current_user(request), pk=pk)
    upload = obj.roster
    response = render(
        request,
        "collective/_roster_status.html",
        {"obj": obj, "upload": upload, "polling": _polling(upload)},
    )
    if upload is not None and upload.is_finished and request.GET.get("polling"):
        response["HX-Refresh"] = "true"  # the checks below depend on the result
    return response


@login_required
@require_POST
def request_submit(request: HttpRequest, pk: int) -> HttpResponse:
    obj = _own(request, pk)
    services.collective_request_submit(
        request=obj, actor=current_user(request), expected_version=posted_version(request)
    )
    messages.success(request, resubmission_message(obj) or _("已提交，等待审核。"))
    return redirect("workflow:detail", obj.pk)
