"""The school calendar (学年) from a sheet: 学年 开学日期 教学周结束 学年结束, one row a year."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import IO, Any

from django.db import transaction
from django.utils.translation import gettext as _

from bulu.exceptions import ApplicationError
from bulu.workflow.models import SchoolYear
from bulu.xlsx import (
    BadDate,
    norm_text,
    parse_date,
    xlsx_find_header,
    xlsx_first_sheet,
    xlsx_header_positions,
    xlsx_open,
    xlsx_sheet_rows,
)

COLUMNS = ("学年", "开学日期", "教学周结束", "学年结束")


@dataclass
class CalendarImport:
    created: int
    updated: int


def _label(text: str) -> str | None:
    parts = text.replace("学年", "").replace("—", "-").replace("－", "-").split("-")
    if len(parts) != 2 or not all(p.isdigit() and len(p) == 4 for p in parts):
        return None
    first, second = int(parts[0]), int(parts[1])
    return f"{first}-{second}" if second == first + 1 else None


def _row_dates(cells: dict[str, Any], where: str, problems: list[str]) -> list[date]:
    """The row's three dates, in column order; each missing or bad one adds a problem."""
    dates: list[date] = []
    for column in COLUMNS[1:]:
        try:
            parsed = parse_date(cells[column])
        except BadDate as bad:
            problems.append(
                _("%(where)s［%(c)s］：“%(v)s”不是日期。")
                % {"where": where, "c": column, "v": str(bad)}
            )
            continue
        if parsed is None:
            problems.append(_("%(where)s［%(c)s］：请填写日期。") % {"where": where, "c": column})
        else:
            dates.append(parsed)
    return dates


def school_years_import(*, fileobj: IO[bytes]) -> CalendarImport:
    """Create or update each row's school year — all of them, or none when any row has a problem
    (ApplicationError listing every problem by row and column)."""
    with xlsx_open(fileobj) as workbook:
        rows = xlsx_sheet_rows(xlsx_first_sheet(workbook), max_rows=200)
    header = xlsx_find_header(rows[:10], known=COLUMNS, min_known=4)
    if header is None:
        raise ApplicationError(
            _("找不到表头行，表头应为 %(header)s。") % {"header": " ".join(COLUMNS)}
        )
    at, _repeated = xlsx_header_positions(rows[header], known=COLUMNS)
    problems: list[str] = []
    years: dict[str, tuple[date, date, date]] = {}
    for n, row in enumerate(rows[header + 1 :], start=header + 2):
        cells = {c: (row[i] if i < len(row) else "") for c, i in at.items()}
        if not any(norm_text(v) for v in cells.values()):
            continue
        where = _("第 %(n)s 行") % {"n": n}
        label = _label(norm_text(cells["学年"]))
        if label is None:
            problems.append(
                _("%(where)s［学年］：“%(v)s”应写成 2025-2026。")
                % {"where": where, "v": norm_text(cells["学年"])}
            )
        dates = _row_dates(cells, where, problems)
        if label is None or len(dates) != 3:
            continue
        starts, teaching_ends, ends = dates
        if not starts < teaching_ends <= ends:
            problems.append(
                _("%(where)s：日期应依次为开学、教学周结束、学年结束。") % {"where": where}
            )
        elif label in years:
            problems.append(_("%(where)s：%(label)s学年重复。") % {"where": where, "label": label})
        else:
            years[label] = (starts, teaching_ends, ends)
    if problems:
        raise ApplicationError(" ".join(problems))
    if not years:
        raise ApplicationError(_("表中没有学年。"))
    created = updated = 0
    with transaction.atomic():
        for label, (starts, teaching_ends, ends) in years.items():
            _year, was_created = SchoolYear.objects.update_or_create(
                label=label,
                defaults={"starts_on": starts, "teaching_ends_on": teaching_ends, "ends_on": ends},
            )
            created += was_created
            updated += not was_created
    return CalendarImport(created, updated)
