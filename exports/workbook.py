"""The 到梦空间 import sheet (附件4) as a batch writes it: the school's template plus rows.

The package is the template's own (`growth_record_template.xlsx`): the same parts, the same
styles (plus two quote-prefixed text styles), the same rows 1-6 — the merged title (bold 14 pt,
centred), the bold header, the three sample rows (学号 as text, dates `yyyy/m/d`), the eight
notes (merged, wrapped, 130 pt high), the same column widths — and the data from row 7.

The worksheet XML is streamed row by row into the zip (XlsxWriter's per-cell Python cost was the
whole time budget: ~11 s for 100k rows here, see docs/benchmarks.md); memory stays flat.

No cell is ever a formula: there is no `<f>` element in what we write, every text is an inline
string, and text a spreadsheet would take for a formula when the cell is edited
(`bulu.xlsx.xlsx_text_is_risky`: = + - @ ＝, tab, CR, LF, blanks before them) also carries the
quote prefix.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.utils import timezone
from openpyxl.writer.theme import theme_xml

from bulu.text import strip_controls
from bulu.xlsx import xlsx_text_is_risky
from imports.roster import COLUMNS, TITLE
from imports.template_xlsx import FIRST_DATA_ROW, NOTES, SAMPLES, WIDTHS

# (学号, 姓名, 开始时间, 结束时间, 内容, 一级分类, 二级分类, 等级, 奖项, 学分类型, 学分值)
Row = Sequence[Any]

_AWARD_SEPARATORS = re.compile(r"[、,，;；/\n]+")
_ESCAPE_LOOKALIKE = re.compile(r"_(x[0-9A-Fa-f]{4}_)")
_EPOCH = date(1899, 12, 30)  # Excel's day 0 in the 1900 date system (after its 1900 leap bug)
LETTERS = "ABCDEFGHIJK"

# Cell styles, as numbered in the template's styles.xml (6 and 7 are ours).
S_TITLE, S_HEADER, S_TEXT, S_DATE, S_NOTES, S_TEXT_QUOTED, S_QUOTED = 1, 2, 3, 4, 5, 6, 7

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_OOXML = "application/vnd.openxmlformats-officedocument"
_OVERRIDES = (
    ("/xl/styles.xml", f"{_OOXML}.spreadsheetml.styles+xml"),
    ("/xl/theme/theme1.xml", f"{_OOXML}.theme+xml"),
    ("/docProps/core.xml", "application/vnd.openxmlformats-package.core-properties+xml"),
    ("/docProps/app.xml", f"{_OOXML}.extended-properties+xml"),
    ("/xl/worksheets/sheet1.xml", f"{_OOXML}.spreadsheetml.worksheet+xml"),
    ("/xl/workbook.xml", f"{_OOXML}.spreadsheetml.sheet.main+xml"),
)
CONTENT_TYPES = (
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels"'
    ' ContentType="application/vnd.openxmlformats-package.relationships+xml" />'
    '<Default Extension="xml" ContentType="application/xml" />'
    + "".join(f'<Override PartName="{p}" ContentType="{t}" />' for p, t in _OVERRIDES)
    + "</Types>"
)
ROOT_RELS = (
    f'<Relationships xmlns="{PKG_REL}">'
    f'<Relationship Type="{REL}/officeDocument" Target="xl/workbook.xml" Id="rId1" />'
    f'<Relationship Type="{PKG_REL}/metadata/core-properties" Target="docProps/core.xml"'
    ' Id="rId2" />'
    f'<Relationship Type="{REL}/extended-properties" Target="docProps/app.xml" Id="rId3" />'
    "</Relationships>"
)
WORKBOOK_RELS = (
    f'<Relationships xmlns="{PKG_REL}">'
    f'<Relationship Type="{REL}/worksheet" Target="/xl/worksheets/sheet1.xml" Id="rId1" />'
    f'<Relationship Type="{REL}/styles" Target="styles.xml" Id="rId2" />'
    f'<Relationship Type="{REL}/theme" Target="theme/theme1.xml" Id="rId3" />'
    "</Relationships>"
)
APP = (
    '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
    "<Application>Microsoft Excel Compatible / bulu</Application></Properties>"
)
CORE = (
    '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"'
    ' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/"'
    ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:creator>bulu</dc:creator>'
    '<dcterms:created xsi:type="dcterms:W3CDTF">{at}</dcterms:created>'
    '<dcterms:modified xsi:type="dcterms:W3CDTF">{at}</dcterms:modified></cp:coreProperties>'
)
WORKBOOK = (
    f'<workbook xmlns:r="{REL}" xmlns="{NS}"><workbookPr /><bookViews>'
    '<workbookView visibility="visible" minimized="0" showHorizontalScroll="1"'
    ' showVerticalScroll="1" showSheetTabs="1" tabRatio="600" firstSheet="0" activeTab="0"'
    ' autoFilterDateGrouping="1" /></bookViews><sheets>'
    f'<sheet name="{TITLE}" sheetId="1" state="visible" r:id="rId1" /></sheets>'
    '<calcPr calcId="124519" fullCalcOnLoad="1" /></workbook>'
)
_XF = 'fillId="0" borderId="0" pivotButton="0" xfId="0"'
STYLES = (
    f'<styleSheet xmlns="{NS}"><numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd" />'
    '<numFmt numFmtId="165" formatCode="yyyy/m/d" /></numFmts><fonts count="3"><font>'
    '<name val="Calibri" /><family val="2" /><color theme="1" /><sz val="11" />'
    '<scheme val="minor" /></font><font><b val="1" /><sz val="14" /></font><font><b val="1" />'
    '</font></fonts><fills count="2"><fill><patternFill /></fill><fill>'
    '<patternFill patternType="gray125" /></fill></fills><borders count="1"><border><left />'
    '<right /><top /><bottom /><diagonal /></border></borders><cellStyleXfs count="1">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" /></cellStyleXfs><cellXfs count="8">'
    f'<xf numFmtId="0" fontId="0" {_XF} quotePrefix="0" />'
    f'<xf numFmtId="0" fontId="1" applyAlignment="1" {_XF} quotePrefix="0">'
    '<alignment horizontal="center" /></xf>'
    f'<xf numFmtId="0" fontId="2" {_XF} quotePrefix="0" />'
    f'<xf numFmtId="49" fontId="0" {_XF} quotePrefix="0" />'
    f'<xf numFmtId="165" fontId="0" {_XF} quotePrefix="0" />'
    f'<xf numFmtId="0" fontId="0" applyAlignment="1" {_XF} quotePrefix="0">'
    '<alignment vertical="top" wrapText="1" /></xf>'
    f'<xf numFmtId="49" fontId="0" {_XF} quotePrefix="1" />'
    f'<xf numFmtId="0" fontId="0" {_XF} quotePrefix="1" />'
    '</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0" hidden="0" />'
    '</cellStyles><tableStyles count="0" defaultTableStyle="TableStyleMedium9"'
    ' defaultPivotStyle="PivotStyleLight16" /></styleSheet>'
)


def awards_joined(text: str) -> str:
    """Several awards joined by 、 as the template's note 3 asks, whatever separated them."""
    return "、".join(p.strip() for p in _AWARD_SEPARATORS.split(text or "") if p.strip())


