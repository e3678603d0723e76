"""Reading uploaded xlsx files safely, and writing text that Excel never evaluates.

Shared by the three readers: the 附件4 roster (imports.roster), the student registry
(accounts.registry) and the settings mirror (imports.settings_import).

calamine parses whatever it is given, a zip bomb included (a 1.8 MB file with a 500 MB sheet took
20 s and 2 GB), so the zip's central directory is checked first: entry count, the declared
uncompressed total and the compression ratio. An entry that lies about its size fails fast in
calamine itself ("larger than its declared uncompressed size") and in `zipfile` (bad CRC), so
declared sizes can be trusted. The uncompressed cap is sized for the largest legal roster
(docs/decisions.md, "xlsx limits").
"""

from __future__ import annotations

import gc
import re
import unicodedata
import zipfile
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from typing import IO, Any

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from python_calamine import CalamineError, CalamineSheet, CalamineWorkbook

from bulu.exceptions import ApplicationError

# 20,000 rows of the largest legal 附件4 cells take 53 MB; an annotated copy of such a file with
# a problem on every row (comments, their drawing, the 错误说明 sheet) about 90 MB.
XLSX_MAX_UNCOMPRESSED_BYTES = 100 * 1024 * 1024
XLSX_MAX_ENTRIES = 1000
# Sheet XML compresses about 10-30x; a bomb compresses about 1000x. Small entries are exempt.
XLSX_MAX_RATIO = 200
XLSX_RATIO_EXEMPT_BYTES = 1024 * 1024

# `ApplicationError.extra["code"]`, for callers that report problems by kind.
CODE_NOT_XLSX = "not_xlsx"
CODE_UNSAFE_ZIP = "unsafe_zip"
CODE_FILE_TOO_LARGE = "file_too_large"
CODE_TOO_MANY_ROWS = "too_many_rows"

# What calamine returns for a cell (empty cells are ""); None is accepted for callers' convenience.
Cell = int | float | str | bool | date | datetime | time | timedelta | None


# --- opening ---------------------------------------------------------------------------------


def xlsx_not_xlsx_message() -> str:
    return _(
        "无法读取该文件：它不是 xlsx 格式的 Excel 文件。"
        "如果是 .xls、CSV 或设置了密码的文件，请在 Excel 中另存为不加密的 .xlsx 后重试。"
    )


def _not_xlsx() -> ApplicationError:
    return ApplicationError(xlsx_not_xlsx_message(), extra={"code": CODE_NOT_XLSX})


def _unsafe(message: str) -> ApplicationError:
    return ApplicationError(message, extra={"code": CODE_UNSAFE_ZIP})


def xlsx_too_many_rows(limit: int) -> ApplicationError:
    return ApplicationError(
        _("文件数据超过 %(max)s 行的上限，请拆分成多个文件后分别上传。") % {"max": limit},
        extra={"code": CODE_TOO_MANY_ROWS},
    )


def xlsx_check_size(size: int, *, max_bytes: int | None = None) -> None:
    """Refuse a file larger than BULU_UPLOAD_MAX_BYTES (or `max_bytes`)."""
    limit = settings.BULU_UPLOAD_MAX_BYTES if max_bytes is None else max_bytes
    if size > limit:
        raise ApplicationError(
            _("文件大小 %(size)s MB 超过 %(max)s MB 的上限，请删除多余内容或拆分成多个文件。")
            % {"size": f"{size / 1048576:.1f}", "max": f"{limit / 1048576:.0f}"},
            extra={"code": CODE_FILE_TOO_LARGE},
        )


