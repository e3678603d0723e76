"""The annotated workbook: the user's own file, faulty cells marked, plus the sheet 错误说明."""

from __future__ import annotations

import io
import zipfile

import openpyxl
from python_calamine import CalamineWorkbook

from imports.annotate import AUTHOR, SHEET_NAME, roster_annotate
from imports.roster import Problem, RosterReport, roster_check
from tests.imports.conftest import fake_lookups, plain_xlsx, roster_xlsx, row

RED = "FFFFC7CE"
YELLOW = "FFFFEB9C"


def judged(data: bytes) -> RosterReport:
    return roster_check(io.BytesIO(data), lookups=fake_lookups())


def annotated(data: bytes, report: RosterReport) -> bytes:
    return roster_annotate(
        data, errors=report.errors, warnings=report.warnings, columns=report.columns
    )


def open_xlsx(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def test_it_marks_each_faulty_cell_and_lists_every_problem() -> None:
    data = roster_xlsx(
        [row(), row(学号="2021010002", 姓名="李四", 活动等级="乡级", 发放学分值="2分"), row()]
    )
    report = judged(data)
    assert len(report.errors) == 3
    workbook = open_xlsx(annotated(data, report))
    assert workbook.sheetnames == ["成长记录补充模板", SHEET_NAME]
    ws = workbook.worksheets[0]
    for coordinate, code in (("H8", "unknown_level"), ("K8", "bad_value"), ("A9", "duplicate_row")):
        cell = ws[coordinate]
        assert cell.fill.start_color.rgb == RED, coordinate
        assert cell.comment is not None and cell.comment.author == AUTHOR
        assert f"[{code}]" in cell.comment.text
    assert ws["A7"].comment is None and ws["A7"].fill.fill_type is None
    # The user's own content is kept: the template rows, the merges, the values.
    assert ws["A3"].value == "1000001"
    assert {str(r) for r in ws.merged_cells.ranges} == {"A1:K1", "A6:K6"}
    assert ws["H8"].value == "乡级"

    sheet = workbook[SHEET_NAME]
    lines = [[c.value for c in r] for r in sheet.iter_rows(min_row=2)]
    assert [(line[1], line[3]) for line in lines] == [
        (8, "unknown_level"),
        (8, "bad_value"),
        (9, "duplicate_row"),
    ]
    assert lines[0][2] == "活动等级（H 列）"
    assert lines[0][4] == report.errors[0].message
    assert [c.value for c in sheet[1]] == ["级别", "行", "列", "代码", "说明"]


def test_it_marks_warnings_in_yellow_and_header_errors_on_the_header_row() -> None:
    data = plain_xlsx([["学号", "姓名", "开始时间"], ["2021010001", "张三", "2024/3/5"]])
    report = judged(data)
    assert {p.code for p in report.errors} == {"bad_header"}
    ws = open_xlsx(annotated(data, report)).worksheets[0]
    assert ws["A1"].fill.start_color.rgb == RED
    assert ws["A1"].comment is not None and "缺少" in ws["A1"].comment.text

    key = ("2021010001", "参加校园歌手大赛")
    data = roster_xlsx([row()])
    report = roster_check(
        io.BytesIO(data),
        lookups=fake_lookups(credited={(*key, row()[2].date(), "文体活动学分"): 7}),
    )
    assert report.errors == [] and len(report.warnings) == 1
    ws = open_xlsx(annotated(data, report)).worksheets[0]
    assert ws["A7"].fill.start_color.rgb == YELLOW


def test_it_never_writes_user_text_as_a_formula() -> None:
    evil = '=HYPERLINK("http://example.invalid","点我")'
    workbook = open_xlsx(roster_xlsx([row(), row(学号="2021010002")]))
    for coordinate, text in (("B7", evil), ("B8", "-1+1")):
        cell = workbook.worksheets[0][coordinate]
        cell.value = text
        cell.data_type = "s"  # typed as text by the user (e.g. with a leading apostrophe)
    buffer = io.BytesIO()
    workbook.save(buffer)
    data = buffer.getvalue()
    report = judged(data)
    assert [p.code for p in report.errors] == ["name_mismatch", "name_mismatch"]
    out = annotated(data, report)
    with zipfile.ZipFile(io.BytesIO(out)) as z:
        names = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        explanation = z.read(sorted(names)[-1]).decode()
    assert "<f>" not in explanation
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(out)).get_sheet_by_name(SHEET_NAME)
    messages = [r[4] for r in sheet.to_python()[1:]]
    assert any(evil in str(m) for m in messages)
    # A message that itself starts with "=" stays text too.
    wb = open_xlsx(out)
    cell = wb[SHEET_NAME]["E2"]
    cell_again = wb[SHEET_NAME]["C2"]
    assert cell.data_type == "s" and cell_again.data_type == "s"


def test_it_writes_a_leading_formula_character_as_text() -> None:
    data = roster_xlsx([row()])
    problem = Problem(7, "姓名", "name_mismatch", "=1+1")
    out = roster_annotate(data, errors=[problem], warnings=[], columns=judged(data).columns)
    cell = open_xlsx(out)[SHEET_NAME]["E2"]
    assert cell.value == "=1+1"
    assert cell.data_type == "s"
    assert cell.quotePrefix


def test_a_fixed_and_reuploaded_annotated_file_loses_the_old_marks() -> None:
    data = roster_xlsx([row(活动等级="乡级"), row(学号="2021010002", 姓名="李四")])
    first = annotated(data, judged(data))
    workbook = open_xlsx(first)
    ws = workbook.worksheets[0]
    ws["H7"] = "校级"  # the fix
    ws["K8"] = "两分"  # a new mistake
    buffer = io.BytesIO()
    workbook.save(buffer)
    fixed = buffer.getvalue()

    report = judged(fixed)  # only the first sheet is read: 错误说明 is ignored
    assert [(p.row, p.code) for p in report.errors] == [(8, "bad_value")]
    again = open_xlsx(annotated(fixed, report))
    assert again.sheetnames.count(SHEET_NAME) == 1
    ws = again.worksheets[0]
    assert ws["H7"].comment is None and ws["H7"].fill.fill_type is None
    assert ws["K8"].fill.start_color.rgb == RED
    lines = list(again[SHEET_NAME].iter_rows(min_row=2, values_only=True))
    assert [(line[1], line[3]) for line in lines] == [(8, "bad_value")]
