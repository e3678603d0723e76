"""Reading and judging a 附件4 roster (成长记录补充模板): pure Python over preloaded lookups.

The file is read once with python-calamine (Rust; ~10x faster than openpyxl) after the zip safety
checks of `bulu.xlsx`, which also holds the cell rules shared with the other imports (text
normalization, the 学号 rule, dates). Every check is a plain-Python look-up in dicts and sets
loaded up front — a Django form per row would cost ~50x more — so judging stays a small fraction
of the read. The database is reached only through `RosterLookups`, which
`imports.selectors.roster_lookups_load` fills with one query per kind of fact.

Layout: a title, the header, sample rows, a notes row, then data. Schools pass around copies with
their own title and their own sample rows, so every row between the header and a recognized notes
row is a sample, whatever it holds. Without a notes row the template's own three samples are
recognized by 学号 together with 内容.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from python_calamine import CalamineError, CalamineSheet

from bulu.exceptions import ApplicationError
from bulu.xlsx import (
    CODE_FILE_TOO_LARGE,
    CODE_NOT_XLSX,
    CODE_TOO_MANY_ROWS,
    CODE_UNSAFE_ZIP,
    STUDENT_NO_MESSAGE,
    BadDate,
    gc_paused,
    is_student_no,
    norm_text,
    parse_date,
    shown_text,
    xlsx_check_container,
    xlsx_check_size,
    xlsx_find_header,
    xlsx_first_sheet,
    xlsx_header_positions,
    xlsx_not_xlsx_message,
    xlsx_open,
)
from imports.matching import match_text

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


class _Translations:
    """gettext_lazy messages as text, each translated once: for a file with an error in every
    row, gettext per error cost more than all the checks."""

    def __init__(self) -> None:
        self.done: dict[int, str] = {}

    def __call__(self, message: Any) -> str:
        found = self.done.get(id(message))
        if found is None:
            found = self.done[id(message)] = str(message)
        return found


CreditKey = tuple[str, str, date, str]  # 学号, 内容, 开始时间, 学分类型


@dataclass(frozen=True, slots=True)
class Problem:
    row: int | None  # Excel row number (1-based); None for the whole file
    column: str | None  # header name; None for the whole row or file
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "code": self.code, "message": self.message}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Problem:
        return cls(data.get("row"), data.get("column"), str(data["code"]), str(data["message"]))


@dataclass(slots=True)
class RosterRow:
    """One data row after normalization; a field that failed its check is None."""

    excel_row: int
    student_no: str | None
    name: str
    start: date | None
    end: date | None
    content: str
    category: str | None
    subcategory: str | None
    level: str | None
    award: str
    credit_type: str | None
    value: Decimal | None
    ok: bool = True


@dataclass
class RosterReport:
    data_rows: int = 0
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    rows: list[RosterRow] = field(default_factory=list)
    header_row: int | None = None
    # Header name -> 1-based Excel column number, as found in the file.
    columns: dict[str, int] = field(default_factory=dict)
    readable: bool = True

    @property
    def ok(self) -> bool:
        return self.readable and not self.errors

    def summary(self) -> dict[str, Any]:
        """Totals a reviewer compares with the application letter (人数、总分)."""
        good = [r for r in self.rows if r.ok]
        per_type: dict[str, Decimal] = {}
        for r in good:
            if r.credit_type is not None and r.value is not None:
                per_type[r.credit_type] = per_type.get(r.credit_type, Decimal(0)) + r.value
        return {
            "students": len({r.student_no for r in self.rows if r.student_no}),
            "valid_rows": len(good),
            "totals": {k: str(v) for k, v in sorted(per_type.items())},
        }

    def as_json(self) -> dict[str, Any]:
        """The CLI's --json object, also the stored result (plus summary and header facts)."""
        return {
            "ok": self.ok,
            "data_rows": self.data_rows,
            "errors": [p.as_dict() for p in self.errors],
            "warnings": [p.as_dict() for p in self.warnings],
        }


