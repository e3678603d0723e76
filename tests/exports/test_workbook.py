"""The batch workbook is the school's template cell for cell, with text that stays text."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils.escape import unescape

from exports.selectors import ExportFilters
from exports.services import export_batch_create, export_batch_download
from exports.workbook import awards_joined
from tests.conftest import School, need
from tests.exports.conftest import approved_request

TEMPLATE = Path(__file__).parent / "fixtures" / "growth_record_template.xlsx"
HOSTILE = [
    "=1+1",
    "+1+1",
    "-1+1",
    "@SUM(A1)",
    "\tx",
    "\rx",
    "＝1+1",
    '=HYPERLINK("http://x","y")',
    "-_x0041_ <b>&amp;",  # escapes that must come back as typed
]


def _export(school: School, **kwargs: object) -> bytes:
    batch = export_batch_create(actor=school.dave, filters=ExportFilters(), **kwargs)  # type: ignore[arg-type]
    opened, _name, _type = export_batch_download(batch=batch, actor=school.dave)
    with opened:
        return opened.read()


def _style(cell: openpyxl.cell.Cell) -> tuple[object, ...]:
    return (
        cell.number_format,
        bool(cell.font.b),
        float(cell.font.sz or 11),  # no size means the default 11 pt
        cell.alignment.horizontal,
        cell.alignment.vertical,
        bool(cell.alignment.wrap_text),
    )


@pytest.fixture
def exported(school: School) -> openpyxl.Workbook:
    approved_request(
        school,
        records=1,
        student_no="0012345678",
        start_date=date(2025, 3, 1),
        end_date=date(2025, 3, 9),
        award="一等奖,最佳人气奖；优秀",
    )
    approved_request(
        school, applicant=school.olivia, records=1, value=None, award="", content="讲座"
    )
    return openpyxl.load_workbook(io.BytesIO(_export(school)))


def test_it_copies_rows_1_to_6_of_the_template_cell_by_cell(exported: openpyxl.Workbook) -> None:
    template = openpyxl.load_workbook(TEMPLATE)
    ours, theirs = exported.active, template.active
    assert exported.sheetnames == template.sheetnames == ["成长记录补充模板"]
    assert sorted(map(str, ours.merged_cells.ranges)) == sorted(
        map(str, theirs.merged_cells.ranges)
    )
    for row in range(1, 7):
        for col in range(1, 12):
            mine, want = ours.cell(row, col), theirs.cell(row, col)
            assert mine.value == want.value, (mine.coordinate, mine.value, want.value)
            if want.value is not None or want.has_style:
                assert _style(mine) == _style(want), mine.coordinate
    assert ours.row_dimensions[6].height == theirs.row_dimensions[6].height == 130
    assert (
        _widths(ours)
        == _widths(theirs)
        == {c: w for c, w in enumerate((12, 10, 12, 12, 30, 14, 14, 10, 16, 14, 12), start=1)}
    )


def _widths(ws: object) -> dict[int, float]:
    out: dict[int, float] = {}
    for dim in ws.column_dimensions.values():  # type: ignore[attr-defined]
        for col in range(dim.min, dim.max + 1):
            out[col] = dim.width
    return out


def test_it_writes_data_from_row_7_as_the_template_asks(exported: openpyxl.Workbook) -> None:
    ws = exported.active
    first = [c for c in ws[7]]
    assert first[0].value == "0012345678" and first[0].data_type == "s"
    assert first[0].number_format == "@"  # leading zeros kept, never 1.0E+10
    assert first[2].value == datetime(2025, 3, 1) and first[2].is_date
    assert first[2].number_format == first[3].number_format == "yyyy/m/d"
    assert first[3].value == datetime(2025, 3, 9)
    assert first[8].value == "一等奖、最佳人气奖、优秀"
    assert first[10].value == 0.5 and first[10].data_type == "n"
    second = [c.value for c in ws[8]]
    assert second[0] == "2024090001" and second[4] == "讲座"
    assert second[3] is None and second[8] is None and second[10] is None  # left empty
    assert ws.max_row == 8


def test_it_stores_formula_looking_text_as_text(school: School, tmp_path: Path) -> None:
    for i, text in enumerate(HOSTILE):
        approved_request(
            school,
            records=1,
            student_no=text if i == 0 else "2024010001",
            content=text,
            award=text,
            student_name=f"名{i}",
        )
    data = _export(school)
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    rows = list(ws.iter_rows(min_row=7))
    assert len(rows) == len(HOSTILE)
    for row, text in zip(rows, HOSTILE, strict=True):
        content = row[4]
        # A CR is stored escaped (_x000D_), as Excel does: XML would turn a raw one into LF.
        assert content.data_type == "s" and unescape(content.value) == text
        assert content.quotePrefix, content.coordinate
        assert row[1].data_type == "s" and not row[1].quotePrefix  # 名0, 名1 …: plain text
    assert rows[0][0].data_type == "s" and rows[0][0].value == "=1+1"
    # No formula element anywhere in the package.
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for name in zf.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in zf.read(name) and b"<f " not in zf.read(name)

    # LibreOffice opens it and evaluates nothing: the CSV shows the texts as written.
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    need(soffice is not None, "LibreOffice (soffice)")
    src = tmp_path / "batch.xlsx"
    src.write_bytes(data)
    subprocess.run(
        [
            str(soffice),
            f"-env:UserInstallation=file://{tmp_path}/lo-profile",
            "--headless",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76",
            "--outdir",
            str(tmp_path),
            str(src),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    with (tmp_path / "batch.csv").open(encoding="utf-8", newline="") as fh:
        lines = list(csv.reader(fh))
    contents = [line[4] for line in lines[6:]]
    assert contents == HOSTILE


def test_it_splits_into_files_with_the_same_head(school: School) -> None:
    approved_request(school, records=5)
    import zipfile

    data = _export(school, rows_per_file=2)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        books = [openpyxl.load_workbook(io.BytesIO(zf.read(n))).active for n in zf.namelist()]
    assert [ws.max_row - 6 for ws in books] == [2, 2, 1]
    for ws in books:
        assert ws["A1"].value == "成长记录补充模板" and ws["A2"].value == "学号"
        assert ws["A3"].value == "1000001" and str(ws["A6"].value).startswith("1、以上为示范数据")
    contents = [ws.cell(r, 5).value for ws in books for r in range(7, ws.max_row + 1)]
    assert contents == [f"校园歌手大赛 {i}" for i in range(5)]


def test_it_drops_control_characters_and_keeps_newlines(school: School) -> None:
    approved_request(school, records=1, content="志愿\x07服务\x1b\n第二天\x7f", award="一等\x01奖")
    ws = openpyxl.load_workbook(io.BytesIO(_export(school))).active
    assert ws.cell(7, 5).value == "志愿服务\n第二天"
    assert ws.cell(7, 9).value == "一等奖"


def test_text_that_reads_like_a_formula_once_written_is_quoted(school: School) -> None:
    # The quote prefix is decided on the text as written: control characters dropped first.
    texts = ["\x07=1+1", " @SUM(A1)", "\n-1", "讲座"]
    for text in texts:
        approved_request(school, records=1, content=text)
    ws = openpyxl.load_workbook(io.BytesIO(_export(school))).active
    shown = [(ws.cell(r, 5).value, ws.cell(r, 5).quotePrefix) for r in range(7, 7 + len(texts))]
    assert sorted(shown) == sorted(
        [("=1+1", True), (" @SUM(A1)", True), ("\n-1", True), ("讲座", False)]
    )


def test_it_joins_several_awards_with_the_chinese_comma() -> None:
    assert (
        awards_joined("一等奖, 二等奖，三等奖;优秀\n最佳") == "一等奖、二等奖、三等奖、优秀、最佳"
    )
    assert awards_joined("") == ""
    assert awards_joined("一等奖、、二等奖") == "一等奖、二等奖"


def test_it_keeps_values_with_decimals(school: School) -> None:
    approved_request(school, value=Decimal("0.01"))
    ws = openpyxl.load_workbook(io.BytesIO(_export(school))).active
    assert ws["K7"].value == 0.01