def xlsx_check_zip(fileobj: IO[bytes]) -> None:
    """Refuse anything that is not a zip, or whose declared contents are too many or too big."""
    fileobj.seek(0)
    if not zipfile.is_zipfile(fileobj):
        raise _not_xlsx()
    fileobj.seek(0)
    try:
        with zipfile.ZipFile(fileobj) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _not_xlsx() from exc
    if len(infos) > XLSX_MAX_ENTRIES:
        raise _unsafe(_("文件结构异常（压缩包条目过多），已拒绝读取。"))
    if not any(info.filename == "[Content_Types].xml" for info in infos):
        raise _not_xlsx()
    total = 0
    for info in infos:
        total += info.file_size
        if info.file_size > XLSX_RATIO_EXEMPT_BYTES and info.file_size > XLSX_MAX_RATIO * max(
            info.compress_size, 1
        ):
            raise _unsafe(_("文件压缩比异常，疑似恶意文件，已拒绝读取。"))
    if total > XLSX_MAX_UNCOMPRESSED_BYTES:
        raise _unsafe(
            _("文件解压后超过 %(mb)s MB，已拒绝读取。请删除多余的工作表或内容后重试。")
            % {"mb": XLSX_MAX_UNCOMPRESSED_BYTES // (1024 * 1024)}
        )


def xlsx_check_container(fileobj: IO[bytes], *, max_bytes: int | None = None) -> None:
    """File size, then the zip's declared sizes and entry count; nothing is decompressed.

    Raises ApplicationError whose extra["code"] names the problem.
    """
    try:
        fileobj.seek(0, 2)
        xlsx_check_size(fileobj.tell(), max_bytes=max_bytes)
        xlsx_check_zip(fileobj)
    finally:
        fileobj.seek(0)


def xlsx_open(fileobj: IO[bytes], *, max_bytes: int | None = None) -> CalamineWorkbook:
    """The workbook, after the size and zip-bomb checks. Raises ApplicationError (with a code)."""
    xlsx_check_container(fileobj, max_bytes=max_bytes)
    try:
        return CalamineWorkbook.from_filelike(fileobj)
    except Exception as exc:  # CalamineError and its kin: any parse failure means "not xlsx"
        raise _not_xlsx() from exc


def xlsx_first_sheet(workbook: CalamineWorkbook) -> CalamineSheet:
    """The first sheet (the only one the roster and the registry read)."""
    try:
        return workbook.get_sheet_by_index(0)
    except Exception as exc:
        raise _not_xlsx() from exc


def xlsx_sheet_named(workbook: CalamineWorkbook, name: str) -> CalamineSheet | None:
    if name not in workbook.sheet_names:
        return None
    try:
        return workbook.get_sheet_by_name(name)
    except Exception as exc:
        raise _not_xlsx() from exc


def xlsx_sheet_rows(sheet: CalamineSheet, *, max_rows: int) -> list[list[Cell]]:
    """Rows from A1 (index 0 is Excel row 1); more than `max_rows` used rows is refused."""
    end = sheet.end
    if end is None:
        return []
    # `end` is the 0-based (row, column) of the last used cell.
    if end[0] + 1 > max_rows:
        raise xlsx_too_many_rows(max_rows)
    try:
        return [list(row) for row in sheet.to_python(skip_empty_area=False, nrows=max_rows)]
    except CalamineError as exc:
        raise _not_xlsx() from exc


def xlsx_open_first_sheet_rows(
    fileobj: IO[bytes], *, header_rows: int = 1, max_data_rows: int | None = None
) -> list[list[Cell]]:
    """Rows of the first sheet from A1, at most `header_rows + max_data_rows` of them
    (default: settings.BULU_ROSTER_MAX_ROWS data rows). Raises ApplicationError when unreadable.
    """
    limit = settings.BULU_ROSTER_MAX_ROWS if max_data_rows is None else max_data_rows
    xlsx_check_zip(fileobj)
    fileobj.seek(0)
    try:
        workbook = CalamineWorkbook.from_filelike(fileobj)
    except Exception as exc:
        raise _not_xlsx() from exc
    with workbook:
        sheet = xlsx_first_sheet(workbook)
        try:
            return xlsx_sheet_rows(sheet, max_rows=header_rows + limit)
        except ApplicationError as exc:
            if exc.extra.get("code") == CODE_TOO_MANY_ROWS:
                raise xlsx_too_many_rows(limit) from exc
            raise


# --- cells -----------------------------------------------------------------------------------

# Zero-width characters that survive NFKC and strip(); pasted from web pages and chat apps.
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"
# Float cells are exact integers only below 2**53; Excel itself keeps 15 significant digits.
MAX_EXACT_NUMBER = 10**15


def norm_text(value: object) -> str:
    """A cell as text: trimmed (full-width space and zero-width characters included), NFKC
    (full-width digits and punctuation); integral numbers without `.0`; dates as 2024/03/05."""
    if type(value) is str:
        if not value:
            return ""
        if not value.isascii():
            value = unicodedata.normalize("NFKC", value).strip().strip(INVISIBLE)
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < MAX_EXACT_NUMBER:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return value.strftime("%Y/%m/%d %H:%M:%S") if value.time() else f"{value:%Y/%m/%d}"
    if isinstance(value, date):
        return f"{value:%Y/%m/%d}"
    return norm_text(str(value))


def plain_text(value: object) -> str:
    """Like norm_text, but text keeps its characters (no NFKC): names compared with stored ones,
    such as 学院 and 班级, must not turn their full-width brackets into ASCII ones."""
    if type(value) is str:
        return value.strip().strip(INVISIBLE).strip()
    return norm_text(value)


def header_key(value: object, aliases: Mapping[str, str] | None = None) -> str:
    """A header cell as a column name: no whitespace at all, no trailing `*` (a "required"
    marker), then mapped through `aliases` (other spellings -> the canonical name)."""
    text = re.sub(r"\s+", "", norm_text(value)).rstrip("*")
    return aliases.get(text, text) if aliases else text


def xlsx_find_header(
    rows: Sequence[Sequence[object]],
    *,
    known: Collection[str],
    min_known: int,
    aliases: Mapping[str, str] | None = None,
) -> int | None:
    """Index of the first of `rows` naming at least `min_known` of the `known` columns."""
    for i, row in enumerate(rows):
        if sum(1 for cell in row if header_key(cell, aliases) in known) >= min_known:
            return i
    return None


def xlsx_header_positions(
    header: Sequence[object], *, known: Collection[str], aliases: Mapping[str, str] | None = None
) -> tuple[dict[str, int], list[str]]:
    """({column name: 0-based index of its first occurrence}, names found more than once)."""
    positions: dict[str, int] = {}
    repeated: list[str] = []
    for index, cell in enumerate(header):
        name = header_key(cell, aliases)
        if name not in known:
            continue
        if name in positions:
            repeated.append(name)
            continue
        positions[name] = index
    return positions, repeated


# 学号: the registry's usernames; leading zeros matter, so it is text made of ASCII digits only.
# A cell's 学号 is norm_text(cell): a numeric cell loses its `.0`, full-width digits become ASCII.
STUDENT_NO_RE = re.compile(r"[0-9]{6,20}")


def is_student_no(text: str) -> bool:
    return STUDENT_NO_RE.fullmatch(text) is not None


STUDENT_NO_MESSAGE = gettext_lazy(
    "学号“%(value)s”无效：应为 6–20 位数字。请把学号列设为“文本”格式后重新输入完整学号"
    "（不要显示成 2.02101E+09 这样的科学计数法）。"
)


def student_no_message(text: str) -> str:
    """Why `text` is not a 学号 (one rule and one message for every import)."""
    return str(STUDENT_NO_MESSAGE) % {"value": shown_text(text)}


SHOWN_MAX = 40


def shown_text(text: str, limit: int = SHOWN_MAX) -> str:
    """A cell's text as quoted in a message: a long value is cut (echoing 200 characters back
    helps nobody, and a file full of them would fill memory with copies)."""
    return text if len(text) <= limit else text[:limit] + "…"


_DATE_RE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
)