@dataclass
class CreditSettings:
    """The 到梦空间 settings mirror, keyed by the normalized spelling of each configured name."""

    categories: dict[str, str] = field(default_factory=dict)
    subcategories: dict[str, dict[str, str]] = field(default_factory=dict)  # by category name
    levels: dict[str, str] = field(default_factory=dict)
    credit_types: dict[str, str] = field(default_factory=dict)
    # Credit type name -> the most one record may grant (types without a limit are absent).
    maxima: dict[str, Decimal] = field(default_factory=dict)
    # 一级分类 name -> the credit types its active 认定标准 items use. Empty: no standard loaded,
    # and no pair is judged.
    standard: dict[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def from_names(
        cls,
        *,
        categories: Iterable[tuple[str, Iterable[str]]],
        levels: Iterable[str],
        credit_types: Iterable[str],
        maxima: Mapping[str, Decimal] | None = None,
        standard_pairs: Iterable[tuple[str, str]] = (),
    ) -> CreditSettings:
        result = cls()
        for cat, subs in categories:
            result.categories[norm_text(cat)] = cat
            result.subcategories[cat] = {norm_text(s): s for s in subs}
        result.levels = {norm_text(n): n for n in levels}
        result.credit_types = {norm_text(n): n for n in credit_types}
        result.maxima = dict(maxima or {})
        standard: dict[str, set[str]] = {}
        for category, credit_type in standard_pairs:
            standard.setdefault(category, set()).add(credit_type)
        result.standard = {k: frozenset(v) for k, v in standard.items()}
        return result


@dataclass
class RosterLookups:
    """Everything judging needs from the database, behind two batch callables."""

    settings: CreditSettings
    # 学号s -> {学号: registry name}; called once with every well-formed 学号 of the file.
    student_names: Callable[[Collection[str]], dict[str, str]]
    # 学号s -> {credit key: request id} of credits already recorded by approved requests.
    credited: Callable[[Collection[str]], dict[CreditKey, int]]


ProgressCallback = Callable[[float], None]
PROGRESS_EVERY = 2000  # rows between progress callbacks


# --- values ----------------------------------------------------------------------------------

_VALUE_RE = re.compile(r"\d+(?:\.\d{1,2})?")
_CENT = Decimal("0.01")


def parse_value(value: object) -> Decimal:
    """发放学分值: a non-negative number with at most 2 decimals; raises ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int | float):
        try:
            number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        except InvalidOperation as exc:
            raise ValueError from exc
        if not number.is_finite() or number < 0 or number != number.quantize(_CENT):
            raise ValueError
    else:
        text = norm_text(value)
        if not _VALUE_RE.fullmatch(text):
            raise ValueError
        number = Decimal(text)
    if number > VALUE_MAX:
        raise ValueError
    return number.quantize(_CENT)


def is_notes_text(value: object) -> bool:
    """Whether a cell is the template's notes (or an edited copy's version of note 1)."""
    if type(value) is not str or not any(hint in value for hint in _NOTES_HINTS):
        return False
    return NOTES_RE.search(re.sub(r"\s+", "", norm_text(value[:300]))) is not None


# Kept under their old names for callers outside imports.roster.
check_upload_size = xlsx_check_size
check_xlsx_container = xlsx_check_container


# --- reading ---------------------------------------------------------------------------------


class _Unreadable(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def _file_problem(code: str, message: str) -> _Unreadable:
    return _Unreadable(Problem(None, None, code, message))


def _open_first_sheet(fileobj: IO[bytes], max_bytes: int | None) -> CalamineSheet:
    try:
        return xlsx_first_sheet(xlsx_open(fileobj, max_bytes=max_bytes))
    except ApplicationError as exc:
        raise _file_problem(str(exc.extra.get("code", NOT_XLSX)), exc.message) from exc


class _SheetRows:
    """The first sheet's rows, numbered as in Excel; the first ones are kept for the layout."""

    def __init__(self, sheet: CalamineSheet) -> None:
        end = sheet.end
        self.last_row = end[0] + 1 if end is not None else 0  # Excel number of the last used row
        # python-calamine yields rows from Excel row 1 but columns from the first used column.
        self.col_offset = sheet.start[1] if sheet.start else 0
        self.head: list[list[object]] = []
        self._rest: Iterator[list[Any]] = iter(sheet.iter_rows()) if end is not None else iter(())

    def read_head(self, count: int) -> None:
        """Keep the first `count` rows (fewer if the sheet is shorter)."""
        with _calamine_errors():
            for row in self._rest:
                self.head.append(row)
                if len(self.head) >= count:
                    break

    def body(self, first_index: int) -> Iterator[tuple[int, list[object]]]:
        """(Excel row, cells) from the 0-based `first_index` to the end."""
        head = self.head
        for i in range(first_index, len(head)):
            yield i + 1, head[i]
        n = len(head)
        with _calamine_errors():
            for row in self._rest:
                n += 1
                yield n, row


