"""The personal kind's printable form: 第二课堂个人积分补录申请单 (第六条). Registered through
KindHooks.forms."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy

from bulu.workflow.models import BackfillRequest, Decision, StepRole
from bulu.workflow.registry import PrintForm
from personal.models import PersonalItem, PersonalRequest


def number(value: Decimal | None) -> str:
    return "" if value is None else format(Decimal(value).normalize(), "f")


def form_context(request: BackfillRequest, shared: Mapping[str, Any]) -> dict[str, Any]:
    personal = PersonalRequest.objects.select_related("applicant", "applicant_org__parent").get(
        pk=request.pk
    )
    by_role = shared["boxes_by_role"]
    center = by_role.get(StepRole.CENTER, [])
    # The center recognizes with its approval: before that the column stays empty, as on paper.
    recognized_shown = any(b.decided and b.decision == Decision.APPROVE for b in center)
    items = []
    for item in PersonalItem.objects.filter(request_id=request.pk).select_related(
        "category", "subcategory", "level", "credit_type", "standard_item"
    ):
        category = item.category.name
        if item.subcategory.name != category:
            category = f"{category}/{item.subcategory.name}"
        end = f"\n至{item.end_date:%Y-%m-%d}" if item.end_date else ""
        items.append(
            {
                "content": item.content,
                "period": f"{item.start_date:%Y-%m-%d}{end}",
                "category": category,
                "level": item.level.name,
                "awards": item.awards,
                "credit_type": item.credit_type.name,
                "claimed": number(item.claimed_value),
                "claim": item.claim_text,
                "recognized": number(
                    item.recognized_value
                    if item.recognized_value is not None
                    else item.claimed_value
                ),
                "note": item.recognition_reason,
            }
        )
    klass = personal.applicant_org
    return {
        "personal": personal,
        "student": personal.applicant,
        "klass": klass.name,
        "college": klass.parent.name if klass.parent else "",
        "submitted": request.submitted_at,
        "items": items,
        "recognized_shown": recognized_shown,
        "counselor_boxes": by_role.get(StepRole.COUNSELOR, []),
        "branch_boxes": by_role.get(StepRole.SECRETARY, []),
        "center_boxes": center,
    }


FORM = PrintForm("form", gettext_lazy("个人积分补录申请单"), "pdf/personal.html", form_context)


def personal_forms(request: BackfillRequest) -> Sequence[PrintForm]:
    return [FORM]
