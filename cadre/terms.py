"""The one-year rule of 第四条: a term counts when it covers at least one full year."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils.translation import gettext as _


def one_year_after(start: date) -> date:
    """The same day a year later; 29 February is followed by 28 February (a full year has
    passed once the year's last day of February is reached)."""
    try:
        return start.replace(year=start.year + 1)
    except ValueError:  # 29 February
        return date(start.year + 1, 2, 28)


def term_problem(start: date, end: date, *, today: date) -> str | None:
    """Why a term does not count (None when it does): order, future end, or days missing."""
    if end <= start:
        return _("任职结束日期 %(end)s 应晚于开始日期 %(start)s。") % {
            "end": end.isoformat(),
            "start": start.isoformat(),
        }
    if end > today:
        return _("任职结束日期 %(end)s 晚于今天：只能上报已经满一年的任职。") % {
            "end": end.isoformat()
        }
    full = one_year_after(start)
    if end < full:
        return _(
            "任职时间不满一年：从 %(start)s 起满一年须任职到 %(full)s，还差 %(days)s 天。"
            "按《办法》第四条，工作满一年才能认定积分。"
        ) % {"start": start.isoformat(), "full": full.isoformat(), "days": (full - end).days}
    return None


def _school_year(day: date) -> int:
    """The first calendar year of the school year `day` falls in (it starts in September)."""
    return day.year if day.month >= 9 else day.year - 1


def school_year_label(start: date, end: date) -> str:
    """E.g. 2024-2025学年 for 2024-09-01 to 2025-09-01; a term across two school years reads
    2023-2025学年."""
    first = _school_year(start)
    last = _school_year(end - timedelta(days=1)) + 1
    return f"{first}-{max(last, first + 1)}学年"