@contextmanager
def _calamine_errors() -> Iterator[None]:
    try:
        yield
    except CalamineError as exc:  # a sheet calamine stops reading halfway
        raise _file_problem(NOT_XLSX, xlsx_not_xlsx_message()) from exc


@dataclass
class _Layout:
    header_index: int  # 0-based index of the header row
    positions: dict[str, int]  # column name -> 0-based index in calamine's rows
    notes_row: int | None  # Excel row of the notes row right below the samples, if any

    @property
    def header_row(self) -> int:
        return self.header_index + 1


def _read_layout(rows: _SheetRows, report: RosterReport) -> _Layout | None:
    """Header (by name, in the first rows) and notes row; None when the header is unusable."""
    rows.read_head(HEADER_SEARCH_ROWS)
    header_index = xlsx_find_header(rows.head[:HEADER_SEARCH_ROWS], known=COLUMN_ORDER, min_known=3)
    if header_index is None:
        report.errors.append(
            Problem(
                None,
                None,
                BAD_HEADER,
                _("找不到表头行。请使用附件4模板，第 2 行为表头：%(header)s；只读取第一个工作表。")
                % {"header": " ".join(COLUMNS)},
            )
        )
        return None
    header_row = header_index + 1
    report.header_row = header_row
    positions, header_problems = _header_problems(rows.head[header_index], header_row)
    report.columns = {name: rows.col_offset + i + 1 for name, i in positions.items()}
    if header_problems:
        report.errors.extend(header_problems)
        return None
    rows.read_head(header_row + NOTES_SEARCH_ROWS)
    notes_row = next(
        (
            i + 1
            for i in range(header_row, min(len(rows.head), header_row + NOTES_SEARCH_ROWS))
            if is_notes_text(_lead(rows.head[i]))
        ),
        None,
    )
    return _Layout(header_index=header_index, positions=positions, notes_row=notes_row)


def _lead(cells: list[object]) -> object:
    """The first non-empty cell: a merged notes row keeps its text in its first cell only."""
    return cells[0] if cells and cells[0] != "" else next((v for v in cells if v != ""), "")


def _header_problems(header: list[object], header_row: int) -> tuple[dict[str, int], list[Problem]]:
    positions, repeated = xlsx_header_positions(header, known=COLUMN_ORDER)
    problems = [
        Problem(
            header_row,
            name,
            BAD_HEADER,
            _("表头中“%(column)s”列出现了不止一次，请删除多余的一列。") % {"column": name},
        )
        for name in repeated
    ]
    for name in COLUMNS:
        if name not in positions:
            problems.append(
                Problem(
                    header_row,
                    name,
                    BAD_HEADER,
                    _("表头缺少“%(column)s”列。请使用附件4模板，表头依次为：%(header)s。")
                    % {"column": name, "header": " ".join(COLUMNS)},
                )
            )
    return positions, problems


