"""One statistics table as an xlsx workbook: numbers as numbers, every text as a text cell.

openpyxl (already a dependency) reads a value starting with "=" as a formula; text cells are
therefore typed explicitly after assignment, and text that a spreadsheet would evaluate when the
cell is edited (`bulu.xlsx.xlsx_text_is_risky`) also gets the quote prefix.
"""

from __future__ import annotations

from decimal import Decimal
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font, Protection
from openpyxl.utils import get_column_letter

from bulu.xlsx import xlsx_text_is_risky
from stats.tables import Table


def _put(ws: Any, row: int, col: int, value: Any, *, bold: bool = False) -> None:
    cell = ws.cell(row=row, column=col)
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        text = "" if value is None else str(value)
        cell.value = text
        cell.data_type = "s"  # never a formula, whatever the text starts with
        if xlsx_text_is_risky(text):
            cell.quotePrefix = True
    else:
        cell.value = value
    if bold:
        cell.font = Font(bold=True)
    cell.protection = Protection(locked=True)


def table_workbook(table: Table, *, scope_label: str) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = table.key[:31]
    _put(ws, 1, 1, f"{table.title}（{scope_label}）", bold=True)
    for c, name in enumerate(table.columns, start=1):
        _put(ws, 2, c, name, bold=True)
        ws.column_dimensions[get_column_letter(c)].width = max(10, min(40, 2 * len(str(name)) + 2))
    for r, row in enumerate(table.rows, start=3):
        for c, value in enumerate(row, start=1):
            _put(ws, r, c, value)
    if table.note:
        _put(ws, len(table.rows) + 4, 1, table.note)
    out = BytesIO()
    wb.save(out)
    return out.getvalue()
