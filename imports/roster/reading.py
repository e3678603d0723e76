"""Reading the first sheet of a roster: the header, the samples and notes rows, the data rows."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import itemgetter
from typing import IO, Any

from django.utils.translation import gettext as _
from python_calamine import CalamineError, CalamineSheet

from bulu.exceptions import ApplicationError
from bulu.xlsx import (
    is_student_no,
    norm_text,
    xlsx_check_container,
    xlsx_check_size,
    xlsx_find_header,
    xlsx_first_sheet,
    xlsx_header_positions,
    xlsx_not_xlsx_message,
    xlsx_open,
)
from imports.roster.format import (
    BAD_HEADER,
    COLUMN_ORDER,
    COLUMNS,
    HEADER_SEARCH_ROWS,
    NOT_XLSX,
    NOTES_SEARCH_ROWS,
    SAMPLE_ROWS,
    SAMPLE_ROWS_MISSING,
    TEMPLATE_ROWS,
    TOO_MANY_ROWS,
)
from imports.roster.judging import _Judge
from imports.roster.report import Problem, ProgressCallback, RosterReport, is_notes_text

PROGRESS_EVERY = 2000  # rows between progress callbacks
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
    pick = itemgetter(*order)  # the row's cells in COLUMNS order, as a tuple
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
        values = pick(raw)
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
        report_rows.append(judge.row(excel_row, values, no))
        if progress is not None and scan.data_rows % PROGRESS_EVERY == 0:
            progress(0.8 * (excel_row - layout.header_row) / total)
    return scan


def _is_blank(values: Sequence[object]) -> bool:
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


def _note_sample(scan: _Scan, excel_row: int, values: Sequence[object]) -> None:
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


def _no_data_message() -> str:
    return _("文件中没有数据行，请从示范行下面（第 7 行）起逐行填写后再上传。")


def _too_many_rows_message(limit: int) -> str:
    return _("文件数据超过 %(max)s 行的上限，请拆分成多个文件后分别上传。") % {"max": limit}