def _check_row_cap(rows: _SheetRows, layout: _Layout, limit: int) -> None:
    """Before any data row is read: the used rows below the samples and notes exceed the cap."""
    if layout.notes_row is not None:
        candidates = rows.last_row - layout.notes_row
    else:
        candidates = rows.last_row - layout.header_row - TEMPLATE_ROWS
    if candidates > limit:
        raise _file_problem(TOO_MANY_ROWS, _too_many_rows_message(limit))


def _choices(names: Iterable[str], limit: int = 12) -> str:
    values = list(names)
    shown = "、".join(values[:limit])
    return shown + ("等" if len(values) > limit else "")


# --- judging one row -------------------------------------------------------------------------


class _Judge:
    """Per-row checks; its caches make repeated values (categories, dates) cost a dict hit."""

    def __init__(self, report: RosterReport, lookups: RosterLookups) -> None:
        self.report = report
        self.errors = report.errors
        self.warnings = report.warnings
        self.settings = lookups.settings
        # The school's calendar day (TIME_ZONE, Asia/Shanghai), not the server's or UTC's.
        self.today = timezone.localdate(timezone=timezone.get_default_timezone())
        self.date_cache: dict[str, date | BadDate] = {}
        self.text_cache: dict[str, str] = {}
        self.seen: dict[CreditKey, int] = {}
        self.pair_messages: dict[tuple[str, str], str] = {}
        self.choices: dict[str, str] = {}
        self.tr = _Translations()

    def error(self, row: int, column: str | None, code: str, message: str) -> None:
        self.errors.append(Problem(row, column, code, message))

    def warn(self, row: int, column: str | None, code: str, message: str) -> None:
        self.warnings.append(Problem(row, column, code, message))

    def missing(self, row: int, column: str) -> None:
        hint = self.tr(MISSING_HINTS[column])
        self.error(
            row, column, MISSING_VALUE, self.tr(MSG_MISSING) % {"column": column, "hint": hint}
        )

    def text(self, raw: object) -> str:
        """norm_text, memoized for strings: a roster repeats its activity in every row."""
        if type(raw) is not str:
            return norm_text(raw)
        cache = self.text_cache
        found = cache.get(raw)
        if found is None:
            found = norm_text(raw)
            if len(cache) < CACHE_MAX:
                cache[raw] = found
        return found

    def row(self, excel_row: int, cells: list[object]) -> RosterRow:
        """Judge one row; `cells` are the raw values in COLUMNS order."""
        start_errors = len(self.errors)
        (
            raw_no,
            raw_name,
            raw_start,
            raw_end,
            raw_content,
            raw_category,
            raw_subcategory,
            raw_level,
            raw_award,
            raw_type,
            raw_value,
        ) = cells
        student_no = self.student_no(excel_row, raw_no)
        name = self.required_text(excel_row, COL_NAME, raw_name, memo=False)
        start, end = self.dates(excel_row, raw_start, raw_end)
        content = self.required_text(excel_row, COL_CONTENT, raw_content)
        category, subcategory = self.classification(excel_row, raw_category, raw_subcategory)
        level = self.named(excel_row, COL_LEVEL, raw_level, self.settings.levels, UNKNOWN_LEVEL)
        award = self.text(raw_award)
        credit_type = self.named(
            excel_row, COL_CREDIT_TYPE, raw_type, self.settings.credit_types, UNKNOWN_CREDIT_TYPE
        )
        value = self.value(excel_row, raw_value, credit_type)
        self.lengths(excel_row, name, content, award)
        if category is not None and credit_type is not None:
            self.pair(excel_row, category, credit_type)
        if student_no and content and start is not None and credit_type is not None:
            self.duplicate(
                excel_row, (student_no, match_text(content), start, match_text(credit_type))
            )
        return RosterRow(
            excel_row=excel_row,
            student_no=student_no,
            name=name,
            start=start,
            end=end,
            content=content,
            category=category,
            subcategory=subcategory,
            level=level,
            award=award,
            credit_type=credit_type,
            value=value,
            ok=len(self.errors) == start_errors,
        )

    def student_no(self, row: int, raw: object) -> str | None:
        text = norm_text(raw)
        if not text:
            self.missing(row, COL_NO)
            return None
        if not is_student_no(text):
            self.error(
                row,
                COL_NO,
                BAD_STUDENT_ID,
                self.tr(STUDENT_NO_MESSAGE) % {"value": shown_text(text)},
            )
            return None
        return text

    def required_text(self, row: int, column: str, raw: object, *, memo: bool = True) -> str:
        """A required text cell (`memo` False for values that differ in every row: names)."""
        text = self.text(raw) if memo else norm_text(raw)
        if not text:
            self.missing(row, column)
        return text

    def dates(
        self, row: int, raw_start: object, raw_end: object
    ) -> tuple[date | None, date | None]:
        """开始时间 (required) and 结束时间; a date that is not well formed comes back None."""
        start, start_ok = self.judge_date(row, COL_START, raw_start)
        if start_ok and start is None:
            self.missing(row, COL_START)
        end, _end_ok = self.judge_date(row, COL_END, raw_end)
        if start is not None and end is not None and end < start:
            self.error(
                row,
                COL_END,
                END_BEFORE_START,
                self.tr(MSG_END_BEFORE_START)
                % {"end": f"{end:%Y/%m/%d}", "start": f"{start:%Y/%m/%d}"},
            )
        return start, end

    def judge_date(self, row: int, column: str, raw: object) -> tuple[date | None, bool]:
        """(the date or None, whether it is well formed); a date after today is an error."""
        if type(raw) is datetime:
            found: date | BadDate | None = raw.date()
        elif type(raw) is date:
            found = raw
        else:
            found = self.parsed_date(raw)
        if isinstance(found, BadDate):
            self.error(
                row,
                column,
                BAD_DATE,
                self.tr(MSG_BAD_DATE) % {"value": shown_text(str(found))},
            )
            return None, False
        if found is not None and found > self.today:
            self.error(
                row,
                column,
                FUTURE_DATE,
                self.tr(MSG_FUTURE_DATE)
                % {
                    "column": column,
                    "value": f"{found:%Y/%m/%d}",
                    "today": f"{self.today:%Y/%m/%d}",
                },
            )
        return found, True

    def parsed_date(self, raw: object) -> date | BadDate | None:
        # Text dates repeat a lot in a roster: parse each spelling once (str keys only, so that
        # 1, 1.0 and True can never share an entry).
        cached = self.date_cache.get(raw) if type(raw) is str else None
        if cached is None:
            try:
                cached = parse_date(raw)
            except BadDate as bad:
                cached = bad
            if type(raw) is str and cached is not None and len(self.date_cache) < CACHE_MAX:
                self.date_cache[raw] = cached
        return cached

    def classification(
        self, row: int, raw_category: object, raw_subcategory: object
    ) -> tuple[str | None, str | None]:
        """活动一级分类, then the 二级分类 among that category's own (not judged without one)."""
        category = self.named(
            row, COL_CATEGORY, raw_category, self.settings.categories, UNKNOWN_CATEGORY
        )
        sub_text = self.text(raw_subcategory)
        if not sub_text:
            self.missing(row, COL_SUBCATEGORY)
            return category, None
        if category is None:
            return None, None
        subs = self.settings.subcategories.get(category, {})
        subcategory = subs.get(sub_text)
        if subcategory is None:
            self.error(
                row,
                COL_SUBCATEGORY,
                UNKNOWN_SUBCATEGORY,
                self.tr(MSG_UNKNOWN_SUBCATEGORY)
                % {
                    "value": shown_text(sub_text),
                    "category": category,
                    "choices": _choices(subs.values()),
                },
            )
        return category, subcategory

    def named(
        self, row: int, column: str, raw: object, known: dict[str, str], code: str
    ) -> str | None:
        """A required cell naming one of the configured `known` names (None if not)."""
        text = self.text(raw)
        if not text:
            self.missing(row, column)
            return None
        found = known.get(text)
        if found is None:
            choices = self.choices.get(code)
            if choices is None:
                choices = self.choices[code] = _choices(known.values())
            message = self.tr(MSG_UNKNOWN[code]) % {"value": shown_text(text), "choices": choices}
            self.error(row, column, code, message)
        return found

    def value(self, row: int, raw: object, credit_type: str | None) -> Decimal | None:
        """发放学分值: may be empty; within its type's per-record limit; 0 earns a warning."""
        if raw == "" or raw is None:
            return None
        try:
            value = parse_value(raw)
        except ValueError:
            self.error(
                row,
                COL_VALUE,
                BAD_VALUE,
                self.tr(MSG_BAD_VALUE) % {"value": shown_text(norm_text(raw))},
            )
            return None
        limit = self.settings.maxima.get(credit_type) if credit_type is not None else None
        if limit is not None and value > limit:
            self.error(
                row,
                COL_VALUE,
                VALUE_OVER_LIMIT,
                self.tr(MSG_VALUE_OVER_LIMIT) % {"value": value, "type": credit_type, "max": limit},
            )
        elif not value:
            self.warn(
                row,
                COL_VALUE,
                ZERO_VALUE,
                self.tr(MSG_ZERO_VALUE),
            )
        return value

    def lengths(self, row: int, name: str, content: str, award: str) -> None:
        for column, given in ((COL_NAME, name), (COL_CONTENT, content), (COL_AWARD, award)):
            if len(given) > MAX_LEN[column]:
                self.error(
                    row,
                    column,
                    TOO_LONG,
                    self.tr(MSG_TOO_LONG) % {"column": column, "max": MAX_LEN[column]},
                )

    def pair(self, row: int, category: str, credit_type: str) -> None:
        """Warn when no active 认定标准 item of the category grants this credit type."""
        standard = self.settings.standard
        if not standard or credit_type in standard.get(category, ()):
            return
        message = self.pair_messages.get((category, credit_type))
        if message is None:
            used = standard.get(category)
            message = self.pair_messages[(category, credit_type)] = (
                self.tr(MSG_PAIR)
                % {"category": category, "type": credit_type, "choices": _choices(sorted(used))}
                if used
                else self.tr(MSG_PAIR_NO_ITEMS) % {"category": category, "type": credit_type}
            )
        self.warn(row, COL_CREDIT_TYPE, PAIR_NOT_IN_STANDARD, message)

    def duplicate(self, row: int, key: CreditKey) -> None:
        first = self.seen.get(key)
        if first is None:
            self.seen[key] = row
            return
        self.error(
            row,
            None,
            DUPLICATE_ROW,
            self.tr(MSG_DUPLICATE) % {"first": first},
        )


