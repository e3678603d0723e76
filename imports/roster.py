"""Reading and judging a 附件4 roster (成长记录补充模板): pure Python over preloaded lookups.

The file is read once with python-calamine (Rust; ~10x faster than openpyxl) after the zip safety
check shared with the student registry (`accounts.xlsx`). Every check is a plain-Python look-up in
dicts and sets loaded up front — a Django form per row would cost ~50x more — so judging stays a
small fraction of the read. The database is reached only through `RosterLookups`, which
`imports.selectors.roster_lookups_load` fills with one query per kind of fact.
"""

from __future__ import annotations

import gc
import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from python_calamine import CalamineError, CalamineWorkbook

from accounts.xlsx import CODE_NOT_XLSX, CODE_TOO_MANY_ROWS, CODE_UNSAFE_ZIP, xlsx_check_zip
from bulu.exceptions import ApplicationError

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
NOTES_PREFIX = "1、以上为示范数据"
# The header is looked for in the first rows only; a sheet whose header sits lower is not ours.
HEADER_SEARCH_ROWS = 20
# Rows between the header and the data in the template: three samples and the notes row.
TEMPLATE_ROWS = 4
VALUE_MAX = Decimal("99999.99")  # CreditRecord.value: max_digits=7, decimal_places=2
MAX_LEN = {COL_NAME: 64, COL_CONTENT: 200, COL_AWARD: 200}

# --- codes -----------------------------------------------------------------------------------

NOT_XLSX = CODE_NOT_XLSX
UNSAFE_ZIP = CODE_UNSAFE_ZIP  # zip bomb: too many entries, too large, or too compressed
FILE_TOO_LARGE = "file_too_large"
TOO_MANY_ROWS = CODE_TOO_MANY_ROWS
NO_DATA = "no_data"
BAD_HEADER = "bad_header"
MISSING_VALUE = "missing_value"
BAD_STUDENT_ID = "bad_student_id"
UNKNOWN_STUDENT = "unknown_student"
NAME_MISMATCH = "name_mismatch"
BAD_DATE = "bad_date"
END_BEFORE_START = "end_before_start"
UNKNOWN_CATEGORY = "unknown_category"
UNKNOWN_SUBCATEGORY = "unknown_subcategory"
UNKNOWN_LEVEL = "unknown_level"
UNKNOWN_CREDIT_TYPE = "unknown_credit_type"
BAD_VALUE = "bad_value"
TOO_LONG = "too_long"
DUPLICATE_ROW = "duplicate_row"
# Warnings: the file is still acceptable.
ALREADY_CREDITED = "already_credited"
SAMPLE_ROWS_MISSING = "sample_rows_missing"
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
    END_BEFORE_START: gettext_lazy("结束早于开始"),
    UNKNOWN_CATEGORY: gettext_lazy("一级分类未设置"),
    UNKNOWN_SUBCATEGORY: gettext_lazy("二级分类不符"),
    UNKNOWN_LEVEL: gettext_lazy("活动等级未设置"),
    UNKNOWN_CREDIT_TYPE: gettext_lazy("学分类型未设置"),
    BAD_VALUE: gettext_lazy("学分值无效"),
    TOO_LONG: gettext_lazy("内容过长"),
    DUPLICATE_ROW: gettext_lazy("重复行"),
    ALREADY_CREDITED: gettext_lazy("已发放过"),
    SAMPLE_ROWS_MISSING: gettext_lazy("示范行缺失"),
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

    @classmethod
    def from_names(
        cls,
        *,
        categories: Iterable[tuple[str, Iterable[str]]],
        levels: Iterable[str],
        credit_types: Iterable[str],
    ) -> CreditSettings:
        result = cls()
        for cat, subs in categories:
            result.categories[norm_text(cat)] = cat
            result.subcategories[cat] = {norm_text(s): s for s in subs}
        result.levels = {norm_text(n): n for n in levels}
        result.credit_types = {norm_text(n): n for n in credit_types}
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