_NEEDS_ESCAPE = re.compile(r"[&<>\x00-\x08\x0b-\x1f\x7f\ufffe\uffff]|_x")


def _xml_text(text: str) -> str:
    """Element text as Excel writes it (control characters already dropped): XML-escaped, a CR
    as _x000D_."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if "_x" in text:  # a literal "_x0041_" must not be read back as "A"
        text = _ESCAPE_LOOKALIKE.sub(r"_x005F_\1", text)
    if "\r" in text:
        text = text.replace("\r", "_x000D_")
    return text


def _string(ref: str, text: str, style: int, quoted: int) -> str:
    """An inline-string cell; whether it needs the quote prefix is decided on the text as it is
    written (control characters are dropped first: "\x01=1" is written as "=1")."""
    body = text
    if _NEEDS_ESCAPE.search(text):
        text = strip_controls(text)
        body = _xml_text(text)
    s = quoted if xlsx_text_is_risky(text) else style
    space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
    attr = f' s="{s}"' if s else ""
    return f'<c r="{ref}"{attr} t="inlineStr"><is><t{space}>{body}</t></is></c>'


def _serial(value: date) -> int:
    if isinstance(value, datetime):
        value = value.date()
    return (value - _EPOCH).days


def _number(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return repr(value) if isinstance(value, float) else str(value)


def row_xml(r: int, values: Row) -> str:
    """One row in the template's cell styles; empty values leave no cell (结束时间 keeps its
    date style, as the template's D3 does)."""
    (no, name, start, end, *texts, value) = values
    cells = [_string(f"A{r}", str(no), S_TEXT, S_TEXT_QUOTED)]
    if name:
        cells.append(_string(f"B{r}", str(name), 0, S_QUOTED))
    if start:
        cells.append(f'<c r="C{r}" s="{S_DATE}" t="n"><v>{_serial(start)}</v></c>')
    if end:
        cells.append(f'<c r="D{r}" s="{S_DATE}" t="n"><v>{_serial(end)}</v></c>')
    else:
        cells.append(f'<c r="D{r}" s="{S_DATE}" t="n" />')
    for letter, text in zip("EFGHIJ", texts, strict=True):
        if text:
            cells.append(_string(f"{letter}{r}", str(text), 0, S_QUOTED))
    if value is not None and value != "":
        cells.append(f'<c r="K{r}" t="n"><v>{_number(value)}</v></c>')
    return f'<row r="{r}">{"".join(cells)}</row>'


