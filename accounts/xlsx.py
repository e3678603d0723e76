"""Opening uploaded xlsx files safely; shared by the student registry and the roster validator.

calamine parses whatever it is given, a zip bomb included (a 1.8 MB file with a 500 MB sheet took
20 s and 2 GB), so the zip's central directory is checked first: entry count, the declared
uncompressed total and the compression ratio. An entry that lies about its size fails fast in
calamine itself ("larger than its declared uncompressed size"), so declared sizes can be trusted.
"""

from __future__ import annotations

import zipfile
from datetime import date, datetime, time, timedelta
from typing import IO, Any

from django.conf import settings
from django.utils.translation import gettext as _
from python_calamine import CalamineError, CalamineWorkbook

from bulu.exceptions import ApplicationError

XLSX_MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
XLSX_MAX_ENTRIES = 1000
# Sheet XML compresses about 10-30x; a bomb compresses about 1000x. Small entries are exempt.
XLSX_MAX_RATIO = 200
XLSX_RATIO_EXEMPT_BYTES = 1024 * 1024

# `ApplicationError.extra["code"]`, for callers that report problems by kind.
CODE_NOT_XLSX = "not_xlsx"
CODE_UNSAFE_ZIP = "unsafe_zip"
CODE_TOO_MANY_ROWS = "too_many_rows"

# What calamine returns for a cell (empty cells are ""); None is accepted for callers' convenience.
Cell = int | float | str | bool | date | datetime | time | timedelta | None


def _not_xlsx() -> ApplicationError:
    return ApplicationError(
        _(
            "无法读取该文件：它不是 xlsx 格式的 Excel 文件。"
            "如果是 .xls、CSV 或设置了密码的文件，请在 Excel 中另存为不加密的 .xlsx 后重试。"
        ),
        extra={"code": CODE_NOT_XLSX},
    )


def _unsafe(message: str) -> ApplicationError:
    return ApplicationError(message, extra={"code": CODE_UNSAFE_ZIP})


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


def xlsx_open_first_sheet_rows(
    fileobj: IO[bytes], *, header_rows: int = 1, max_data_rows: int | None = None
) -> list[list[Cell]]:
    """Rows of the first sheet from A1 (index 0 is Excel row 1), after the zip-bomb checks.

    At most `header_rows + max_data_rows` rows are allowed (default: settings.BULU_ROSTER_MAX_ROWS
    data rows). Raises ApplicationError with a Chinese message for anything unreadable.
    """
    limit = settings.BULU_ROSTER_MAX_ROWS if max_data_rows is None else max_data_rows
    xlsx_check_zip(fileobj)
    fileobj.seek(0)
    try:
        workbook = CalamineWorkbook.from_filelike(fileobj)
        with workbook:
            sheet = workbook.get_sheet_by_index(0)
            end = sheet.end
            if end is None:
                return []
            # `end` is the 0-based (row, column) of the last used cell.
            if end[0] + 1 > header_rows + limit:
                raise ApplicationError(
                    _("文件数据超过 %(max)s 行的上限，请拆分成多个文件后分别导入。")
                    % {"max": limit},
                    extra={"code": CODE_TOO_MANY_ROWS},
                )
            rows: list[list[Cell]] = [
                list(row)
                for row in sheet.to_python(skip_empty_area=False, nrows=header_rows + limit)
            ]
    except CalamineError as exc:
        raise _not_xlsx() from exc
    return rows


# Excel turns text starting with one of these into a formula (or a DDE call) when typed.
FORMULA_START = ("=", "+", "-", "@")


def xlsx_write_text(cell: Any, value: object) -> None:
    """Write a value so that Excel can never evaluate it: strings stay strings."""
    cell.value = value
    if isinstance(value, str) and value.startswith(FORMULA_START):
        cell.data_type = "s"
        cell.quotePrefix = True