# --- normalization ---------------------------------------------------------------------------


def norm_text(value: object) -> str:
    """Trim (full-width space included) and NFKC (full-width digits and punctuation)."""
    if type(value) is str:
        if not value:
            return ""
        if not value.isascii():
            value = unicodedata.normalize("NFKC", value)
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.strftime("%Y/%m/%d %H:%M:%S") if value.time() else f"{value:%Y/%m/%d}"
    if isinstance(value, date):
        return f"{value:%Y/%m/%d}"
    return norm_text(str(value))


def norm_student_no(value: object) -> str:
    """学号 as text: numeric cells lose their `.0`; anything else is normalized text."""
    if isinstance(value, float) and not isinstance(value, bool):
        if value.is_integer() and value >= 0:
            return str(int(value))
        return repr(value)
    return norm_text(value)


def is_student_no(text: str) -> bool:
    return text.isascii() and text.isdigit()


_DATE_RE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
)


class _BadDate(Exception):
    pass


def parse_date(value: object) -> date | None:
    """A date cell, a datetime, or text 2024/3/5, 2024-03-05, 2024.3.5, 2024年3月5日.

    Returns None for an empty cell; raises _BadDate for anything else.
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = norm_text(value)
        if not text:
            return None
        match = _DATE_RE.fullmatch(text)
        if match is None:
            raise _BadDate(text)
        try:
            return date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError as exc:
            raise _BadDate(text) from exc
    if value is None:
        return None
    # Numbers (a date typed without date format), times, booleans: not a date we can trust.
    raise _BadDate(norm_text(value))


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


# --- reading ---------------------------------------------------------------------------------


class _Unreadable(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def _file_problem(code: str, message: str) -> _Unreadable:
    return _Unreadable(Problem(None, None, code, message))


def _not_xlsx_message() -> str:
    return _(
        "无法读取该文件：它不是 xlsx 格式的 Excel 文件。"
        "如果是 .xls、CSV 或设置了密码的文件，请在 Excel 中另存为不加密的 .xlsx 后重试。"
    )


def check_upload_size(size: int, *, max_bytes: int | None = None) -> None:
    """Raises ApplicationError when the file is larger than BULU_UPLOAD_MAX_BYTES."""
    limit = settings.BULU_UPLOAD_MAX_BYTES if max_bytes is None else max_bytes
    if size > limit:
        raise ApplicationError(
            _("文件大小 %(size)s MB 超过 %(max)s MB 的上限，请删除多余内容或拆分成多个文件。")
            % {"size": f"{size / 1048576:.1f}", "max": f"{limit / 1048576:.0f}"},
            extra={"code": FILE_TOO_LARGE},
        )


def check_xlsx_container(fileobj: IO[bytes], *, max_bytes: int | None = None) -> None:
    """File size, then the zip's declared sizes and entry count; nothing is decompressed.

    Raises ApplicationError whose extra["code"] is the problem code.
    """
    fileobj.seek(0, 2)
    check_upload_size(fileobj.tell(), max_bytes=max_bytes)
    try:
        xlsx_check_zip(fileobj)
    except ApplicationError as exc:
        code = str(exc.extra.get("code", NOT_XLSX))
        raise ApplicationError(exc.message, extra={**exc.extra, "code": code}) from exc
    finally:
        fileobj.seek(0)


def _open_first_sheet(fileobj: IO[bytes], max_bytes: int | None) -> Any:
    try:
        check_xlsx_container(fileobj, max_bytes=max_bytes)
    except ApplicationError as exc:
        raise _file_problem(str(exc.extra["code"]), exc.message) from exc
    try:
        workbook = CalamineWorkbook.from_filelike(fileobj)
        return workbook.get_sheet_by_index(0)
    except Exception as exc:  # CalamineError and its kin: any parse failure means "not xlsx"
        raise _file_problem(NOT_XLSX, _not_xlsx_message()) from exc


def _find_header(rows: list[list[object]]) -> int | None:
    """Index (0-based) of the first row naming at least three of the template's columns."""
    known = set(COLUMNS)
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        if sum(1 for cell in row if norm_text(cell) in known) >= 3:
            return i
    return None


