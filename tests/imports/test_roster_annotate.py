"""The annotated workbook: the user's own file, faulty cells marked, plus the sheet 错误说明."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
import tracemalloc
import zipfile
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from openpyxl.comments import Comment
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from python_calamine import CalamineWorkbook

from imports.annotate import AUTHOR, SHEET_NAME, AnnotateError, marks, roster_annotate
from imports.roster import CODE_LABELS, Problem, RosterReport, roster_check
from imports.services import roster_upload_create, roster_validate
from tests.conftest import School, need
from tests.imports.conftest import (
    GOOD,
    fake_lookups,
    plain_xlsx,
    roster_xlsx,
    row,
    template_workbook,
    with_shared_strings,
)

RED = "FFFFC7CE"
YELLOW = "FFFFEB9C"
GOOD_CONTENT = GOOD["内容"]
FORMULA_TAG = re.compile(rb"<([^\s<>/=!?\"']*:)?f[\s/>]")


def judged(data: bytes) -> RosterReport:
    return roster_check(io.BytesIO(data), lookups=fake_lookups())


def annotated(data: bytes, report: RosterReport) -> bytes:
    return roster_annotate(
        data, errors=report.errors, warnings=report.warnings, columns=report.columns
    )


def open_xlsx(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def saved(workbook: openpyxl.Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def sheet_xml(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/sheet")}


def label(code: str) -> str:
    return str(CODE_LABELS[code])


def test_it_marks_each_faulty_cell_and_lists_every_problem_in_chinese() -> None:
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
        assert cell.comment.text.startswith(f"【{label(code)}】"), cell.comment.text
        assert code not in cell.comment.text
    assert ws["A7"].comment is None and ws["A7"].fill.fill_type is None
    # The user's own content is kept: the template rows, the merges, the values, the types.
    assert ws["A3"].value == "1000001"
    assert {str(r) for r in ws.merged_cells.ranges} == {"A1:K1", "A6:K6"}
    assert ws["H8"].value == "乡级"
    assert ws["A8"].value == "2021010002" and ws["A8"].data_type == "s"
    assert ws["C8"].value == datetime(2024, 3, 5) and ws["C8"].number_format == "yyyy/m/d"

    sheet = workbook[SHEET_NAME]
    lines = [[c.value for c in r] for r in sheet.iter_rows(min_row=2)]
    assert [(line[1], line[3]) for line in lines] == [
        (8, "活动等级未设置"),
        (8, "学分值无效"),
        (9, "重复行"),
    ]
    assert lines[0][2] == "活动等级（H 列）"
    assert lines[0][4] == report.errors[0].message
    assert [c.value for c in sheet[1]] == ["级别", "行", "列", "代码", "说明"]
    assert sheet["A1"].font.b


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
    assert ws["A7"].comment is not None and ws["A7"].comment.text.startswith("【已发放过】")


def test_it_marks_a_missing_required_cell_although_it_is_empty() -> None:
    data = roster_xlsx([row(姓名=None, 内容=None)])
    report = judged(data)
    assert [(p.row, p.column) for p in report.errors] == [(7, "姓名"), (7, "内容")]
    ws = open_xlsx(annotated(data, report)).worksheets[0]
    for coordinate in ("B7", "E7"):
        assert ws[coordinate].value is None
        assert ws[coordinate].fill.start_color.rgb == RED
        assert ws[coordinate].comment is not None


def test_it_marks_a_row_the_sheet_does_not_have() -> None:
    data = roster_xlsx([row()])
    problem = Problem(12, "学号", "missing_value", "“学号”不能为空。")
    out = roster_annotate(data, errors=[problem], warnings=[], columns=judged(data).columns)
    ws = open_xlsx(out).worksheets[0]
    assert ws["A12"].fill.start_color.rgb == RED and ws["A12"].comment is not None
    assert ws["A7"].value == "2021010001"


def test_a_formula_in_name_or_content_comes_back_as_its_text() -> None:
    link = '=HYPERLINK("http://x","点我")'
    dde = "=cmd|' /C calc'!A0"
    workbook = template_workbook()
    ws = workbook.worksheets[0]
    for c, value in enumerate(row(), start=1):
        ws.cell(row=7, column=c, value=value)
    ws["B7"] = link  # openpyxl stores a string starting with "=" as a formula
    ws["E7"] = dde
    ws["I7"] = "=1+1"  # in a column the judge does not complain about
    data = saved(workbook)
    assert b"<f>" in next(iter(sheet_xml(data).values()))
    report = judged(data)
    out = annotated(data, report)

    for name, xml in sheet_xml(out).items():
        assert FORMULA_TAG.search(xml) is None, name
    ws = open_xlsx(out).worksheets[0]
    for coordinate, text in (("B7", link), ("E7", dde), ("I7", "=1+1")):
        cell = ws[coordinate]
        assert cell.data_type != "f", coordinate
        assert cell.value == text
        assert cell.quotePrefix, coordinate
    # calamine (the reader) sees text too, not a formula result.
    again = CalamineWorkbook.from_filelike(io.BytesIO(out)).get_sheet_by_index(0)
    assert again.to_python()[6][1] == link


def _with_sheet_rows(data: bytes, rows_xml: bytes) -> bytes:
    """`data` with its first sheet's rows from 7 on replaced by `rows_xml`."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = re.sub(rb'<row r="7".*</sheetData>', rows_xml + b"</sheetData>", content)
            target.writestr(info, content)
    return out.getvalue()


