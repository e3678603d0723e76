"""Reads for the retention rule: who graduated when, and which students are due."""

from __future__ import annotations

import re
from datetime import date

from django.db.models import Exists, OuterRef, QuerySet

from accounts.models import Membership, User
from accounts.registry import STAFF_ROLES

# 年级 as the registry gives it: "2019", "2019级", " 2019 ".
_GRADE_RE = re.compile(r"^\s*((?:19|20)\d{2})(?!\d)")
# Bachelor students graduate in late June; the 1st of July counts as the graduation day.
GRADUATION_MONTH = 7


def grade_year(grade: str) -> int | None:
    """The enrolment year of a 年级 ("2019", "2019级"); None when it names none."""
    match = _GRADE_RE.match(grade or "")
    return int(match[1]) if match else None


def graduation_date(*, grade: str, study_years: int) -> date | None:
    year = grade_year(grade)
    return None if year is None else date(year + study_years, GRADUATION_MONTH, 1)


def graduation_cutoff(*, today: date, years: int) -> date:
    """`years` before `today` (29 February falls back to the 28th)."""
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


def students_not_anonymized() -> QuerySet[User]:
    """Accounts with a student role (a class) and no staff role, not anonymized yet."""
    memberships = Membership.objects.filter(user_id=OuterRef("pk"))
    return User.objects.filter(
        Exists(memberships.filter(role=Membership.Role.STUDENT)),
        is_staff=False,
        is_superuser=False,
        anonymized_at__isnull=True,
    ).exclude(Exists(memberships.filter(role__in=STAFF_ROLES)))


def _grades() -> list[str]:
    return list(students_not_anonymized().order_by().values_list("grade", flat=True).distinct())


def graduates_before(*, graduated_before: date, study_years: int) -> QuerySet[User]:
    """Students (not anonymized) whose graduation day lies before `graduated_before`.

    Decided per distinct 年级 value (a few dozen), so the database filters on the column.
    """
    due = [
        g
        for g in _grades()
        if (day := graduation_date(grade=g, study_years=study_years)) is not None
        and day < graduated_before
    ]
    return students_not_anonymized().filter(grade__in=due)


def students_without_grade() -> QuerySet[User]:
    """Students whose 年级 names no year: the rule cannot date them, so they are left alone."""
    unknown = [g for g in _grades() if grade_year(g) is None]
    return students_not_anonymized().filter(grade__in=unknown)
