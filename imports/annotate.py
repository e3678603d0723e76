"""The annotated workbook: the user's own file with each faulty cell marked, plus a sheet 错误说明.

openpyxl is used here only (writing and styles need it); it parses XML through defusedxml, which
refuses entity declarations (billion laughs) — and without defusedxml we refuse to run at all.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any

import openpyxl
from django.utils.translation import gettext as _
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from accounts.xlsx import xlsx_write_text
from bulu.exceptions import ApplicationError
from imports.roster import COL_NO, Problem, check_xlsx_container

AUTHOR = "二课中心名单校验"
SHEET_NAME = "错误说明"
ERROR_FILL = PatternFill(fill_type="solid", start_color="FFFFC7CE", end_color="FFFFC7CE")
WARNING_FILL = PatternFill(fill_type="solid", start_color="FFFFEB9C", end_color="FFFFEB9C")
_OUR_COLORS = {"FFFFC7CE", "FFFFEB9C"}


class AnnotateError(ApplicationError):
    pass


def _clear_previous_marks(ws: Any) -> None:
    """A re-uploaded annotated file must not keep the marks of the previous round."""
    for row in ws.iter_rows():
        for cell in row:
            comment = cell.comment
            if comment is not None and comment.author == AUTHOR:
                cell.comment = None
                color = cell.fill.start_color.rgb if cell.fill is not None else None
                if cell.fill.fill_type == "solid" and color in _OUR_COLORS:
                    cell.fill = PatternFill(fill_type=None)


def roster_annotate(
    data: bytes,
    *,
    errors: Iterable[Problem],
    warnings: Iterable[Problem],
    columns: dict[str, int],
    progress: Callable[[float], None] | None = None,
) -> bytes:
    """Return the annotated copy of `data` (an xlsx already accepted by `roster_check`).

    `progress` hears 0.5 once the file is loaded and 0.7 before it is saved (loading and saving
    the user's whole file with openpyxl is nearly all of the time).
    """
    if not openpyxl.DEFUSEDXML:
        # OPENPYXL_DEFUSEDXML=False (or a missing defusedxml) would let entities expand.
        raise AnnotateError(_("服务器缺少安全的 XML 解析组件（defusedxml），无法生成标注文件。"))
    buffer = io.BytesIO(data)
    check_xlsx_container(buffer)
    try:
        workbook = openpyxl.load_workbook(buffer, rich_text=False)
    except Exception as exc:  # defusedxml's EntitiesForbidden arrives wrapped in ValueError
        raise AnnotateError(_("无法在该文件上标注错误（文件结构异常）。")) from exc
    if progress is not None:
        progress(0.5)
    ws = workbook.worksheets[0]
    _clear_previous_marks(ws)
    if SHEET_NAME in workbook.sheetnames:
        del workbook[SHEET_NAME]

    errors = list(errors)
    warnings = list(warnings)
    first_col = min(columns.values(), default=1)
    no_col = columns.get(COL_NO, first_col)
    # Cell -> (messages, is error); a cell collects every problem reported on it.
    marks: dict[tuple[int, int], tuple[list[str], bool]] = {}
    for problems, is_error in ((errors, True), (warnings, False)):
        for p in problems:
            if p.row is None:
                continue
            col = no_col if p.column is None else columns.get(p.column, first_col)
            messages, already_error = marks.setdefault((p.row, col), ([], is_error))
            messages.append(f"[{p.code}] {p.message}")
            if is_error and not already_error:
                marks[(p.row, col)] = (messages, True)
    for (row, col), (messages, is_error) in marks.items():
        cell = ws.cell(row=row, column=col)
        cell.fill = ERROR_FILL if is_error else WARNING_FILL
        text = "\n".join(messages)
        comment = Comment(text, AUTHOR)
        comment.width = 320
        comment.height = min(60 + 40 * len(messages), 400)
        cell.comment = comment

    sheet = workbook.create_sheet(SHEET_NAME)
    headers = [_("级别"), _("行"), _("列"), _("代码"), _("说明")]
    for i, title in enumerate(headers, start=1):
        c = sheet.cell(row=1, column=i, value=title)
        c.font = Font(bold=True)
    line = 2
    for problems, level in ((errors, _("错误")), (warnings, _("提醒"))):
        for p in problems:
            xlsx_write_text(sheet.cell(row=line, column=1), level)
            sheet.cell(row=line, column=2, value=p.row)
            column = p.column or ""
            if p.column and p.column in columns:
                column = f"{p.column}（{get_column_letter(columns[p.column])} 列）"
            xlsx_write_text(sheet.cell(row=line, column=3), column)
            xlsx_write_text(sheet.cell(row=line, column=4), p.code)
            xlsx_write_text(sheet.cell(row=line, column=5), p.message)
            line += 1
    if line == 2:
        xlsx_write_text(sheet.cell(row=2, column=5), _("未发现问题。"))
    for letter, width in zip("ABCDE", (8, 8, 22, 22, 90), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    if progress is not None:
        progress(0.7)

    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
