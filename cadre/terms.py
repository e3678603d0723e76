"""「工作满一年」 of 第四条, counted the way schools appoint cadres: in school years (学年).

A term counts for the school year a cadre notice collects when it covers that year: it starts no
later than the year's first day and ends no earlier than the end of its teaching weeks, each
within `settings.BULU_CADRE_TERM_TOLERANCE_DAYS`. The calendar is data (`SchoolYear`).
"""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.utils.translation import gettext as _

from bulu.workflow.models import SchoolYear


def tolerance() -> timedelta:
    return timedelta(days=settings.BULU_CADRE_TERM_TOLERANCE_DAYS)


def covers(start: date, end: date, year: SchoolYear) -> bool:
    return start <= year.starts_on + tolerance() and end >= year.teaching_ends_on - tolerance()


def term_problem(start: date, end: date, *, year: SchoolYear, today: date) -> str | None:
    """Why a term does not count for `year` (None when it does): order, future end, or the
    dates of the school year it leaves uncovered."""
    if end <= start:
        return _("任职结束日期 %(end)s 应晚于开始日期 %(start)s。") % {
            "end": end.isoformat(),
            "start": start.isoformat(),
        }
    if end > today:
        return _("任职结束日期 %(end)s 晚于今天：只能上报已经任职的时间。") % {
            "end": end.isoformat()
        }
    if covers(start, end, year):
        return None
    span = f"{year.starts_on.isoformat()} 至 {year.teaching_ends_on.isoformat()}"
    if end < year.starts_on or start > year.teaching_ends_on:
        return _(
            "任职时间 %(start)s 至 %(end)s 不在%(year)s学年（%(span)s）内。"
            "本次通知收集%(year)s学年任职满一年的学生干部（《办法》第四条）。"
        ) % {"start": start.isoformat(), "end": end.isoformat(), "year": year.label, "span": span}
    gaps = []
    if start > year.starts_on + tolerance():
        # The days not served: up to the day before the term began, from the day after it ended.
        gaps.append(f"{year.starts_on.isoformat()} 至 {(start - timedelta(days=1)).isoformat()}")
    if end < year.teaching_ends_on - tolerance():
        after = end + timedelta(days=1)
        gaps.append(f"{after.isoformat()} 至 {year.teaching_ends_on.isoformat()}")
    return _(
        "任职未覆盖%(year)s学年：缺少 %(gaps)s（该学年为 %(span)s，前后可差 %(days)s 天）。"
        "按《办法》第四条，工作满一年才能认定积分。"
    ) % {
        "year": year.label,
        "gaps": "、".join(gaps),
        "span": span,
        "days": settings.BULU_CADRE_TERM_TOLERANCE_DAYS,
    }


def clipped_to(start: date, end: date, year: SchoolYear) -> tuple[date, date]:
    """The part of a term inside the school year: the dates of its credit record."""
    return max(start, year.starts_on), min(end, year.ends_on)


def _school_year(day: date) -> int:
    """The first calendar year of the school year `day` falls in (it starts in September)."""
    return day.year if day.month >= 9 else day.year - 1


def school_year_label(start: date, end: date) -> str:
    """For entries filed before notices named a school year: e.g. 2024-2025学年 for 2024-09-01 to
    2025-09-01; a term across two school years reads 2023-2025学年."""
    first = _school_year(start)
    last = _school_year(end - timedelta(days=1)) + 1
    return f"{first}-{max(last, first + 1)}学年"