def test_shared_formulas_and_cached_results_become_the_formula_text() -> None:
    rows = (
        '<row r="7"><c r="A7" t="inlineStr"><is><t>2021010001</t></is></c>'
        '<c r="B7" t="str"><f>"张"&amp;"三"</f><v>张三</v></c>'
        '<c r="I7" t="str"><f t="shared" ref="I7:I8" si="0">A7&amp;"x"</f><v>2021010001x</v></c>'
        "</row>"
        '<row r="8"><c r="A8" t="inlineStr"><is><t>2021010002</t></is></c>'
        '<c r="I8" t="str"><f t="shared" si="0"/><v>2021010002x</v></c></row>'
    ).encode()
    data = _with_sheet_rows(roster_xlsx([row()]), rows)
    report = judged(data)  # calamine reads the cached results
    assert report.rows[0].name == "张三"
    out = annotated(data, report)
    assert FORMULA_TAG.search(sheet_xml(out)["xl/worksheets/sheet1.xml"]) is None
    ws = open_xlsx(out).worksheets[0]
    assert (ws["B7"].value, ws["I7"].value, ws["I8"].value) == ('="张"&"三"', '=A7&"x"', '=A8&"x"')
    assert all(ws[c].data_type == "s" and ws[c].quotePrefix for c in ("B7", "I7", "I8"))


def test_text_that_starts_like_a_formula_gets_the_quote_prefix() -> None:
    workbook = open_xlsx(roster_xlsx([row(), row(学号="2021010002")]))
    for coordinate, text in (("I7", "-1+1"), ("I8", "\uff1d1+1")):
        cell = workbook.worksheets[0][coordinate]
        cell.value = text
        cell.data_type = "s"  # typed as text by the user (e.g. with a leading apostrophe)
    data = saved(workbook)
    out = annotated(data, judged(data))
    ws = open_xlsx(out).worksheets[0]
    assert (ws["I7"].value, ws["I7"].data_type, ws["I7"].quotePrefix) == ("-1+1", "s", True)
    assert ws["I8"].quotePrefix
    assert not ws["E7"].quotePrefix


def test_it_never_writes_user_text_as_a_formula() -> None:
    evil = '=HYPERLINK("http://x.invalid","点我")'
    workbook = open_xlsx(roster_xlsx([row(), row(学号="2021010002")]))
    for coordinate, text in (("B7", evil), ("B8", "-1+1")):
        cell = workbook.worksheets[0][coordinate]
        cell.value = text
        cell.data_type = "s"
    data = saved(workbook)
    report = judged(data)
    assert [p.code for p in report.errors] == ["name_mismatch", "name_mismatch"]
    out = annotated(data, report)
    for name, xml in sheet_xml(out).items():
        assert FORMULA_TAG.search(xml) is None, name
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(out)).get_sheet_by_name(SHEET_NAME)
    messages = [r[4] for r in sheet.to_python()[1:]]
    assert any(evil in str(m) for m in messages)
    wb = open_xlsx(out)
    assert wb[SHEET_NAME]["E2"].data_type == "s" and wb[SHEET_NAME]["C2"].data_type == "s"


