"""The blank 附件4 template (成长记录补充模板), generated here so nothing depends on shared files.

Layout as the school's template: row 1 the merged title, row 2 the header, rows 3-5 the three
sample rows, row 6 the eight notes (merged), data from row 7. 学号 cells are text ("@") so
leading zeros survive and Excel never shows 1.0E+10.
"""

from __future__ import annotations

import io
from datetime import datetime
from functools import lru_cache

import openpyxl
from openpyxl.styles import Alignment, Font

from imports.roster import COLUMNS, TITLE

SAMPLES: tuple[tuple[object, ...], ...] = (
    (
        "1000001",
        "学生 1",
        datetime(2017, 5, 9),
        None,
        "参加学生会歌唱比赛奖励",
        "文体活动",
        "文体活动",
        "校级",
        None,
        "文体活动学分",
        0.01,
    ),
    (
        "1000002",
        "学生 2",
        datetime(2017, 5, 9),
        datetime(2017, 6, 9),
        "奖励学生户外运动成绩",
        "工作履历",
        "工作履历",
        "院系级",
        "一等奖、二等奖",
        "工作成长积分",
        2,
    ),
    (
        "1000003",
        "学生 3",
        datetime(2017, 5, 9),
        datetime(2017, 6, 9),
        "学生打扫卫生奖励",
        "志愿公益",
        "志愿公益",
        "院系级",
        None,
        "志愿者工时",
        5,
    ),
)
NOTES = "\n".join(
    [
        "1、以上为示范数据，请勿删除，请从第 7 行开始添加数据；",
        "2、如果补充时间为时间点，结束时间可以不填写；",
        "3、奖项可以为空，多个奖项请用“、”隔开；",
        "4、学分类型，不是单指学分，而是为学校系统中设置的学分、积分、分、学时、小时、时等第二课堂学分类型；",
        "5、发放学分值，为这条记录该学生应该获得的学分、积分、分、学时、小时、时等数值；",
        "6、发放学分值可以为空，多个学分需要分多条记录导入；",
        "7、活动一级分类、活动二级分类、学分类型必须和管理端学校活动类型设置与学分设置的内容匹配；",
        "8、请保存文档格式为 xlsx 格式",
    ]
)
WIDTHS = (12, 10, 12, 12, 30, 14, 14, 10, 16, 14, 12)
DATE_FORMAT = "yyyy/m/d"
FIRST_DATA_ROW = 7


def build_template(data: list[list[object]] | None = None) -> openpyxl.Workbook:
    """The template workbook; `data` rows (if any) are written from row 7 on."""
    workbook = openpyxl.Workbook()
    ws = workbook.active
    ws.title = TITLE
    ws.cell(row=1, column=1, value=TITLE).font = Font(bold=True)
    ws.cell(row=1, column=1).alignment = Alignment(horizontal="center")
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(COLUMNS))
    for col, name in enumerate(COLUMNS, start=1):
        ws.cell(row=2, column=col, value=name).font = Font(bold=True)
    for r, sample in enumerate(SAMPLES, start=3):
        for col, value in enumerate(sample, start=1):
            if value is None:
                continue
            cell = ws.cell(row=r, column=col, value=value)
            if col == 1:
                cell.number_format = "@"
            elif isinstance(value, datetime):
                cell.number_format = DATE_FORMAT
    notes = ws.cell(row=6, column=1, value=NOTES)
    notes.alignment = Alignment(wrap_text=True, vertical="top")
    ws.merge_cells(start_row=6, start_column=1, end_row=6, end_column=len(COLUMNS))
    ws.row_dimensions[6].height = 130
    for col, width in enumerate(WIDTHS, start=1):
        ws.column_dimensions[openpyxl.utils.get_column_letter(col)].width = width
    for r, values in enumerate(data or [], start=FIRST_DATA_ROW):
        for col, value in enumerate(values, start=1):
            if value is None or value == "":
                continue
            cell = ws.cell(row=r, column=col, value=value)
            if col == 1 and isinstance(value, str):
                cell.number_format = "@"
            elif isinstance(value, datetime):
                cell.number_format = DATE_FORMAT
    return workbook


@lru_cache(maxsize=1)
def template_bytes() -> bytes:
    """The blank template as xlsx bytes (built once per process)."""
    out = io.BytesIO()
    build_template().save(out)
    return out.getvalue()