def _header_problems(header: list[object], header_row: int) -> tuple[dict[str, int], list[Problem]]:
    positions: dict[str, int] = {}
    problems: list[Problem] = []
    for index, cell in enumerate(header):
        name = norm_text(cell)
        if name not in COLUMN_ORDER:
            continue
        if name in positions:
            problems.append(
                Problem(
                    header_row,
                    name,
                    BAD_HEADER,
                    _("表头中“%(column)s”列出现了不止一次，请删除多余的一列。") % {"column": name},
                )
            )
            continue
        positions[name] = index
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


def _choices(names: Iterable[str], limit: int = 12) -> str:
    values = list(names)
    shown = "、".join(values[:limit])
    return shown + ("等" if len(values) > limit else "")


class _Judge:
    """Per-row checks; its caches make repeated values (categories, dates) cost a dict hit."""

    def __init__(self, report: RosterReport, lookups: RosterLookups) -> None:
        self.report = report
        self.errors = report.errors
        self.settings = lookups.settings
        self.date_cache: dict[str, date | _BadDate] = {}
        self.text_cache: dict[str, str] = {}
        self.seen: dict[tuple[str, str, date, str], int] = {}

    def error(self, row: int, column: str | None, code: str, message: str) -> None:
        self.errors.append(Problem(row, column, code, message))

    def missing(self, row: int, column: str) -> None:
        hint = MISSING_HINTS[column]
        self.error(
            row,
            column,
            MISSING_VALUE,
            _("“%(column)s”不能为空。%(hint)s") % {"column": column, "hint": hint},
        )

    def judge_date(self, row: int, column: str, raw: object) -> tuple[date | None, bool]:
        """(the date or None, whether it is well formed)."""
        if type(raw) is datetime:
            return raw.date(), True
        if type(raw) is date:
            return raw, True
        # Text dates repeat a lot in a roster: parse each spelling once (str keys only, so that
        # 1, 1.0 and True can never share an entry).
        cached = self.date_cache.get(raw) if type(raw) is str else None
        if cached is None:
            try:
                cached = parse_date(raw)
            except _BadDate as bad:
                cached = bad
            if type(raw) is str and cached is not None:
                self.date_cache[raw] = cached
        if isinstance(cached, _BadDate):
            self.error(
                row,
                column,
                BAD_DATE,
                _(
                    "“%(value)s”不是有效的日期，请填写存在的日期，如 2024/3/5、2024-03-05 "
                    "或 2024年3月5日。"
                )
                % {"value": str(cached)},
            )
            return None, False
        return cached, True

    def text(self, raw: object) -> str:
        """norm_text, memoized for strings: a roster repeats its activity in every row."""
        if type(raw) is not str:
            return norm_text(raw)
        cache = self.text_cache
        found = cache.get(raw)
        if found is None:
            found = cache[raw] = norm_text(raw)
        return found

    def named(
        self, row: int, column: str, text: str, known: dict[str, str], code: str
    ) -> str | None:
        found = known.get(text)
        if found is None:
            # Translated only when needed: gettext per row would cost more than the checks.
            message = {
                UNKNOWN_CATEGORY: _(
                    "活动一级分类“%(value)s”不在到梦空间的活动分类设置中，"
                    "请改为已设置的分类：%(choices)s。"
                ),
                UNKNOWN_LEVEL: _("活动等级“%(value)s”不在设置中，请改为：%(choices)s。"),
                UNKNOWN_CREDIT_TYPE: _(
                    "学分类型“%(value)s”不在到梦空间的学分设置中，请改为：%(choices)s。"
                ),
            }[code]
            self.error(
                row, column, code, message % {"value": text, "choices": _choices(known.values())}
            )
        return found

    def row(self, excel_row: int, cells: list[object]) -> RosterRow:
        """Judge one row; `cells` are the raw values in COLUMNS order."""
        start_errors = len(self.errors)
        cfg = self.settings
        text = self.text
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

        student_no: str | None = norm_student_no(raw_no)
        if not student_no:
            self.missing(excel_row, COL_NO)
            student_no = None
        elif not is_student_no(student_no):
            self.error(
                excel_row,
                COL_NO,
                BAD_STUDENT_ID,
                _(
                    "学号“%(value)s”不是纯数字。请把学号列设为“文本”格式后重新输入完整学号"
                    "（不要显示成 2.02101E+09 这样的科学计数法）。"
                )
                % {"value": student_no},
            )
            student_no = None

        name = norm_text(raw_name)
        if not name:
            self.missing(excel_row, COL_NAME)

        start, start_ok = self.judge_date(excel_row, COL_START, raw_start)
        if start_ok and start is None:
            self.missing(excel_row, COL_START)
        end, end_ok = self.judge_date(excel_row, COL_END, raw_end)
        if start is not None and end is not None and end < start:
            self.error(
                excel_row,
                COL_END,
                END_BEFORE_START,
                _(
                    "结束时间 %(end)s 早于开始时间 %(start)s，请核对；"
                    "如果是时间点，结束时间可以不填。"
                )
                % {"end": f"{end:%Y/%m/%d}", "start": f"{start:%Y/%m/%d}"},
            )

        content = text(raw_content)
        if not content:
            self.missing(excel_row, COL_CONTENT)

        category: str | None = None
        cat_text = text(raw_category)
        if not cat_text:
            self.missing(excel_row, COL_CATEGORY)
        else:
            category = self.named(
                excel_row, COL_CATEGORY, cat_text, cfg.categories, UNKNOWN_CATEGORY
            )
        subcategory: str | None = None
        sub_text = text(raw_subcategory)
        if not sub_text:
            self.missing(excel_row, COL_SUBCATEGORY)
        elif category is not None:
            subs = cfg.subcategories.get(category, {})
            subcategory = subs.get(sub_text)
            if subcategory is None:
                self.error(
                    excel_row,
                    COL_SUBCATEGORY,
                    UNKNOWN_SUBCATEGORY,
                    _(
                        "活动二级分类“%(value)s”不属于一级分类“%(category)s”，"
                        "请改为该分类下已设置的二级分类：%(choices)s。"
                    )
                    % {"value": sub_text, "category": category, "choices": _choices(subs.values())},
                )

        level: str | None = None
        level_text = text(raw_level)
        if not level_text:
            self.missing(excel_row, COL_LEVEL)
        else:
            level = self.named(excel_row, COL_LEVEL, level_text, cfg.levels, UNKNOWN_LEVEL)

        award = text(raw_award)

        credit_type: str | None = None
        type_text = text(raw_type)
        if not type_text:
            self.missing(excel_row, COL_CREDIT_TYPE)
        else:
            credit_type = self.named(
                excel_row, COL_CREDIT_TYPE, type_text, cfg.credit_types, UNKNOWN_CREDIT_TYPE
            )

        value: Decimal | None = None
        if raw_value != "" and raw_value is not None:
            try:
                value = parse_value(raw_value)
            except ValueError:
                self.error(
                    excel_row,
                    COL_VALUE,
                    BAD_VALUE,
                    _(
                        "发放学分值“%(value)s”无效：请填写不小于 0、最多两位小数的数字"
                        "（如 2 或 0.5），不要带单位；也可以不填。"
                    )
                    % {"value": norm_text(raw_value)},
                )

        if (
            len(name) > MAX_LEN[COL_NAME]
            or len(content) > MAX_LEN[COL_CONTENT]
            or len(award) > MAX_LEN[COL_AWARD]
        ):
            for column, given in ((COL_NAME, name), (COL_CONTENT, content), (COL_AWARD, award)):
                if len(given) > MAX_LEN[column]:
                    self.error(
                        excel_row,
                        column,
                        TOO_LONG,
                        _("“%(column)s”超过 %(max)s 个字，请精简。")
                        % {"column": column, "max": MAX_LEN[column]},
                    )

        if student_no and content and start is not None and credit_type is not None:
            key = (student_no, content, start, credit_type)
            first = self.seen.get(key)
            if first is None:
                self.seen[key] = excel_row
            else:
                self.error(
                    excel_row,
                    None,
                    DUPLICATE_ROW,
                    _(
                        "与第 %(first)s 行重复（学号、内容、开始时间、学分类型都相同），"
                        "请删除这一行；同一学生的多项学分请分行填写不同的内容。"
                    )
                    % {"first": first},
                )

        return RosterRow(
            excel_row=excel_row,
            student_no=student_no,
            name=name,
            start=start,
            end=end if end_ok else None,
            content=content,
            category=category,
            subcategory=subcategory,
            level=level,
            award=award,
            credit_type=credit_type,
            value=value,
            ok=len(self.errors) == start_errors,
        )