def test_it_writes_a_leading_formula_character_as_text() -> None:
    data = roster_xlsx([row()])
    problem = Problem(7, "姓名", "name_mismatch", "=1+1")
    out = roster_annotate(data, errors=[problem], warnings=[], columns=judged(data).columns)
    cell = open_xlsx(out)[SHEET_NAME]["E2"]
    assert cell.value == "=1+1"
    assert cell.data_type == "s"
    assert cell.quotePrefix


def test_links_names_validations_macros_and_embedded_objects_are_left_out() -> None:
    workbook = template_workbook()
    ws = workbook.worksheets[0]
    for c, value in enumerate(row(), start=1):
        ws.cell(row=7, column=c, value=value)
    ws["B7"].hyperlink = "http://example.invalid/"
    validation = DataValidation(type="list", formula1='"校级,院系级"')
    validation.add("H7:H100")
    ws.add_data_validation(validation)
    workbook.defined_names["evil"] = DefinedName("evil", attr_text="=cmd|' /C calc'!A0")
    data = saved(workbook)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(info, source.read(info.filename))
        target.writestr("xl/vbaProject.bin", b"macro")
        target.writestr("xl/externalLinks/externalLink1.xml", b"<externalLink/>")
        target.writestr("xl/embeddings/oleObject1.bin", b"ole")
    data = out.getvalue()
    copy = annotated(data, judged(data))
    with zipfile.ZipFile(io.BytesIO(copy)) as z:
        names = z.namelist()
        everything = b"".join(z.read(n) for n in names)
    assert not [n for n in names if re.search(r"vba|external|embedding|drawings/drawing", n)]
    for word in (b"hyperlink", b"definedName", b"dataValidation", b"externalReference"):
        assert word not in everything, word
    assert b"macroEnabled" not in everything
    ws = open_xlsx(copy).worksheets[0]
    assert ws["B7"].value == "张三" and ws["B7"].hyperlink is None


def test_the_users_own_comments_stay() -> None:
    workbook = open_xlsx(roster_xlsx([row(), row(学号="2021010002", 姓名="李四", 活动等级="乡级")]))
    ws = workbook.worksheets[0]
    ws["E7"].comment = Comment("活动通知见群公告", "班长")
    ws["H8"].comment = Comment("不确定等级", "班长")  # this cell gets our mark instead
    data = saved(workbook)
    ws = open_xlsx(annotated(data, judged(data))).worksheets[0]
    assert ws["E7"].comment is not None
    assert (ws["E7"].comment.author, ws["E7"].comment.text) == ("班长", "活动通知见群公告")
    assert ws["H8"].comment is not None and ws["H8"].comment.author == AUTHOR


def test_a_fixed_and_reuploaded_annotated_file_loses_the_old_marks() -> None:
    data = roster_xlsx([row(活动等级="乡级"), row(学号="2021010002", 姓名="李四")])
    first = annotated(data, judged(data))
    workbook = open_xlsx(first)
    ws = workbook.worksheets[0]
    ws["H7"] = "校级"  # the fix
    ws["K8"] = "两分"  # a new mistake
    fixed = saved(workbook)

    report = judged(fixed)  # only the first sheet is read: 错误说明 is ignored
    assert [(p.row, p.code) for p in report.errors] == [(8, "bad_value")]
    again = open_xlsx(annotated(fixed, report))
    assert again.sheetnames.count(SHEET_NAME) == 1
    ws = again.worksheets[0]
    assert ws["H7"].comment is None and ws["H7"].fill.fill_type is None
    assert ws["K8"].fill.start_color.rgb == RED
    lines = list(again[SHEET_NAME].iter_rows(min_row=2, values_only=True))
    assert [(line[1], line[3]) for line in lines] == [(8, "学分值无效")]


def test_a_sheet_written_with_a_namespace_prefix_is_copied_with_it() -> None:
    data = roster_xlsx([row(活动等级="乡级")])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = content.replace(b'xmlns="', b'xmlns:x="', 1)
                content = re.sub(rb"<(/?)(?!\?)(?!x:)([A-Za-z])", rb"<\1x:\2", content)
            target.writestr(info, content)
    data = out.getvalue()
    report = judged(data)
    assert [p.code for p in report.errors] == ["unknown_level"]
    ws = open_xlsx(annotated(data, report)).worksheets[0]
    assert ws["H7"].fill.start_color.rgb == RED and ws["H7"].comment is not None
    assert ws["A7"].value == "2021010001"


