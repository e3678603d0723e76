"""A unit's cadre list (学号 姓名 职务 任职开始 任职结束), from xlsx or typed on the page.

Read with the same tolerant reader as the 附件4 roster (bulu.xlsx: header found by name wherever
it is, full-width and stray spaces forgiven, one 学号 rule) and judged row by row; every problem
names its row and column, and a list with any problem changes nothing.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import IO

import openpyxl
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl.styles import Font

from accounts.models import Membership, Organization, User
from bulu.exceptions import ApplicationError
from bulu.workflow.models import SchoolYear, State
from bulu.xlsx import (
    BadDate,
    Cell,
    is_student_no,
    norm_text,
    parse_date,
    plain_text,
    student_no_message,
    xlsx_find_header,
    xlsx_first_sheet,
    xlsx_header_positions,
    xlsx_open,
    xlsx_sheet_rows,
    xlsx_write_text,
)
from cadre.models import CadreEntry, CadrePosition, CadreRequest
from cadre.terms import term_problem

COL_NO = "学号"
COL_NAME = "姓名"
COL_POSITION = "职务"
COL_START = "任职开始"
COL_END = "任职结束"
COLUMNS = (COL_NO, COL_NAME, COL_POSITION, COL_START, COL_END)
ALIASES = {
    "任职开始时间": COL_START,
    "开始时间": COL_START,
    "任职起始": COL_START,
    "任职结束时间": COL_END,
    "结束时间": COL_END,
    "担任职务": COL_POSITION,
    "职位": COL_POSITION,
}
HEADER_SEARCH_ROWS = 10
MAX_ROWS = 2000


@dataclass(frozen=True)
class ListProblem:
    row: int | None  # Excel row (or table row) number
    column: str | None
    message: str

    def __str__(self) -> str:
        where = ""
        if self.row is not None:
            where = _("第 %(row)s 行") % {"row": self.row}
        if self.column:
            where += f"［{self.column}］"
        return f"{where}{self.message}"


@dataclass
class ListRow:
    row: int
    student: User
    position: CadrePosition
    start: date
    end: date


@dataclass
class ListResult:
    rows: list[ListRow] = field(default_factory=list)
    problems: list[ListProblem] = field(default_factory=list)


class ListError(ApplicationError):
    def __init__(self, problems: list[ListProblem]) -> None:
        super().__init__(
            _("名单有 %(n)s 处问题，未保存任何内容。") % {"n": len(problems)},
            extra={"problems": problems},
        )
        self.problems = problems


@dataclass(frozen=True)
class RawRow:
    """One row as typed: cell values by column name."""

    row: int
    values: dict[str, Cell]


def read_list_file(fileobj: IO[bytes]) -> list[RawRow]:
    """The data rows of an uploaded list; raises ListError for a file that cannot be read."""
    try:
        with xlsx_open(fileobj) as workbook:
            rows = xlsx_sheet_rows(
                xlsx_first_sheet(workbook), max_rows=MAX_ROWS + HEADER_SEARCH_ROWS
            )
    except ApplicationError as exc:
        raise ListError([ListProblem(None, None, exc.message)]) from exc
    header = xlsx_find_header(
        rows[:HEADER_SEARCH_ROWS], known=COLUMNS, min_known=3, aliases=ALIASES
    )
    if header is None:
        raise ListError(
            [
                ListProblem(
                    None,
                    None,
                    _("找不到表头行：请使用下载的空白模板，表头为 %(header)s。")
                    % {"header": " ".join(COLUMNS)},
                )
            ]
        )
    positions, repeated = xlsx_header_positions(rows[header], known=COLUMNS, aliases=ALIASES)
    problems = [
        ListProblem(header + 1, name, _("表头中“%(c)s”列出现了多次。") % {"c": name})
        for name in repeated
    ]
    problems += [
        ListProblem(header + 1, name, _("表头缺少“%(c)s”列。") % {"c": name})
        for name in COLUMNS
        if name not in positions
    ]
    if problems:
        raise ListError(problems)
    out: list[RawRow] = []
    for index in range(header + 1, len(rows)):
        cells = rows[index]
        values = {name: cells[i] if i < len(cells) else "" for name, i in positions.items()}
        if all(norm_text(v) == "" for v in values.values()):
            continue
        out.append(RawRow(index + 1, values))
    return out


def judge_list(
    unit: Organization,
    rows: Sequence[RawRow],
    *,
    year: SchoolYear,
    exclude_request: int | None = None,
) -> ListResult:
    """Every row against the registry, the unit's positions, the school year the notice collects
    (第四条) and the unit's other live lists of that year."""
    result = ListResult()
    problems = result.problems
    if not rows:
        problems.append(ListProblem(None, None, _("名单中没有数据行。")))
        return result
    positions = {
        p.name: p
        for p in CadrePosition.objects.filter(unit_kind=unit.kind, is_active=True).select_related(
            "standard_item__subcategory__category", "standard_item__credit_type"
        )
    }
    numbers = {norm_text(r.values.get(COL_NO)) for r in rows}
    students = {
        u.username: u
        for u in User.objects.filter(
            username__in=numbers, memberships__role=Membership.Role.STUDENT
        )
    }
    classmates: set[str] | None = None
    if unit.kind == Organization.Kind.CLASS:
        classmates = set(
            Membership.objects.filter(organization=unit, role=Membership.Role.STUDENT).values_list(
                "user__username", flat=True
            )
        )
    today = timezone.localdate()
    listed = {
        (student_id, position_id): request_id
        for student_id, position_id, request_id in CadreEntry.objects.filter(
            unit=unit,
            mode=CadreRequest.Mode.UNIT_LIST,
            school_year=year,
            live=True,
        )
        .exclude(request__state__in=(State.WITHDRAWN, State.REJECTED))
        .exclude(request_id=exclude_request)
        .values_list("student_id", "position_id", "request_id")
    }
    seen: dict[tuple[str, str], int] = {}
    for raw in rows:
        before = len(problems)
        student = _row_student(raw, unit, students, classmates, problems)
        title = norm_text(raw.values.get(COL_POSITION))
        position = positions.get(title)
        if not title:
            problems.append(ListProblem(raw.row, COL_POSITION, _("请填写职务。")))
        elif position is None:
            problems.append(
                ListProblem(
                    raw.row,
                    COL_POSITION,
                    _("职务“%(title)s”不在%(kind)s的职务设置中，请改为：%(choices)s。")
                    % {
                        "title": title,
                        "kind": unit.get_kind_display(),
                        "choices": "、".join(positions) or _("（二课中心尚未设置）"),
                    },
                )
            )
        start = _date(raw, COL_START, problems)
        end = _date(raw, COL_END, problems)
        if start is not None and end is not None:
            why = term_problem(start, end, year=year, today=today)
            if why:
                problems.append(ListProblem(raw.row, COL_END, why))
        if student is not None and position is not None:
            key = (student.username, position.name)
            first = seen.setdefault(key, raw.row)
            other = listed.get((student.pk, position.pk))
            if first != raw.row:
                problems.append(
                    ListProblem(
                        raw.row,
                        None,
                        _("与第 %(first)s 行重复（同一学生和职务，%(year)s学年只认定一次）。")
                        % {"first": first, "year": year.label},
                    )
                )
            elif other is not None:
                problems.append(
                    ListProblem(
                        raw.row,
                        None,
                        _(
                            "%(name)s的%(year)s学年%(position)s已在本单位的名单 #%(r)s 中上报，"
                            "不能重复上报。"
                        )
                        % {
                            "name": student.name,
                            "year": year.label,
                            "position": position.name,
                            "r": other,
                        },
                    )
                )
        if len(problems) == before and student and position and start and end:
            result.rows.append(ListRow(raw.row, student, position, start, end))
    return result