def _against_registry(report: RosterReport, lookups: RosterLookups) -> None:
    """unknown_student, name_mismatch and already_credited: one batch look-up each."""
    numbers = {r.student_no for r in report.rows if r.student_no}
    if not numbers:
        return
    names = lookups.student_names(numbers)
    registry = {no: norm_text(n) for no, n in names.items()}
    credited = lookups.credited(numbers)
    errors = report.errors
    for r in report.rows:
        no = r.student_no
        if no is None:
            continue
        known = registry.get(no)
        if known is None:
            errors.append(
                Problem(
                    r.excel_row,
                    COL_NO,
                    UNKNOWN_STUDENT,
                    _("学号 %(no)s 不在学生名册中，请核对或联系二课中心导入。") % {"no": no},
                )
            )
            r.ok = False
        elif r.name and r.name != known:
            # The registry's name is not shown: the uploader may be a student applicant.
            errors.append(
                Problem(
                    r.excel_row,
                    COL_NAME,
                    NAME_MISMATCH,
                    _("姓名“%(name)s”与学生名册中学号 %(no)s 的姓名不一致，请核对学号和姓名。")
                    % {"name": r.name, "no": no},
                )
            )
            r.ok = False
        if credited and r.start is not None and r.credit_type is not None:
            request_id = credited.get((no, r.content, r.start, r.credit_type))
            if request_id is not None:
                report.warnings.append(
                    Problem(
                        r.excel_row,
                        None,
                        ALREADY_CREDITED,
                        _(
                            "学号 %(no)s 的这条记录（%(content)s，%(start)s，%(type)s）"
                            "已在已通过的补录申请 #%(request)s 中发放，请核对是否重复申请。"
                        )
                        % {
                            "no": no,
                            "content": r.content,
                            "start": f"{r.start:%Y/%m/%d}",
                            "type": r.credit_type,
                            "request": request_id,
                        },
                    )
                )


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Judging allocates a dozen objects a row and builds no reference cycles, so the cyclic
    collector would only rescan them again and again (about 10 % of the time at 100k rows)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


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
        with _gc_paused():
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
    sheet: Any,
    report: RosterReport,
    lookups: RosterLookups,
    limit: int,
    progress: ProgressCallback | None,
) -> None:
    end = sheet.end
    if end is None:
        report.errors.append(Problem(None, None, NO_DATA, _no_data_message()))
        return
    last_row = end[0] + 1  # Excel number of the last used row
    # python-calamine yields rows from Excel row 1 but columns from the first used column.
    col_offset = sheet.start[1] if sheet.start else 0
    try:
        rows_iter = iter(sheet.iter_rows())
        head: list[list[object]] = []
        for row in rows_iter:
            head.append(row)
            if len(head) >= HEADER_SEARCH_ROWS:
                break
    except CalamineError as exc:
        raise _file_problem(NOT_XLSX, _not_xlsx_message()) from exc

    header_index = _find_header(head)
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
        return
    header_row = header_index + 1
    report.header_row = header_row
    positions, header_problems = _header_problems(head[header_index], header_row)
    report.columns = {name: col_offset + i + 1 for name, i in positions.items()}
    if header_problems:
        report.errors.extend(header_problems)
        return

    # Checked before any data row is read: the cap counts rows below the header, less the
    # template's own four rows.
    if last_row - header_row - TEMPLATE_ROWS > limit:
        raise _file_problem(TOO_MANY_ROWS, _too_many_rows_message(limit))

    judge = _Judge(report, lookups)
    order = [positions[name] for name in COLUMNS]
    width = max(order) + 1
    ncols = len(COLUMNS)
    total = max(last_row - header_row, 1)
    samples_seen = 0
    notes_seen = False
    data_rows = 0
    rows = report.rows
    empty_cells = ("",) * width

    def body() -> Iterable[tuple[int, list[object]]]:
        for i in range(header_index + 1, len(head)):
            yield i + 1, head[i]
        n = len(head)
        for row in rows_iter:
            n += 1
            yield n, row

    try:
        for excel_row, raw in body():
            if len(raw) < width:
                raw = list(raw) + list(empty_cells[len(raw) :])
            # The notes row is one merged cell: its text sits in the first used cell.
            lead = raw[0] if raw[0] != "" else next((v for v in raw if v != ""), "")
            if (
                type(lead) is str
                and lead.lstrip()[:1] in ("1", "１")
                and norm_text(lead[:40]).startswith(NOTES_PREFIX)
            ):
                notes_seen = True
                continue
            values = [raw[i] for i in order]
            # Blank rows (and rows whose only content lies outside the template's columns).
            empties = values.count("")
            if empties:
                if empties == ncols:
                    continue
                first = values[0]
                # Only a row without a 学号 can be all whitespace: skip the full scan otherwise.
                if (first == "" or (type(first) is str and not first.strip())) and all(
                    type(v) is str and not v.strip() for v in values
                ):
                    continue
            no = norm_student_no(values[0])
            if no in SAMPLE_ROWS and norm_text(values[4]) == SAMPLE_ROWS[no]:
                samples_seen += 1
                continue
            data_rows += 1
            if data_rows > limit:
                raise _file_problem(TOO_MANY_ROWS, _too_many_rows_message(limit))
            rows.append(judge.row(excel_row, values))
            if progress is not None and data_rows % PROGRESS_EVERY == 0:
                progress(0.8 * (excel_row - header_row) / total)
    except CalamineError as exc:  # a sheet calamine stops reading halfway
        raise _file_problem(NOT_XLSX, _not_xlsx_message()) from exc

    report.data_rows = data_rows
    if samples_seen == 0 and not notes_seen:
        report.warnings.append(
            Problem(
                None,
                None,
                SAMPLE_ROWS_MISSING,
                _(
                    "未找到模板的三行示范数据和说明行，已从表头下一行（第 %(row)s 行）起读取数据。"
                    "请确认没有把示范行改成了真实数据，今后请保留示范行、从第 7 行起填写。"
                )
                % {"row": header_row + 1},
            )
        )
    if data_rows == 0:
        report.errors.append(Problem(None, None, NO_DATA, _no_data_message()))
        return
    if progress is not None:
        progress(0.8)
    _against_registry(report, lookups)
    if progress is not None:
        progress(0.9)


def _no_data_message() -> str:
    return _("文件中没有数据行，请从示范行下面（第 7 行）起逐行填写后再上传。")


def _too_many_rows_message(limit: int) -> str:
    return _("文件数据超过 %(max)s 行的上限，请拆分成多个文件后分别上传。") % {"max": limit}