def sheet_head(rows: int) -> str:
    """The worksheet up to and including row 6, for a sheet with `rows` data rows."""
    last = FIRST_DATA_ROW - 1 + rows
    cols = "".join(
        f'<col width="{w}" customWidth="1" min="{i}" max="{i}" />'
        for i, w in enumerate(WIDTHS, start=1)
    )
    header = "".join(
        _string(f"{LETTERS[i]}2", name, S_HEADER, S_HEADER) for i, name in enumerate(COLUMNS)
    )
    samples = "".join(row_xml(r, sample) for r, sample in enumerate(SAMPLES, start=3))
    return (
        f'<worksheet xmlns="{NS}"><sheetPr><outlinePr summaryBelow="1" summaryRight="1" />'
        f'<pageSetUpPr /></sheetPr><dimension ref="A1:K{last}" /><sheetViews>'
        '<sheetView workbookViewId="0"><selection activeCell="A1" sqref="A1" /></sheetView>'
        '</sheetViews><sheetFormatPr baseColWidth="8" defaultRowHeight="15" />'
        f"<cols>{cols}</cols><sheetData>"
        f'<row r="1">{_string("A1", TITLE, S_TITLE, S_TITLE)}</row>'
        f'<row r="2">{header}</row>{samples}'
        f'<row r="6" ht="130" customHeight="1">{_string("A6", NOTES, S_NOTES, S_NOTES)}</row>'
    )


SHEET_TAIL = (
    '</sheetData><mergeCells count="2"><mergeCell ref="A6:K6" /><mergeCell ref="A1:K1" />'
    '</mergeCells><pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5"'
    ' footer="0.5" /></worksheet>'
)


class SheetWriter:
    """One workbook of exactly `rows` data rows: `add` them (from row 7), then `close`."""

    CHUNK = 2000

    def __init__(self, path: Path, *, rows: int, created: datetime | None = None) -> None:
        self.path = path
        self.expected = rows
        self.rows = 0
        # core.xml wants UTC ("Z"); `created` is local wall time (for the zip entries' times).
        local = created or datetime(2020, 1, 1)
        stamp = (
            timezone.make_aware(local).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            if created
            else local.strftime("%Y-%m-%dT%H:%M:%SZ")
        )
        self.zip = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6)
        date_time = (created or datetime(2020, 1, 1)).timetuple()[:6]

        def part(name: str, text: str) -> None:
            self.zip.writestr(zipfile.ZipInfo(name, date_time), text, zipfile.ZIP_DEFLATED)

        part("[Content_Types].xml", CONTENT_TYPES)
        part("_rels/.rels", ROOT_RELS)
        part("docProps/app.xml", APP)
        part("docProps/core.xml", CORE.format(at=stamp))
        part("xl/workbook.xml", WORKBOOK)
        part("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        part("xl/styles.xml", STYLES)
        part("xl/theme/theme1.xml", theme_xml)
        info = zipfile.ZipInfo("xl/worksheets/sheet1.xml", date_time)
        info.compress_type = zipfile.ZIP_DEFLATED
        self.sheet = self.zip.open(info, "w")
        self.sheet.write(sheet_head(rows).encode())
        self.pending: list[str] = []

    def add(self, values: Row) -> None:
        self.pending.append(row_xml(FIRST_DATA_ROW + self.rows, values))
        self.rows += 1
        if len(self.pending) >= self.CHUNK:
            self._flush()

    def _flush(self) -> None:
        self.sheet.write("".join(self.pending).encode())
        self.pending = []

    def close(self, *, check: bool = True) -> None:
        """Finish the file; `check` that exactly the announced number of rows was added."""
        if self.zip.fp is None:
            return
        self._flush()
        self.sheet.write(SHEET_TAIL.encode())
        self.sheet.close()
        self.zip.close()
        if check and self.rows != self.expected:
            raise ValueError(f"sheet announced {self.expected} rows, got {self.rows}")


def record_row(values: Sequence[Any]) -> Row:
    """A credit record's values (in COLUMNS order) as the sheet shows them."""
    out = list(values)
    out[8] = awards_joined(out[8] or "")
    return out
