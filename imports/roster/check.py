"""The whole file: read, judge every row, then judge against the registry."""

from __future__ import annotations

from typing import IO

from django.conf import settings
from python_calamine import CalamineSheet

from bulu.xlsx import gc_paused
from imports.roster.format import COLUMN_ORDER, NO_DATA
from imports.roster.judging import _Judge
from imports.roster.reading import (
    _check_row_cap,
    _no_data_message,
    _open_first_sheet,
    _read_layout,
    _sample_rows_missing,
    _scan_rows,
    _SheetRows,
    _Unreadable,
)
from imports.roster.registry import _against_registry
from imports.roster.report import Problem, ProgressCallback, RosterLookups, RosterReport

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
