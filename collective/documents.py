"""The collective kind's printable forms: 附件2 申请书, 附件3 申请单 (+ the roster's table pages)
and, in case (二), 附件5 情况说明. Registered through KindHooks.forms."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bulu.workflow.models import BackfillRequest, StepRole
from bulu.workflow.registry import PrintForm
from collective import letter
from collective.models import CollectiveRequest
from collective.selectors import unit_phrase
from imports.entries import roster_totals
from imports.models import RosterEntry

# The roster's table pages. A table of 500 rows × 9 cells takes WeasyPrint ~20 s to lay out
# (per-cell layout), so each row is one preformatted text line in AR PL UMing — a dual-width font:
# a Latin character is exactly half a CJK one — with the columns padded to a fixed number of
# half-width cells and the column rules drawn once per page: ~10× faster, the same table on paper.
ROSTER_COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("seq", "序号", 4),
    ("student_no", "学号", 12),
    ("name", "姓名", 8),
    ("period", "时间", 12),
    ("content", "内容", 27),
    ("category", "活动分类", 17),
    ("level", "等级", 6),
    ("credit_type", "学分类型", 12),
    ("value", "学分值", 6),
)
ROSTER_CELLS = sum(width for *_key, width in ROSTER_COLUMNS) + 2 * len(ROSTER_COLUMNS)
ROSTER_LINES_PER_PAGE = 48  # text lines under the header line (8 pt, A4 portrait)
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
    lines = letter.letter_lines(collective)
    return {
        "collective": collective,
        # One line per credit type (附件2's sentence, 附件3's 积分明细), never a sum across types.
        "letter_phrase": letter.letter_phrase(lines),
        "detail_lines": letter.detail_lines(lines),
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
        content = e["content"]
        if e["award"]:
            content += f"（{e['award']}）"
        if e["excluded"]:
            content += f"【不予发放：{e['excluded_reason']}】"
        end = e["end_date"]
        cells_row = {
            "seq": seq,
            "student_no": e["student_no"],
            "name": e["name"],
            "period": f"{e['start_date']:%Y-%m-%d}"
            + (f"\n至{end:%Y-%m-%d}" if end and end != e["start_date"] else ""),
            "content": content,
            "category": category,
            "level": e["level"],
            "credit_type": e["credit_type"],
            "value": number(e["value"]),
        }
        rows.append({**cells_row, "text": roster_text(cells_row)})
    return rows


def cells(text: str) -> int:
    """Width in half-width cells: CJK (wide, full-width and ambiguous) characters take two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WFA" else 1 for char in text)


def wrap(text: str, width: int) -> list[str]:
    """`text` cut into lines of at most `width` cells (a line break in it starts a new line)."""
    lines: list[str] = []
    for part in (text or "").replace("\r", "").split("\n"):
        line, used = "", 0
        for char in part.replace("\t", " "):
            size = cells(char)
            if used + size > width and line:
                lines.append(line)
                line, used = "", 0
            line += char
            used += size
        lines.append(line)
    return lines or [""]


def _line(values: Sequence[str]) -> str:
    return (
        " "
        + "  ".join(
            value + " " * (width - cells(value))
            for value, (_key, _label, width) in zip(values, ROSTER_COLUMNS, strict=True)
        )
        + " "
    )


def roster_text(row: Mapping[str, Any]) -> str:
    """One roster row as fixed-width text lines (long values wrap inside their column)."""
    columns = [wrap(str(row[key] or ""), width) for key, _label, width in ROSTER_COLUMNS]
    height = max(len(c) for c in columns)
    return "\n".join(_line([c[i] if i < len(c) else "" for c in columns]) for i in range(height))


def roster_rules() -> list[str]:
    """Where the column rules go, in em of the roster's font (a cell is half an em)."""
    rules, start = [], 1
    for _key, _label, width in ROSTER_COLUMNS[:-1]:
        start += width + 2
        rules.append(f"{(start - 1) / 2:.2f}")
    return rules


def roster_pages(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Rows split so that each page's lines fit under its header, wrapped values included."""
    pages: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    used = 0
    for row in rows:
        lines = row["text"].count("\n") + 1
        if current and used + lines > ROSTER_LINES_PER_PAGE:
            pages.append(current)
            current, used = [], 0
        current.append(row)
        used += lines
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
                "roster_rows": len(rows),
                "roster_header": _line([label for _key, label, _width in ROSTER_COLUMNS]),
                "roster_rules": roster_rules(),
                "roster_width": f"{ROSTER_CELLS / 2:.2f}",
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
