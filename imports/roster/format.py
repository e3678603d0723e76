"""The 附件4 format (成长记录补充模板): its columns, the problem codes and labels, the messages."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy

from bulu.xlsx import (
    CODE_FILE_TOO_LARGE,
    CODE_NOT_XLSX,
    CODE_TOO_MANY_ROWS,
    CODE_UNSAFE_ZIP,
)

# --- the format ------------------------------------------------------------------------------

COL_NO = "学号"
COL_NAME = "姓名"
COL_START = "开始时间"
COL_END = "结束时间"
COL_CONTENT = "内容"
COL_CATEGORY = "活动一级分类"
COL_SUBCATEGORY = "活动二级分类"
COL_LEVEL = "活动等级"
COL_AWARD = "奖项内容"
COL_CREDIT_TYPE = "学分类型"
COL_VALUE = "发放学分值"
COLUMNS: tuple[str, ...] = (
    COL_NO,
    COL_NAME,
    COL_START,
    COL_END,
    COL_CONTENT,
    COL_CATEGORY,
    COL_SUBCATEGORY,
    COL_LEVEL,
    COL_AWARD,
    COL_CREDIT_TYPE,
    COL_VALUE,
)
# 结束时间, 奖项内容 and 发放学分值 may be empty (the template's notes 2, 3 and 6).
REQUIRED: frozenset[str] = frozenset(COLUMNS) - {COL_END, COL_AWARD, COL_VALUE}
COLUMN_ORDER = {name: i for i, name in enumerate(COLUMNS)}

TITLE = "成长记录补充模板"
# The template's three sample rows (学号 -> 内容): skipped wherever they appear, never read as data.
SAMPLE_ROWS: dict[str, str] = {
    "1000001": "参加学生会歌唱比赛奖励",
    "1000002": "奖励学生户外运动成绩",
    "1000003": "学生打扫卫生奖励",
}
# The notes row says the rows above are samples, or that data starts on row 7 (note 1); matched
# after NFKC with all whitespace removed, so "请从第 7 行开始" and "从第７行开始" both count.
NOTES_RE = re.compile(r"以上.{0,4}示范数据|从第7行开始")
# Cheap substrings one of which every notes text holds, tested before the full match.
_NOTES_HINTS = ("示范数据", "行开始")
# The header is looked for in the first rows only; a sheet whose header sits lower is not ours.
HEADER_SEARCH_ROWS = 20
# A notes row further below the header does not turn the rows above it into samples.
NOTES_SEARCH_ROWS = 20
# Rows between the header and the data in the template: three samples and the notes row.
TEMPLATE_ROWS = 4
VALUE_MAX = Decimal("99999.99")  # CreditRecord.value: max_digits=7, decimal_places=2
MAX_LEN = {COL_NAME: 64, COL_CONTENT: 200, COL_AWARD: 200}

# --- codes -----------------------------------------------------------------------------------

NOT_XLSX = CODE_NOT_XLSX
UNSAFE_ZIP = CODE_UNSAFE_ZIP  # zip bomb: too many entries, too large, or too compressed
FILE_TOO_LARGE = CODE_FILE_TOO_LARGE
TOO_MANY_ROWS = CODE_TOO_MANY_ROWS
NO_DATA = "no_data"
BAD_HEADER = "bad_header"
MISSING_VALUE = "missing_value"
BAD_STUDENT_ID = "bad_student_id"
UNKNOWN_STUDENT = "unknown_student"
NAME_MISMATCH = "name_mismatch"
BAD_DATE = "bad_date"
FUTURE_DATE = "future_date"
END_BEFORE_START = "end_before_start"
UNKNOWN_CATEGORY = "unknown_category"
UNKNOWN_SUBCATEGORY = "unknown_subcategory"
UNKNOWN_LEVEL = "unknown_level"
UNKNOWN_CREDIT_TYPE = "unknown_credit_type"
BAD_VALUE = "bad_value"
VALUE_OVER_LIMIT = "value_over_limit"
TOO_LONG = "too_long"
DUPLICATE_ROW = "duplicate_row"
# Warnings: the file is still acceptable.
ALREADY_CREDITED = "already_credited"
SAMPLE_ROWS_MISSING = "sample_rows_missing"
SAMPLE_ROW_REAL_STUDENT = "sample_row_real_student"
PAIR_NOT_IN_STANDARD = "pair_not_in_standard"
ZERO_VALUE = "zero_value"
# The file could not be judged at all (the CLI's exit code 2, the upload's "unreadable").
FILE_LEVEL_CODES = frozenset({NOT_XLSX, UNSAFE_ZIP, FILE_TOO_LARGE, TOO_MANY_ROWS})

CODE_LABELS: dict[str, Any] = {
    NOT_XLSX: gettext_lazy("不是可读取的 xlsx 文件"),
    UNSAFE_ZIP: gettext_lazy("疑似恶意文件"),
    FILE_TOO_LARGE: gettext_lazy("文件过大"),
    TOO_MANY_ROWS: gettext_lazy("行数超过上限"),
    NO_DATA: gettext_lazy("没有数据行"),
    BAD_HEADER: gettext_lazy("表头不对"),
    MISSING_VALUE: gettext_lazy("必填项为空"),
    BAD_STUDENT_ID: gettext_lazy("学号格式错误"),
    UNKNOWN_STUDENT: gettext_lazy("学号不在名册"),
    NAME_MISMATCH: gettext_lazy("姓名与名册不符"),
    BAD_DATE: gettext_lazy("日期无效"),
    FUTURE_DATE: gettext_lazy("日期晚于今天"),
    END_BEFORE_START: gettext_lazy("结束早于开始"),
    UNKNOWN_CATEGORY: gettext_lazy("一级分类未设置"),
    UNKNOWN_SUBCATEGORY: gettext_lazy("二级分类不符"),
    UNKNOWN_LEVEL: gettext_lazy("活动等级未设置"),
    UNKNOWN_CREDIT_TYPE: gettext_lazy("学分类型未设置"),
    BAD_VALUE: gettext_lazy("学分值无效"),
    VALUE_OVER_LIMIT: gettext_lazy("超过单条上限"),
    TOO_LONG: gettext_lazy("内容过长"),
    DUPLICATE_ROW: gettext_lazy("重复行"),
    ALREADY_CREDITED: gettext_lazy("已发放过"),
    SAMPLE_ROWS_MISSING: gettext_lazy("示范行缺失"),
    SAMPLE_ROW_REAL_STUDENT: gettext_lazy("示范行中有真实学生"),
    PAIR_NOT_IN_STANDARD: gettext_lazy("不在认定标准中"),
    ZERO_VALUE: gettext_lazy("学分值为 0"),
}

MISSING_HINTS: dict[str, Any] = {
    COL_NO: gettext_lazy("请填写学号。"),
    COL_NAME: gettext_lazy("请填写姓名。"),
    COL_START: gettext_lazy("请填写开始时间，如 2024/3/5。"),
    COL_CONTENT: gettext_lazy("请填写活动或奖励的内容。"),
    COL_CATEGORY: gettext_lazy("请填写到梦空间中设置的活动一级分类。"),
    COL_SUBCATEGORY: gettext_lazy("请填写到梦空间中设置的活动二级分类。"),
    COL_LEVEL: gettext_lazy("请填写活动等级，如 校级。"),
    COL_CREDIT_TYPE: gettext_lazy("请填写学分类型，如 文体活动学分。"),
}

# Messages of the per-row checks, translated once per file (see _Judge.tr).
MSG_MISSING = gettext_lazy("“%(column)s”不能为空。%(hint)s")
MSG_BAD_DATE = gettext_lazy(
    "“%(value)s”不是有效的日期，请填写存在的日期，如 2024/3/5、2024-03-05 或 2024年3月5日。"
)
MSG_FUTURE_DATE = gettext_lazy(
    "%(column)s %(value)s 晚于今天（%(today)s），只能补录已经发生的活动，请核对。"
)
MSG_END_BEFORE_START = gettext_lazy(
    "结束时间 %(end)s 早于开始时间 %(start)s，请核对；如果是时间点，结束时间可以不填。"
)
MSG_UNKNOWN: dict[str, Any] = {
    UNKNOWN_CATEGORY: gettext_lazy(
        "活动一级分类“%(value)s”不在到梦空间的活动分类设置中，请改为已设置的分类：%(choices)s。"
    ),
    UNKNOWN_LEVEL: gettext_lazy("活动等级“%(value)s”不在设置中，请改为：%(choices)s。"),
    UNKNOWN_CREDIT_TYPE: gettext_lazy(
        "学分类型“%(value)s”不在到梦空间的学分设置中，请改为：%(choices)s。"
    ),
}
MSG_UNKNOWN_SUBCATEGORY = gettext_lazy(
    "活动二级分类“%(value)s”不属于一级分类“%(category)s”，"
    "请改为该分类下已设置的二级分类：%(choices)s。"
)
MSG_BAD_VALUE = gettext_lazy(
    "发放学分值“%(value)s”无效：请填写不小于 0、最多两位小数的数字（如 2 或 0.5），"
    "不要带单位；也可以不填。"
)
MSG_VALUE_OVER_LIMIT = gettext_lazy(
    "发放学分值 %(value)s 超过学分类型“%(type)s”的单条记录上限 %(max)s，请核对学分值。"
)
MSG_ZERO_VALUE = gettext_lazy("发放学分值为 0：这条记录不会给学生增加学分，请确认是否填错。")
MSG_TOO_LONG = gettext_lazy("“%(column)s”超过 %(max)s 个字，请精简。")
MSG_PAIR = gettext_lazy(
    "活动一级分类“%(category)s”与学分类型“%(type)s”的组合不在认定标准中，"
    "请核对学分类型（该分类的认定标准条目使用：%(choices)s）。"
)
MSG_PAIR_NO_ITEMS = gettext_lazy(
    "认定标准中没有活动一级分类“%(category)s”的条目，请核对该分类与学分类型“%(type)s”是否正确。"
)
MSG_DUPLICATE = gettext_lazy(
    "与第 %(first)s 行重复（学号、内容、开始时间、学分类型都相同），"
    "请删除这一行；同一学生的多项学分请分行填写不同的内容。"
)
MSG_UNKNOWN_STUDENT = gettext_lazy("学号 %(no)s 不在学生名册中，请核对或联系二课中心导入。")
MSG_NAME_MISMATCH = gettext_lazy(
    "姓名“%(name)s”与学生名册中学号 %(no)s 的姓名不一致，请核对学号和姓名。"
)
MSG_ALREADY_CREDITED = gettext_lazy(
    "学号 %(no)s 的这条记录（%(content)s，%(start)s，%(type)s）"
    "已在已通过的补录申请 #%(request)s 中发放，请核对是否重复申请。"
)
# Strings are memoized up to this many distinct values: enough for a roster's repeated
# activities and dates, bounded when every cell is different (a hostile file).
CACHE_MAX = 20_000
