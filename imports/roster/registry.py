"""Judging the rows against the student registry and the credits already granted."""

from __future__ import annotations

from django.utils.translation import gettext as _

from bulu.xlsx import (
    norm_text,
    shown_text,
)
from imports.matching import match_text
from imports.roster.format import (
    ALREADY_CREDITED,
    COL_NAME,
    COL_NO,
    MSG_ALREADY_CREDITED,
    MSG_NAME_MISMATCH,
    MSG_UNKNOWN_STUDENT,
    NAME_MISMATCH,
    SAMPLE_ROW_REAL_STUDENT,
    UNKNOWN_STUDENT,
)
from imports.roster.reading import _Scan
from imports.roster.report import CreditKey, Problem, RosterLookups, RosterReport, _Translations

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
    matched: dict[str, str] = {}  # a roster repeats its 内容 and 学分类型 in every row
    for r in report.rows:
        if r.student_no is None or r.start is None or r.credit_type is None:
            continue
        content = matched.get(r.content)
        if content is None:
            content = matched[r.content] = match_text(r.content)
        credit_type = matched.get(r.credit_type)
        if credit_type is None:
            credit_type = matched[r.credit_type] = match_text(r.credit_type)
        request_id = credited.get((r.student_no, content, r.start, credit_type))
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