def _row_student(
    raw: RawRow,
    unit: Organization,
    students: dict[str, User],
    classmates: set[str] | None,
    problems: list[ListProblem],
) -> User | None:
    """The row's student from the registry (a class list: one of the class), or a problem."""
    no = norm_text(raw.values.get(COL_NO))
    name = plain_text(raw.values.get(COL_NAME))
    student: User | None = None
    if not no:
        problems.append(ListProblem(raw.row, COL_NO, _("请填写学号。")))
    elif not is_student_no(no):
        problems.append(ListProblem(raw.row, COL_NO, student_no_message(no)))
    else:
        student = students.get(no)
        if student is None:
            problems.append(
                ListProblem(raw.row, COL_NO, _("学号 %(no)s 不在学生名册中，请核对。") % {"no": no})
            )
        elif name and name != student.name:
            problems.append(
                ListProblem(
                    raw.row,
                    COL_NAME,
                    _("姓名“%(name)s”与学生名册中学号 %(no)s 的姓名不一致。")
                    % {"name": name, "no": no},
                )
            )
        elif classmates is not None and no not in classmates:
            problems.append(
                ListProblem(
                    raw.row,
                    COL_NO,
                    _("学号 %(no)s 不是“%(klass)s”的学生，班委名单只能填写本班同学。")
                    % {"no": no, "klass": unit.name},
                )
            )
    return student


def _date(raw: RawRow, column: str, problems: list[ListProblem]) -> date | None:
    value = raw.values.get(column)
    try:
        parsed = parse_date(value)
    except BadDate as bad:
        problems.append(
            ListProblem(
                raw.row,
                column,
                _("“%(value)s”不是日期，请写成 2024/9/1 这样的格式。") % {"value": str(bad)},
            )
        )
        return None
    if parsed is None:
        problems.append(ListProblem(raw.row, column, _("请填写%(c)s日期。") % {"c": column}))
    return parsed


def list_template(unit_kind: str) -> bytes:
    """The blank list: the header, a sheet of the configured positions; 学号 as text."""
    workbook = openpyxl.Workbook()
    ws = workbook.active
    assert ws is not None
    ws.title = "学生干部名单"
    for col, name in enumerate(COLUMNS, start=1):
        cell = ws.cell(row=1, column=col, value=name)
        cell.font = Font(bold=True)
    for row in range(2, 202):
        ws.cell(row=row, column=1).number_format = "@"
        for col in (4, 5):
            ws.cell(row=row, column=col).number_format = "yyyy/m/d"
    for letter, width in zip("ABCDE", (14, 10, 16, 14, 14), strict=True):
        ws.column_dimensions[letter].width = width
    sheet = workbook.create_sheet("可填写的职务")
    xlsx_write_text(sheet.cell(row=1, column=1), "职务")
    xlsx_write_text(sheet.cell(row=1, column=2), "认定标准")
    for r, position in enumerate(
        CadrePosition.objects.filter(unit_kind=unit_kind, is_active=True).select_related(
            "standard_item__subcategory__category", "standard_item__credit_type"
        ),
        start=2,
    ):
        xlsx_write_text(sheet.cell(row=r, column=1), position.name)
        xlsx_write_text(sheet.cell(row=r, column=2), str(position.standard_item))
    sheet.column_dimensions["A"].width = 16
    sheet.column_dimensions["B"].width = 60
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