class BadDate(ValueError):
    """A cell that should hold a date and does not; str() is the normalized text."""


def parse_date(value: object) -> date | None:
    """A date cell, a datetime, or text 2024/3/5, 2024-03-05, 2024.3.5, 2024年3月5日.

    Returns None for an empty cell; raises BadDate for anything else.
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
            raise BadDate(text)
        try:
            return date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError as exc:
            raise BadDate(text) from exc
    if value is None:
        return None
    # Numbers (a date typed without date format), times, booleans: not a date we can trust.
    raise BadDate(norm_text(value))


@contextmanager
def gc_paused() -> Iterator[None]:
    """For work that allocates an object or more per cell and builds no reference cycles: the
    cyclic collector would only rescan them again and again (about 10 % of judging 100k rows,
    and more when every cell has a problem)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# --- writing ---------------------------------------------------------------------------------

# Text starting with one of these becomes a formula (or a DDE call) when typed or edited in Excel
# (Excel in a Chinese locale takes the full-width = + - @ as well).
FORMULA_START = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")
# Spreadsheet-injection advice quotes a leading tab or CR too; a LF, and a formula character after
# leading blanks, are quoted for the same reason: a program that trims them sees the formula.
CONTROL_START = frozenset("\t\r\n")
BLANKS = "".join(chr(c) for c in range(0x3001) if chr(c).isspace()) + INVISIBLE
# Excel shows _xHHHH_ in a cell's text as the character HHHH; openpyxl writes such text as it is.
# Both cases of x: reading more escapes than Excel does only adds quote prefixes.
_EXCEL_ESCAPE = re.compile(r"_[xX]([0-9a-fA-F]{4})_")
_LOOK_CLOSER = frozenset(BLANKS) | {"_"}


def xlsx_excel_unescape(text: str) -> str:
    """`text` as Excel shows it: each _xHHHH_ read as the character it names."""
    return _EXCEL_ESCAPE.sub(lambda m: chr(int(m[1], 16)), text) if "_" in text else text


def _starts_risky(text: str) -> bool:
    return text[:1] in CONTROL_START or text.lstrip(BLANKS)[:1] in FORMULA_START


def xlsx_text_is_risky(text: str) -> bool:
    """True when a text cell holding `text` (decoded text, not XML) could become a formula once
    edited: it starts with = + - @ ＝ (or full-width + - @), a tab, CR or LF, or with blanks and
    then a formula character, as typed or once Excel reads its _xHHHH_ escapes. Erring towards
    the quote prefix is safe: on a text cell it changes nothing a user sees."""
    first = text[:1]
    if first in FORMULA_START or first in CONTROL_START:
        return True
    if first not in _LOOK_CLOSER:
        return False
    return _starts_risky(text) or _starts_risky(xlsx_excel_unescape(text))


def xlsx_write_text(cell: Any, value: object) -> None:
    """Write a value into an openpyxl cell so that Excel can never evaluate it: strings stay
    strings, and risky ones carry the quote prefix (editing them does not revive a formula)."""
    cell.value = value
    if isinstance(value, str) and xlsx_text_is_risky(value):
        cell.data_type = "s"
        cell.quotePrefix = True
