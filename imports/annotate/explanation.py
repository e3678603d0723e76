"""The 错误说明 sheet listing every problem."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator

from django.utils.translation import gettext as _
from openpyxl.utils import get_column_letter

from bulu.xlsx import xlsx_text_is_risky
from imports.annotate.comments import _letter
from imports.annotate.marks import NS_MAIN, _Problems
from imports.annotate.markup import _entry, _esc
from imports.annotate.styles import _Styles


def _write_explanation(
    target: zipfile.ZipFile, path: str, problems: _Problems, styles: _Styles
) -> None:
    """错误说明: one line per problem (level, row, column, Chinese label, message)."""
    bold = styles.cell(0, None, bold=True)
    risky = styles.cell(0, None, quote=True)
    with _entry(target, path) as out:
        out.write(
            b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="'
            + NS_MAIN.encode()
            + b'"><sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2"'
            b' activePane="bottomLeft" state="frozen"/></sheetView></sheetViews><cols>'
            + b"".join(
                b'<col min="%d" max="%d" width="%d" customWidth="1"/>' % (i, i, w)
                for i, w in enumerate((8, 8, 22, 22, 90), start=1)
            )
            + b"</cols><sheetData>"
        )
        header = [_("级别"), _("行"), _("列"), _("代码"), _("说明")]
        out.write(
            b'<row r="1">%s</row>'
            % b"".join(
                _text_cell(b"%s1" % _letter(i), bold, _esc(h)) for i, h in enumerate(header, 1)
            )
        )
        line = 1
        for level, row, column, label, message in _explanation_lines(problems):
            line += 1
            cells = [_text_cell(b"A%d" % line, 0, level)]
            if row is not None:
                cells.append(b'<c r="B%d"><v>%d</v></c>' % (line, row))
            if column:
                cells.append(_text_cell(b"C%d" % line, 0, column))
            cells.append(_text_cell(b"D%d" % line, 0, label))
            style = risky if xlsx_text_is_risky(message) else 0
            cells.append(_text_cell(b"E%d" % line, style, _esc(message)))
            out.write(b'<row r="%d">%s</row>' % (line, b"".join(cells)))
        if problems.left_out:
            line += 1
            more = _(
                "另有 %(n)s 处问题未在本文件中逐一列出和标注（问题太多）。"
                "请先按以上说明修改，重新上传后再看其余问题。"
            ) % {"n": problems.left_out}
            out.write(b'<row r="%d">%s</row>' % (line, _text_cell(b"E%d" % line, 0, _esc(more))))
        if line == 1:
            out.write(b'<row r="2">%s</row>' % _text_cell(b"E2", 0, _esc(_("未发现问题。"))))
        out.write(b"</sheetData></worksheet>")


def _explanation_lines(
    problems: _Problems,
) -> Iterator[tuple[bytes, int | None, bytes, bytes, str]]:
    """(level, row, column, label, message) with the repeated parts escaped once."""
    columns: dict[str, bytes] = {}
    labels: dict[str, bytes] = {}
    for items, level in ((problems.errors, _("错误")), (problems.warnings, _("提醒"))):
        level_text = _esc(level)
        for p in items:
            column = columns.get(p.column or "")
            if column is None:
                text = p.column or ""
                if p.column and p.column in problems.columns:
                    text = f"{p.column}（{get_column_letter(problems.columns[p.column])} 列）"
                column = columns[p.column or ""] = _esc(text)
            label = labels.get(p.code)
            if label is None:
                label = labels[p.code] = _esc(problems.label(p.code))
            yield level_text, p.row, column, label, p.message


def _text_cell(ref: bytes, style: int, text: bytes) -> bytes:
    """An inline-string cell of 错误说明 (`text` already escaped)."""
    style_attr = b' s="%d"' % style if style else b""
    return b'<c r="%s"%s t="inlineStr"><is><t xml:space="preserve">%s</t></is></c>' % (
        ref,
        style_attr,
        text,
    )
