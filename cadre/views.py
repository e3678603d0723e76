"""Cadre back-fill pages: self-report, unit lists, and the center's list of missing units.

The request page, its decision and withdrawal are the workflow's (`workflow:detail`).
"""

from __future__ import annotations

from collections import defaultdict
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Organization
from accounts.selectors import student_class, user_scope
from bulu.exceptions import AccessDenied, ApplicationError
from bulu.web import current_user, own_request, posted_version
from bulu.workflow.models import Kind, Window
from bulu.workflow.resume import resubmission_message
from bulu.workflow.selectors import request_log
from bulu.workflow.services import EDITABLE_STATES
from cadre import services
from cadre.forms import ListFileForm, SelfReportForm, UnitChoiceForm
from cadre.lists import (
    COL_END,
    COL_NAME,
    COL_NO,
    COL_POSITION,
    COL_START,
    ListError,
    RawRow,
    list_template,
)
from cadre.models import CadrePosition, CadreRequest, UnitKind
from cadre.selectors import cadre_request_get, evidence_get, units_expected

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TABLE_ROWS_EXTRA = 5


def _own(request: HttpRequest, pk: int) -> CadreRequest:
    return own_request(cadre_request_get, request, pk)


@login_required
def start(request: HttpRequest) -> HttpResponse:
    """学生干部积分补录: report one's own service, or hand in a unit's list."""
    user = current_user(request)
    is_student = student_class(user=user) is not None
    units = services.list_units(user=user)
    if not is_student and not units.exists():
        raise PermissionDenied
    return render(
        request,
        "cadre/start.html",
        {"is_student": is_student, "units": units, "unit_form": UnitChoiceForm(units=units)},
    )


def _self_form_context(
    request: HttpRequest, form: SelfReportForm, obj: CadreRequest | None
) -> dict[str, object]:
    return {"form": form, "obj": obj, "positions": CadrePosition.objects.filter(is_active=True)}


