"""The collective kind's printable forms: 附件2 申请书, 附件3 申请单 (+ the roster's table pages)
and, in case (二), 附件5 情况说明. Registered through KindHooks.forms."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bulu.workflow.models import BackfillRequest, StepRole
from bulu.workflow.registry import PrintForm
from collective.models import CollectiveRequest
from collective.selectors import unit_phrase
from imports.entries import roster_totals
from imports.models import RosterEntry

ROSTER_ROWS_PER_PAGE = 34
# Roster page geometry (templates/pdf/collective_form.html, 8.5 pt text): the text width in mm of
# the columns that may wrap (their <col> widths less 2 mm padding; 内容 takes what is left of
# the 174 mm), and the
# height a page has for rows. Rows are split into pages here
# (not by the renderer) so each page can say "名单第 x / y 页" and carry its own count.
ROSTER_COLUMNS_MM = {
    "student_no": 19.0,
    "name": 12.0,
    "period": 18.0,
    "content": 48.0,
    "category": 14.0,
    "level": 8.0,
    "credit_type": 20.0,
}
ROSTER_LINE_MM = 3.9
ROSTER_ROW_PADDING_MM = 2.0
ROSTER_PAGE_ROWS_MM = 205.0
LATER_ROLES = (StepRole.CENTER, StepRole.COMMITTEE)


def number(value: Decimal | int | None) -> str:
    """0.50 -> "0.5", 24.00 -> "24" (as written on paper)."""
    if value is None:
        return ""
    text = format(Decimal(value).normalize(), "f")
    return text


def period(start: date | None, end: date | None) -> str:
    if start is None:
        return ""
    if end is None or end == start:
        return f"{start:%Y-%m-%d}"
    return f"{start:%Y-%m-%d} 至 {end:%Y-%m-%d}"


def _collective(request: BackfillRequest) -> CollectiveRequest:
    return CollectiveRequest.objects.select_related(
        "applicant_org__parent", "standard_item__subcategory__category", "roster"
    ).get(pk=request.pk)


def _first(shared: Mapping[str, Any]) -> tuple[list[Any], str]:
    """The boxes of the steps before the center (advisor or secretary, and a club's branch)."""
    boxes = [b for b in shared["boxes"] if b.role not in LATER_ROLES]
    first = boxes[0] if boxes else None
    title = (
        _("团总支书记意见：")
        if first is not None and first.role == StepRole.SECRETARY
        else _("指导老师意见：")
    )
    return boxes, title


def _common(request: BackfillRequest, shared: Mapping[str, Any]) -> dict[str, Any]:
    collective = _collective(request)
    first_boxes, first_title = _first(shared)
    return {
        "collective": collective,
        "submitted": request.submitted_at,
        "first_boxes": first_boxes,
        "first_title": first_title,
    }


def letter_context(request: BackfillRequest, shared: Mapping[str, Any]) -> dict[str, Any]:
    context = _common(request, shared)
    collective: CollectiveRequest = context["collective"]
    # The letter names the advisor's (or secretary's) own step only.
    context["first_boxes"] = context["first_boxes"][:1]
    standard = collective.standard_item
    context.update(
        {
            "unit_phrase": unit_phrase(collective.applicant_org),
            "category": standard.subcategory.category.name if standard else "",
            "number": standard.number if standard else "",
            "points": number(collective.points_per_person),
            "participants": collective.declared_participants or "",
            "total": number(collective.declared_total),
        }
    )
    return context


def _roster_rows(upload_id: int) -> list[dict[str, Any]]:
    rows = []
    fields = (
        "student_no",
        "name",
        "start_date",
        "end_date",
        "content",
        "category",
        "subcategory",
        "level",
        "award",
        "credit_type",
        "value",
        "excluded",
        "excluded_reason",
    )
    entries = RosterEntry.objects.filter(upload_id=upload_id).order_by("excel_row")
    for seq, e in enumerate(entries.values(*fields), start=1):
        category = e["category"]
        if e["subcategory"] and e["subcategory"] != category:
            category = f"{category}/{e['subcategory']}"
        rows.append(
            {
                **e,
                "seq": seq,
                "period": period(e["start_date"], e["end_date"]),
                "category": category,
                "value": number(e["value"]),
            }
        )
    return rows


def _text_mm(text: str) -> float:
    """Printed width at 8.5 pt: a CJK character is 1 em (3 mm), Latin and digits about half."""
    return sum(3.0 if ord(char) > 0x2E7F else 1.7 for char in text)


def _lines(text: str, width_mm: float) -> int:
    if not text:
        return 1
    return max(1, -int(-_text_mm(text) // width_mm))


def _row_mm(row: dict[str, Any]) -> float:
    cells = {**row, "content": _content_cell(row)}
    lines = max(_lines(str(cells[key] or ""), mm) for key, mm in ROSTER_COLUMNS_MM.items())
    return lines * ROSTER_LINE_MM + ROSTER_ROW_PADDING_MM


def _content_cell(row: dict[str, Any]) -> str:
    text = row["content"]
    if row["award"]:
        text += f"（{row['award']}）"
    if row["excluded"]:
        text += f"【不予发放：{row['excluded_reason']}】"
    return str(text)


def roster_pages(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Rows split so that each page's rows fit its table, wrapped text included."""
    pages: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    used = 0.0
    for row in rows:
        height = _row_mm(row)
        if current and (
            used + height > ROSTER_PAGE_ROWS_MM or len(current) >= ROSTER_ROWS_PER_PAGE
        ):
            pages.append(current)
            current, used = [], 0.0
        current.append(row)
        used += height
    if current:
        pages.append(current)
    return pages


def form_context(request: BackfillRequest, shared: Mapping[str, Any]) -> dict[str, Any]:
    context = _common(request, shared)
    collective: CollectiveRequest = context["collective"]
    by_role = shared["boxes_by_role"]
    context.update(
        {
            "period": period(collective.activity_start, collective.activity_end),
            "center_boxes": by_role.get(StepRole.CENTER, []),
            "committee_boxes": by_role.get(StepRole.COMMITTEE, []),
        }
    )
    if collective.roster_id is not None:
        rows = _roster_rows(collective.roster_id)
        pages = list(enumerate(roster_pages(rows), start=1))
        assert collective.roster is not None
        totals = roster_totals(upload=collective.roster)
        context.update(
            {
                "roster_pages": pages,
                "roster_page_count": len(pages),
                "totals": totals,
                "totals_display": [(t, number(v)) for t, v in totals["per_type"].items()],
            }
        )
    return context


def explanation_context(request: BackfillRequest, shared: Mapping[str, Any]) -> dict[str, Any]:
    context = _common(request, shared)
    context["first_boxes"] = context["first_boxes"][:1]
    return context


LETTER = PrintForm("letter", gettext_lazy("申请书"), "pdf/collective_letter.html", letter_context)
FORM = PrintForm("form", gettext_lazy("申请单及人员名单"), "pdf/collective_form.html", form_context)
EXPLANATION = PrintForm(
    "explanation", gettext_lazy("情况说明"), "pdf/collective_explanation.html", explanation_context
)


def collective_forms(request: BackfillRequest) -> Sequence[PrintForm]:
    case = CollectiveRequest.objects.filter(pk=request.pk).values_list("case", flat=True).first()
    forms = [LETTER, FORM]
    if case == CollectiveRequest.Case.UNFINISHED:
        forms.append(EXPLANATION)
    return forms