# --- reading every row -----------------------------------------------------------------------


@dataclass
class _Scan:
    """What walking the rows below the header found besides the judged data rows."""

    data_rows: int = 0
    samples_seen: int = 0
    notes_seen: bool = False
    # (Excel row, 学号) of sample rows above the notes row whose 学号 is well formed.
    sample_numbers: list[tuple[int, str]] = field(default_factory=list)


def _scan_rows(
    rows: _SheetRows,
    layout: _Layout,
    judge: _Judge,
    limit: int,
    progress: ProgressCallback | None,
) -> _Scan:
    """Skip samples, notes and blank rows; judge every data row (in the report's rows)."""
    scan = _Scan()
    order = [layout.positions[name] for name in COLUMNS]
    width = max(order) + 1
    padding = ("",) * width
    samples_end = layout.notes_row or 0  # rows above it (below the header) are samples
    total = max(rows.last_row - layout.header_row, 1)
    report_rows = judge.report.rows
    for excel_row, raw in rows.body(layout.header_index + 1):
        if len(raw) < width:
            raw = list(raw) + list(padding[len(raw) :])
        if is_notes_text(_lead(raw)):
            scan.notes_seen = True
            continue
        values = [raw[i] for i in order]
        if excel_row < samples_end:
            _note_sample(scan, excel_row, values)
            continue
        if _is_blank(values):
            continue
        no = norm_text(values[0])
        if no in SAMPLE_ROWS and norm_text(values[4]) == SAMPLE_ROWS[no]:
            scan.samples_seen += 1
            continue
        scan.data_rows += 1
        if scan.data_rows > limit:
            raise _file_problem(TOO_MANY_ROWS, _too_many_rows_message(limit))
        report_rows.append(judge.row(excel_row, values))
        if progress is not None and scan.data_rows % PROGRESS_EVERY == 0:
            progress(0.8 * (excel_row - layout.header_row) / total)
    return scan