@login_required
def self_report(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    user = current_user(request)
    if student_class(user=user) is None:
        raise PermissionDenied
    obj = _own(request, pk) if pk else None
    if obj is not None and obj.state not in EDITABLE_STATES:
        return redirect("workflow:detail", obj.pk)
    initial = {}
    if obj is not None:
        entry = obj.entries.first()
        if entry is not None:
            initial = {
                "unit": obj.applicant_org_id,
                "position": entry.position_id,
                "term_start": entry.term_start,
                "term_end": entry.term_end,
            }
    units = services.self_report_units(student=user)
    form = SelfReportForm(request.POST or None, request.FILES or None, units=units, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            obj = services.cadre_self_report_save(
                student=user,
                request=obj,
                data=services.ServiceData(
                    unit_id=d["unit"].pk,
                    position_id=d["position"].pk,
                    term_start=d["term_start"],
                    term_end=d["term_end"],
                ),
                uploads=[(f.name or "upload", f) for f in d["evidence_files"]],
            )
        except AccessDenied:
            raise
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("已保存，请核对后提交。"))
            return redirect("workflow:detail", obj.pk)
    try:
        window: Window | None = services.collecting_window(request=obj)
    except ApplicationError:
        window = None  # saving says why
    return render(
        request,
        "cadre/self_report.html",
        {"form": form, "obj": obj, "window": window},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def list_create(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    form = UnitChoiceForm(request.POST, units=services.list_units(user=user))
    if not form.is_valid():
        raise PermissionDenied
    obj = services.cadre_list_create(actor=user, unit=form.cleaned_data["unit"])
    messages.success(request, _("名单草稿已创建：可以导入 Excel 名单，或在页面上逐行填写。"))
    return redirect("cadre:list_edit", obj.pk)


def _table_rows(obj: CadreRequest, extra: int) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = [
        {
            "no": e.student_no,
            "name": e.name,
            "position": e.position.name,
            "start": e.term_start.isoformat(),
            "end": e.term_end.isoformat(),
        }
        for e in obj.entries.select_related("position")
    ]
    return rows + [{} for _ in range(extra)]


def _posted_rows(request: HttpRequest) -> tuple[list[RawRow], list[dict[str, object]]]:
    count = min(int(request.POST.get("rows", "0") or 0), 500)
    raw: list[RawRow] = []
    shown: list[dict[str, object]] = []
    for i in range(1, count + 1):
        values = {
            COL_NO: request.POST.get(f"no-{i}", ""),
            COL_NAME: request.POST.get(f"name-{i}", ""),
            COL_POSITION: request.POST.get(f"position-{i}", ""),
            COL_START: request.POST.get(f"start-{i}", ""),
            COL_END: request.POST.get(f"end-{i}", ""),
        }
        shown.append(
            {
                "no": values[COL_NO],
                "name": values[COL_NAME],
                "position": values[COL_POSITION],
                "start": values[COL_START],
                "end": values[COL_END],
            }
        )
        if any(str(v).strip() for v in values.values()):
            raw.append(RawRow(i, dict(values)))
    return raw, shown


def _list_page(
    request: HttpRequest,
    obj: CadreRequest,
    *,
    file_form: ListFileForm | None = None,
    problems: list[str] | None = None,
    rows: list[dict[str, object]] | None = None,
    status: int = 200,
) -> HttpResponse:
    extra = TABLE_ROWS_EXTRA + (TABLE_ROWS_EXTRA if request.GET.get("more") else 0)
    table = rows if rows is not None else _table_rows(obj, extra)
    try:
        window: Window | None = services.collecting_window(request=obj)
    except ApplicationError:
        window = None  # saving says why
    return render(
        request,
        "cadre/list_edit.html",
        {
            "obj": obj,
            "file_form": file_form or ListFileForm(),
            "problems": problems or [],
            "table": table,
            "positions": services.positions_for(obj.applicant_org),
            "entries": obj.entries.select_related("position"),
            "log": request_log(request=obj),
            "window": window,
        },
        status=status,
    )


@login_required
def list_edit(request: HttpRequest, pk: int) -> HttpResponse:
    obj = _own(request, pk)
    if obj.mode != CadreRequest.Mode.UNIT_LIST:
        raise Http404
    if obj.state not in EDITABLE_STATES:
        return redirect("workflow:detail", obj.pk)
    if request.method != "POST":
        return _list_page(request, obj)
    user = current_user(request)
    if "file" in request.FILES:
        file_form = ListFileForm(request.POST, request.FILES)
        if not file_form.is_valid():
            return _list_page(request, obj, file_form=file_form, status=400)
        try:
            n = services.cadre_list_upload(
                request=obj, actor=user, fileobj=file_form.cleaned_data["file"]
            )
        except ListError as exc:
            return _list_page(request, obj, problems=[str(p) for p in exc.problems], status=400)
    else:
        raw, shown = _posted_rows(request)
        try:
            n = services.cadre_list_replace(request=obj, actor=user, rows=raw)
        except ListError as exc:
            return _list_page(
                request, obj, problems=[str(p) for p in exc.problems], rows=shown, status=400
            )
        except AccessDenied:
            raise
        except ApplicationError as exc:  # e.g. the notice closed: the typed rows stay shown
            return _list_page(request, obj, problems=[exc.message], rows=shown, status=400)
    messages.success(request, _("名单已保存：%(n)s 人次。") % {"n": n})
    return redirect("cadre:list_edit", obj.pk)


@login_required
def list_template_download(request: HttpRequest, unit_kind: str) -> HttpResponse:
    if unit_kind not in UnitKind.values:
        raise Http404
    if not services.list_units(user=current_user(request)).exists():
        raise PermissionDenied
    response = HttpResponse(list_template(unit_kind), content_type=XLSX_TYPE)
    name = quote(f"学生干部名单模板（{UnitKind(unit_kind).label}）.xlsx")
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{name}"
    return response


@login_required
def request_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """The edit page of either mode (the shared request page links here)."""
    obj = _own(request, pk)
    if obj.mode == CadreRequest.Mode.UNIT_LIST:
        return redirect("cadre:list_edit", obj.pk)
    return redirect("cadre:self_edit", obj.pk)


@login_required
@require_POST
def request_submit(request: HttpRequest, pk: int) -> HttpResponse:
    obj = _own(request, pk)
    services.cadre_request_submit(
        request=obj, actor=current_user(request), expected_version=posted_version(request)
    )
    messages.success(request, resubmission_message(obj) or _("已提交，等待确认任职。"))
    return redirect("workflow:detail", obj.pk)


@login_required
def evidence_file(request: HttpRequest, pk: int) -> FileResponse:
    evidence = evidence_get(user=current_user(request), pk=pk)
    response = FileResponse(evidence.file.open("rb"), content_type=evidence.content_type)
    response["Content-Disposition"] = "inline"
    return response


def _cadre_window(request: HttpRequest) -> Window | None:
    windows = Window.objects.filter(kind=Kind.CADRE, is_published=True).order_by("-opens_at")
    chosen = request.GET.get("window") or request.POST.get("window") or ""
    if chosen.isdigit():
        return windows.filter(pk=int(chosen)).first()
    now = timezone.now()
    return windows.filter(opens_at__lte=now, closes_at__gt=now).first() or windows.first()


@login_required
def unsubmitted(request: HttpRequest) -> HttpResponse:
    """The center's view of a cadre notice: which units have handed in their list, per college."""
    user = current_user(request)
    if not user_scope(user=user).org_ids("approve_as_center"):
        raise PermissionDenied
    window = _cadre_window(request)
    if request.method == "POST":
        if window is None:
            raise Http404
        ids = [int(v) for v in request.POST.getlist("unit") if v.isdigit()]
        n = services.cadre_remind_units(actor=user, window_id=window.pk, unit_ids=ids)
        messages.success(
            request, _("已提醒 %(n)s 个单位（今天已提醒过的不再重复提醒）。") % {"n": n}
        )
        return redirect(f"{request.path}?window={window.pk}")
    units = units_expected(window=window) if window else []
    per_college: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for unit, handed_in in units:
        college = _college_name(unit)
        per_college[college][0] += 1
        per_college[college][1] += int(handed_in)
    return render(
        request,
        "cadre/unsubmitted.html",
        {
            "window": window,
            "windows": Window.objects.filter(kind=Kind.CADRE).order_by("-opens_at"),
            "missing": [u for u, handed_in in units if not handed_in],
            "per_college": sorted(
                (name, total, done, total - done) for name, (total, done) in per_college.items()
            ),
            "is_open": bool(window and window.is_open()),
        },
    )


def _college_name(unit: Organization) -> str:
    if unit.kind == Organization.Kind.BRANCH and unit.parent:
        return unit.parent.name
    college = unit.college
    return college.name if college else _("校级组织")