@pytest.mark.parametrize(
    "markup",
    [
        b"<!-- a comment -->",
        b"<?pi x?>",
        b"<![CDATA[x]]>",
    ],
)
def test_it_refuses_markup_excel_never_writes(markup: bytes) -> None:
    data = roster_xlsx([row()])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = content.replace(b"<sheetData>", b"<sheetData>" + markup, 1)
            target.writestr(info, content)
    with pytest.raises(AnnotateError, match="无法在该文件上标注错误"):
        roster_annotate(out.getvalue(), errors=[], warnings=[], columns={})


def test_a_workbook_with_shared_strings_is_marked_and_keeps_its_strings() -> None:
    data = with_shared_strings(
        roster_xlsx([row(), row(学号="2021010002", 姓名="李四", 活动等级="乡级")])
    )
    assert b"sharedStrings.xml" in zipfile.ZipFile(io.BytesIO(data)).namelist()[-1].encode()
    report = judged(data)
    assert [(p.row, p.code) for p in report.errors] == [(8, "unknown_level")]
    ws = open_xlsx(annotated(data, report)).worksheets[0]
    assert ws["H8"].value == "乡级" and ws["H8"].fill.start_color.rgb == RED
    assert (ws["A1"].value, ws["B8"].value, ws["E7"].value) == (
        "成长记录补充模板",
        "李四",
        GOOD_CONTENT,
    )


def test_a_shared_string_that_starts_like_a_formula_gets_the_quote_prefix() -> None:
    workbook = open_xlsx(roster_xlsx([row(), row(学号="2021010002", 姓名="李四")]))
    cell = workbook.worksheets[0]["I8"]
    cell.value = "@SUM(1,2)"
    cell.data_type = "s"
    data = with_shared_strings(saved(workbook))
    ws = open_xlsx(annotated(data, judged(data))).worksheets[0]
    assert (ws["I8"].value, ws["I8"].quotePrefix) == ("@SUM(1,2)", True)
    assert not ws["I7"].quotePrefix


def _big_roster(rows: int) -> bytes:
    """The template with `rows` rows of long (and varied) inline text under the notes row."""
    cells = []
    for r in range(7, 7 + rows):
        text = f"第{r:06d}行的很长的活动内容" * 12
        cells.append(
            f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>{2021000000 + r}</t></is></c>'
            + "".join(f'<c r="{c}{r}" t="inlineStr"><is><t>{text}{c}</t></is></c>' for c in "BEI")
            + "</row>"
        )
    return _with_sheet_rows(roster_xlsx([row()]), "".join(cells).encode())


def _annotate_peak(rows: int) -> tuple[int, int, bytes]:
    """(uncompressed sheet size, peak Python memory while annotating, the copy)."""
    data = _big_roster(rows)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheet_size = z.getinfo("xl/worksheets/sheet1.xml").file_size
    errors = [
        Problem(r, "内容", "too_long", "“内容”超过 200 个字，请精简。")
        for r in range(7, 7 + rows, 50)
    ]
    tracemalloc.start()
    try:
        out = roster_annotate(data, errors=errors, warnings=[], columns={"学号": 1, "内容": 5})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return sheet_size, peak, out


def test_annotating_holds_a_few_chunks_not_the_whole_sheet() -> None:
    small_size, small_peak, _out = _annotate_peak(4_000)
    size, peak, out = _annotate_peak(16_000)
    assert size > 20 * 1024 * 1024 and size > 3 * small_size
    # openpyxl held several times the sheet; the stream holds a few 1 MB chunks and the
    # (compressed) copy, so 18 MB more sheet cost about the copy's growth only.
    assert peak - small_peak < (size - small_size) / 10, (small_peak, peak)
    assert peak < size / 2
    ws = openpyxl.load_workbook(io.BytesIO(out), read_only=True).worksheets[0]
    seventh, eighth = ws.iter_rows(min_row=7, max_row=8, min_col=5, max_col=5)
    assert seventh[0].fill.start_color.rgb == RED and eighth[0].fill.fill_type is None


def test_a_file_with_too_many_problems_gets_the_first_ones_and_a_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(marks, "ANNOTATE_MAX_PROBLEMS", 2)
    data = roster_xlsx([row(活动等级="乡级", 内容=f"活动{i}") for i in range(3)])
    report = judged(data)
    assert len(report.errors) == 3
    workbook = open_xlsx(annotated(data, report))
    ws = workbook.worksheets[0]
    assert ws["H8"].fill.start_color.rgb == RED
    assert ws["H9"].fill.fill_type is None and ws["H9"].comment is None
    lines = [line[4] for line in workbook[SHEET_NAME].iter_rows(min_row=2, values_only=True)]
    assert len(lines) == 3 and "另有 1 处问题" in lines[-1]


