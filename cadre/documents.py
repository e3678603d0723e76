"""The cadre kind's printable form: 学生干部积分补录申请单 (self-reports and unit lists).

Registered through KindHooks.forms; the context contract is in templates/pdf/cadre.html.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Organization
from bulu.workflow.models import BackfillRequest, StepRole
from bulu.workflow.registry import PrintForm
from cadre.models import CadreEntry, CadreRequest
from cadre.texts import unit_display


def _points(value: Decimal) -> str:
    return format(Decimal(value).normalize(), "f")


def form_context(request: BackfillRequest, shared: Mapping[str, Any]) -> dict[str, Any]:
    cadre = CadreRequest.objects.select_related("applicant", "applicant_org__parent").get(
        pk=request.pk
    )
    unit = cadre.applicant_org
    by_role = shared["boxes_by_role"]
    if unit.kind == Organization.Kind.CLASS:
        confirm_role, confirm_title = StepRole.COUNSELOR, _("辅导员确认意见（签字）：")
    elif unit.kind == Organization.Kind.BRANCH:
        confirm_role, confirm_title = StepRole.SECRETARY, _("团总支确认意见（盖章）：")
    else:
        confirm_role, confirm_title = StepRole.ADVISOR, _("指导老师确认意见（签字）：")
    entries = [
        {
            "student_no": e.student_no,
            "name": e.name,
            "position": e.position.name,
            "term_start": e.term_start,
            "term_end": e.term_end,
            "category": e.position.standard_item.subcategory.category.name,
            "credit_type": e.position.standard_item.credit_type.name,
            "value": _points(e.position.standard_item.points),
        }
        for e in CadreEntry.objects.filter(request_id=request.pk).select_related(
            "position__standard_item__subcategory__category", "position__standard_item__credit_type"
        )
    ]
    college = unit.parent if unit.kind == Organization.Kind.BRANCH else unit.college
    return {
        "unit_name": unit_display(unit),
        "college_name": college.name if college else "",
        "contact_phone": cadre.applicant.phone,
        "submitted": request.submitted_at,
        "entries": entries,
        "confirm_title": confirm_title,
        "confirm_boxes": by_role.get(confirm_role, []),
        # A college's 学生会 is confirmed by its own 团总支: no second branch box.
        "has_branch_step": unit.kind != Organization.Kind.BRANCH and college is not None,
        "branch_boxes": by_role.get(StepRole.SECRETARY, []),
        "center_boxes": by_role.get(StepRole.CENTER, []),
    }


FORM = PrintForm("form", gettext_lazy("学生干部积分补录申请单"), "pdf/cadre.html", form_context)


def cadre_forms(request: BackfillRequest) -> Sequence[PrintForm]:
    return [FORM]