def _is_blank(values: list[object]) -> bool:
    """Blank rows (and rows whose only content lies outside the template's columns)."""
    empties = values.count("")
    if not empties:
        return False
    if empties == len(values):
        return True
    first = values[0]
    # Only a row without a 学号 can be all whitespace: skip the full scan otherwise.
    return (first == "" or (type(first) is str and not first.strip())) and all(
        type(v) is str and not v.strip() for v in values
    )


def _note_sample(scan: _Scan, excel_row: int, values: list[object]) -> None:
    """A row between the header and the notes row: a sample, never data."""
    if _is_blank(values):
        return
    scan.samples_seen += 1
    no = norm_text(values[0])
    if is_student_no(no):
        scan.sample_numbers.append((excel_row, no))


def _sample_rows_missing(header_row: int) -> Problem:
    return Problem(
        None,
        None,
        SAMPLE_ROWS_MISSING,
        _(
            "未找到模板的三行示范数据和说明行，已从表头下一行（第 %(row)s 行）起读取数据。"
            "请确认没有把示范行改成了真实数据，今后请保留示范行、从第 7 行起填写。"
        )
        % {"row": header_row + 1},
    )


# --- against the registry --------------------------------------------------------------------


def _against_registry(
    report: RosterReport, lookups: RosterLookups, scan: _Scan, notes_row: int | None
) -> None:
    """unknown_student, name_mismatch, already_credited and sample_row_real_student: one batch
    look-up of names (data and sample rows together) and one of granted credits."""
    numbers = {r.student_no for r in report.rows if r.student_no}
    sample_numbers = {no for _row, no in scan.sample_numbers}
    if not numbers and not sample_numbers:
        return
    registry = {
        no: norm_text(n) for no, n in lookups.student_names(numbers | sample_numbers).items()
    }
    _registry_errors(report, registry)
    if numbers:
        _credited_warnings(report, lookups.credited(numbers))
    if notes_row is not None:
        for excel_row, no in scan.sample_numbers:
            if no in registry:
                report.warnings.append(_sample_real_student(excel_row, no, notes_row))


