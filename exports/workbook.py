"""The 到梦空间 import sheet (附件4) as a batch writes it, streamed with XlsxWriter.

The layout is the school's template (`growth_record_template.xlsx`) cell for cell: row 1 the
merged title (bold 14 pt, centred), row 2 the bold header, rows 3-5 the three sample rows (学号
as text, dates `yyyy/m/d`), row 6 the eight notes (merged, wrapped, 130 pt high), data from row 7,
the template's column widths. XlsxWriter's `constant_memory` mode writes each row to disk as it
goes, so memory stays flat whatever the number of rows.

No cell is ever a formula: every text goes through `write_string`, and text that a spreadsheet
would take for a formula when the cell is edited (= + - @ tab CR ＝) also gets the quote prefix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import xlsxwriter

from imports.roster import COLUMNS, TITLE
from imports.template_xlsx import DATE_FORMAT, FIRST_DATA_ROW, NOTES, SAMPLES, WIDTHS

# (学号, 姓名, 开始时间, 结束时间, 内容, 一级分类, 二级分类, 等级, 奖项, 学分类型, 学分值)
Row = Sequence[Any]

FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r", "＝")
_AWARD_SEPARATORS = re.compile(r"[、,，;；/\n]+")


def looks_like_formula(text: str) -> bool:
    return text.startswith(FORMULA_LEADS)


def awards_joined(text: str) -> str:
    """Several awards joined by 、 as the template's note 3 asks, whatever separated them."""
    return "、".join(p.strip() for p in _AWARD_SEPARATORS.split(text or "") if p.strip())


class SheetWriter:
    """One workbook in the template's layout; `add` rows from row 7, then `close`."""

    def __init__(self, path: Path) -> None:
        self.workbook = xlsxwriter.Workbook(
            str(path),
            {
                "constant_memory": True,
                # Belt and braces: `write` is never used, but nothing may turn text into a
                # formula, a number or a link.
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
            },
        )
        wb = self.workbook
        self.sheet = wb.add_worksheet(TITLE)
        self.title_fmt = wb.add_format({"bold": True, "font_size": 14, "align": "center"})
        self.header_fmt = wb.add_format({"bold": True})
        self.text_fmt = wb.add_format({"num_format": "@"})
        self.text_quoted_fmt = wb.add_format({"num_format": "@", "quote_prefix": True})
        self.quoted_fmt = wb.add_format({"quote_prefix": True})
        self.date_fmt = wb.add_format({"num_format": DATE_FORMAT})
        self.notes_fmt = wb.add_format({"text_wrap": True, "valign": "top"})
        self.row = FIRST_DATA_ROW - 1  # zero-based index of the next data row
        self.rows = 0
        self._head()

    def _head(self) -> None:
        ws = self.sheet
        last = len(COLUMNS) - 1
        for col, width in enumerate(WIDTHS):
            # In pixels (7 per character): `set_column` would add Excel's padding and store
            # 12.71 where the template says 12.
            ws.set_column_pixels(col, col, width * 7)
        ws.merge_range(0, 0, 0, last, TITLE, self.title_fmt)
        for col, name in enumerate(COLUMNS):
            ws.write_string(1, col, name, self.header_fmt)
        for r, sample in enumerate(SAMPLES, start=2):
            self._cells(r, sample, sample_row=True)
        ws.set_row(5, 130)
        ws.merge_range(5, 0, 5, last, NOTES, self.notes_fmt)

    def _text(self, r: int, col: int, value: str, *, student_no: bool = False) -> None:
        quoted = looks_like_formula(value)
        if student_no:
            fmt = self.text_quoted_fmt if quoted else self.text_fmt
        else:
            fmt = self.quoted_fmt if quoted else None
        self.sheet.write_string(r, col, value, fmt)

    def _cells(self, r: int, values: Row, *, sample_row: bool = False) -> None:
        ws = self.sheet
        for col, value in enumerate(values):
            if col == 0:
                self._text(r, col, str(value), student_no=True)
            elif col in (2, 3):
                if isinstance(value, date):
                    when = (
                        value if isinstance(value, datetime) else datetime(*value.timetuple()[:3])
                    )
                    ws.write_datetime(r, col, when, self.date_fmt)
                elif sample_row or col == 3:
                    # The template keeps an empty 结束时间 formatted as a date.
                    ws.write_blank(r, col, None, self.date_fmt)
            elif col == 10:
                if value is not None and value != "":
                    number = float(value) if isinstance(value, Decimal) else value
                    ws.write_number(r, col, number)
            elif value:
                self._text(r, col, str(value))

    def add(self, values: Row) -> None:
        self._cells(self.row, values)
        self.row += 1
        self.rows += 1

    def close(self) -> None:
        self.workbook.close()


def record_row(values: Sequence[Any]) -> Row:
    """A credit record's values (in COLUMNS order) as the sheet shows them."""
    out = list(values)
    out[8] = awards_joined(out[8] or "")
    return out


def write_sheet(path: Path, rows: Iterable[Row]) -> int:
    """Write one workbook of `rows`; returns how many were written."""
    writer = SheetWriter(path)
    try:
        for values in rows:
            writer.add(record_row(values))
    finally:
        writer.close()
    return writer.rows