def test_a_roster_sheet_named_like_ours_is_kept_beside_the_new_explanation() -> None:
    workbook = open_xlsx(roster_xlsx([row(活动等级="乡级")]))
    workbook.worksheets[0].title = SHEET_NAME
    data = saved(workbook)
    copy = open_xlsx(annotated(data, judged(data)))
    assert copy.sheetnames == [SHEET_NAME, SHEET_NAME + "（本次）"]
    assert copy.worksheets[0]["H7"].fill.start_color.rgb == RED


# --- text that reads like a formula only once decoded ------------------------------------------

# (XML inside <is> or <si>, the text openpyxl reads back): a formula character written as a
# character reference (decimal or hex), behind blanks, or as Excel's _xHHHH_ escape, which Excel
# shows as the character (openpyxl and LibreOffice show the escape as it is).
READS_LIKE_A_FORMULA = [
    (
        b'<t>&#61;HYPERLINK("http://x.invalid","\xe7\x82\xb9")</t>',
        '=HYPERLINK("http://x.invalid","点")',
    ),
    (b"<t>&#x3D;1+1</t>", "=1+1"),
    (b"<t>&#0061;1</t>", "=1"),
    (b"<t>&#43;1</t>", "+1"),
    (b"<t>&#45;1</t>", "-1"),
    (b"<t>&#64;SUM(A1)</t>", "@SUM(A1)"),
    (b"<t>&#xFF1D;1</t>", "＝1"),
    (b"<t>&#xff1d;1</t>", "＝1"),
    (b"<t>&#9;=1</t>", "\t=1"),
    (b"<t>&#10;=1</t>", "\n=1"),
    (b"<t>&#x0D;=1</t>", "\r=1"),
    (b'<t xml:space="preserve"> =1+1</t>', " =1+1"),
    (b"<t>&#32;&#x3D;1</t>", " =1"),
    (b"<t>&#x3000;-1</t>", "\u3000-1"),
    (b"<t>_x003D_1+1</t>", "_x003D_1+1"),
    (b"<t>&#95;x003D_1</t>", "_x003D_1"),
    (b"<r><t>&#32;</t></r><r><rPr><b/></rPr><t>&#61;1</t></r>", " =1"),
]
# Ordinary text, whatever references it is written with: no quote prefix.
PLAIN_TEXT = [
    (b"<t>&amp;foo</t>", "&foo"),
    (b"<t>&#38;foo</t>", "&foo"),
    (b"<t>&amp;#61;1</t>", "&#61;1"),
    (b"<t>&lt;=1</t>", "<=1"),
    (b"<t>&#20013;=1</t>", "中=1"),
    (b"<t>_x005F_x003D_1</t>", "_x005F_x003D_1"),  # Excel shows "_x003D_1"
    (b"<t>&#32;&#24352;&#19977;</t>", " 张三"),
    (b'<t>\xe5\xbc\xa0</t><rPh sb="0" eb="1"><t>=zhang</t></rPh>', "张"),  # phonetic guide
]


def _hand_written(cells: list[bytes], *, shared: bool) -> bytes:
    """A roster whose 奖项内容 in rows 7, 8, … is `cells` (cell XML with {ref}), written into the
    sheet by hand; with `shared`, every inline string moves to sharedStrings.xml as it is. Row 7
    is faulty (乡级), so the copy is made."""
    rows = [row(活动等级="乡级" if i == 0 else "校级", 内容=f"活动{i}") for i in range(len(cells))]
    data = roster_xlsx(rows)

    def award(match: re.Match[bytes]) -> bytes:
        number = int(match[1])
        return cells[number - 7].replace(b"{ref}", b"I%d" % number) if number >= 7 else match[0]

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = re.sub(rb'<c r="I(\d+)" t="inlineStr"><is>.*?</is></c>', award, content)
            target.writestr(info, content)
    return with_shared_strings(out.getvalue()) if shared else out.getvalue()


def _inline(xml: bytes) -> bytes:
    return b'<c r="{ref}" t="inlineStr"><is>' + xml + b"</is></c>"


STRING_CELLS = [_inline(xml) for xml, _text in READS_LIKE_A_FORMULA + PLAIN_TEXT]
STRING_TEXTS = [(text, True) for _xml, text in READS_LIKE_A_FORMULA] + [
    (text, False) for _xml, text in PLAIN_TEXT
]