def _registry_errors(report: RosterReport, registry: dict[str, str]) -> None:
    tr = _Translations()
    for r in report.rows:
        no = r.student_no
        if no is None:
            continue
        known = registry.get(no)
        if known is None:
            report.errors.append(
                Problem(
                    r.excel_row,
                    COL_NO,
                    UNKNOWN_STUDENT,
                    tr(MSG_UNKNOWN_STUDENT) % {"no": no},
                )
            )
            r.ok = False
        elif r.name and r.name != known:
            # The registry's name is not shown: the uploader may be a student applicant.
            report.errors.append(
                Problem(
                    r.excel_row,
                    COL_NAME,
                    NAME_MISMATCH,
                    tr(MSG_NAME_MISMATCH) % {"name": shown_text(r.name), "no": no},
                )
            )
            r.ok = False


def _credited_warnings(report: RosterReport, credited: dict[CreditKey, int]) -> None:
    if not credited:
        return
    tr = _Translations()
    for r in report.rows:
        if r.student_no is None or r.start is None or r.credit_type is None:
            continue
        request_id = credited.get(
            (r.student_no, match_text(r.content), r.start, match_text(r.credit_type))
        )
        if request_id is None:
            continue
        report.warnings.append(
            Problem(
                r.excel_row,
                None,
                ALREADY_CREDITED,
                tr(MSG_ALREADY_CREDITED)
                % {
                    "no": r.student_no,
                    "content": shown_text(r.content),
                    "start": f"{r.start:%Y/%m/%d}",
                    "type": r.credit_type,
                    "request": request_id,
                },
            )
        )