def _assert_quoted_as_decoded(
    out: bytes, expected: list[tuple[str, bool]], *, shared: bool = False
) -> None:
    """Rows 7, 8, … of column I hold `expected` (text, quote prefix?) as text cells, and no
    sheet of the copy holds a formula."""
    for name, xml in sheet_xml(out).items():
        assert FORMULA_TAG.search(xml) is None, name
    ws = open_xlsx(out).worksheets[0]
    for number, (text, quoted) in enumerate(expected, start=7):
        cell = ws.cell(row=number, column=9)
        # openpyxl reads the escaped underscore (_x005F_), in shared strings only.
        value = text.replace("_x005F_", "_") if shared else text
        assert (cell.value, cell.data_type) == (value, "s"), cell.coordinate
        assert cell.quotePrefix is quoted, (cell.coordinate, text)


@pytest.mark.parametrize("shared", [False, True], ids=["inline", "shared strings"])
def test_text_written_with_character_references_is_judged_on_its_decoded_text(
    shared: bool,
) -> None:
    data = _hand_written(STRING_CELLS, shared=shared)
    report = judged(data)
    assert [(p.row, p.code) for p in report.errors] == [(7, "unknown_level")]
    out = annotated(data, report)
    _assert_quoted_as_decoded(out, STRING_TEXTS, shared=shared)
    # The text itself is copied as the user's file writes it, references and all.
    with zipfile.ZipFile(io.BytesIO(out)) as copy:
        part = copy.read("xl/sharedStrings.xml" if shared else "xl/worksheets/sheet1.xml")
    for xml, _text in READS_LIKE_A_FORMULA + PLAIN_TEXT:
        assert (b"<si>" if shared else b"<is>") + xml in part, xml
    # calamine (the reader) reads the same texts from the copy as from the upload.
    column = [
        r[8]
        for r in CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()
    ]
    again = [
        r[8]
        for r in CalamineWorkbook.from_filelike(io.BytesIO(out)).get_sheet_by_index(0).to_python()
    ]
    assert again[: len(column)] == column


def test_a_formulas_text_result_written_with_references_gets_the_quote_prefix() -> None:
    cells = [
        b'<c r="{ref}" t="str"><v>&#61;1+1</v></c>',
        b'<c r="{ref}" t="str"><v>&#x20;&#43;1</v></c>',
        b'<c r="{ref}" t="str"><v>&#38;x</v></c>',
    ]
    data = _hand_written(cells, shared=False)
    out = annotated(data, judged(data))
    _assert_quoted_as_decoded(out, [("=1+1", True), (" +1", True), ("&x", False)])


def test_an_upload_with_such_text_comes_back_quoted(
    school: School, registry: dict[str, str]
) -> None:
    data = _hand_written(STRING_CELLS, shared=True)
    upload = roster_upload_create(user=school.bob, fileobj=io.BytesIO(data), filename="名单.xlsx")
    done = roster_validate(upload_id=upload.pk)
    assert done is not None and done.error_count == 1 and done.annotated
    with done.annotated.open("rb") as stored:
        _assert_quoted_as_decoded(stored.read(), STRING_TEXTS, shared=True)


def test_libreoffice_shows_such_cells_as_their_text(tmp_path: Path) -> None:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    need(soffice is not None, "LibreOffice (soffice)")
    data = _hand_written(STRING_CELLS, shared=True)
    (tmp_path / "annotated.xlsx").write_bytes(annotated(data, judged(data)))
    subprocess.run(
        [
            str(soffice),
            f"-env:UserInstallation=file://{tmp_path}/lo-profile",
            "--headless",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76",
            "--outdir",
            str(tmp_path),
            str(tmp_path / "annotated.xlsx"),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    with (tmp_path / "annotated.csv").open(encoding="utf-8", newline="") as fh:
        lines = list(csv.reader(fh))
    # Text, not a computed value ("=1+1", not 2). LibreOffice may show a CR as a line break,
    # and reads the escaped underscore (_x005F_) but no other _xHHHH_ escape.
    shown = [line[8].replace("\r", "\n") for line in lines[6 : 6 + len(STRING_TEXTS)]]
    assert shown == [
        text.replace("\r", "\n").replace("_x005F_", "_") for text, _quoted in STRING_TEXTS
    ]