def _sample_real_student(excel_row: int, no: str, notes_row: int) -> Problem:
    return Problem(
        excel_row,
        COL_NO,
        SAMPLE_ROW_REAL_STUDENT,
        _(
            "第 %(row)s 行在填写说明（第 %(notes)s 行）上方，是示范行，不会被读取；"
            "但其中的学号 %(no)s 是名册中的学生。如果这是真实数据，"
            "请把它移到第 %(first)s 行及以下：数据从说明行的下一行开始填写。"
        )
        % {"row": excel_row, "notes": notes_row, "no": no, "first": notes_row + 1},
    )


# --- the whole file --------------------------------------------------------------------------


def _sort_key(p: Problem) -> tuple[int, int]:
    return (p.row or 0, COLUMN_ORDER.get(p.column or "", -1))


def roster_check(
    fileobj: IO[bytes],
    *,
    lookups: RosterLookups,
    progress: ProgressCallback | None = None,
    max_rows: int | None = None,
    max_bytes: int | None = None,
) -> RosterReport:
    """Read the first sheet of a 附件4 roster and judge every row. Never raises for bad input."""
    report = RosterReport()
    limit = settings.BULU_ROSTER_MAX_ROWS if max_rows is None else max_rows
    try:
        sheet = _open_first_sheet(fileobj, max_bytes)
        with gc_paused():
            _read_and_judge(sheet, report, lookups, limit, progress)
    except _Unreadable as bad:
        report.readable = False
        report.errors = [bad.problem]
        report.warnings = []
        report.rows = []
        return report
    report.errors.sort(key=_sort_key)
    report.warnings.sort(key=_sort_key)
    return report


def _read_and_judge(
    sheet: CalamineSheet,
    report: RosterReport,
    lookups: RosterLookups,
    limit: int,
    progress: ProgressCallback | None,
) -> None:
    rows = _SheetRows(sheet)
    if not rows.last_row:
        report.errors.append(Problem(None, None, NO_DATA, _no_data_message()))
        return
    layout = _read_layout(rows, report)
    if layout is None:
        return
    _check_row_cap(rows, layout, limit)
    scan = _scan_rows(rows, layout, _Judge(report, lookups), limit, progress)
    report.data_rows = scan.data_rows
    if scan.samples_seen == 0 and not scan.notes_seen:
        report.warnings.append(_sample_rows_missing(layout.header_row))
    if scan.data_rows == 0:
        report.errors.append(Problem(None, None, NO_DATA, _no_data_message()))
    if progress is not None:
        progress(0.8)
    _against_registry(report, lookups, scan, layout.notes_row)
    if progress is not None:
        progress(0.9)


def _no_data_message() -> str:
    return _("文件中没有数据行，请从示范行下面（第 7 行）起逐行填写后再上传。")


def _too_many_rows_message(limit: int) -> str:
    return _("文件数据超过 %(max)s 行的上限，请拆分成多个文件后分别上传。") % {"max": limit}
