"""Fixtures for cadre back-fill: positions, an open cadre window, club and class members."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta

import openpyxl
import pytest
from django.utils import timezone

from accounts.models import Membership, User
from accounts.services import role_grant
from bulu.workflow.models import Kind, Window
from cadre.demo import demo_seed_positions
from cadre.lists import RawRow
from cadre.models import CadrePosition, UnitKind
from imports.demo import demo_seed_credit_settings
from tests.conftest import School, school_year
from tests.factories import UserFactory

# The notice collects 2024-2025 (the default calendar: 2024-09-01, teaching ends 2025-06-30).
YEAR = "2024-2025"
TERM = (date(2024, 9, 1), date(2025, 9, 1))


@dataclass
class Cadre:
    window: Window
    club_head: CadrePosition  # 社长
    club_member: CadrePosition  # 干事
    monitor: CadrePosition  # 班长
    classmates: list[User]


@pytest.fixture
def cadre_window(db: None) -> Window:
    now = timezone.now()
    return Window.objects.create(
        kind=Kind.CADRE,
        title="2026年学生干部积分补录",
        opens_at=now - timedelta(days=10),
        closes_at=now + timedelta(days=20),
        school_year=school_year(YEAR),
    )


@pytest.fixture
def cadre(school: School, cadre_window: Window) -> Cadre:
    demo_seed_credit_settings()
    demo_seed_positions()
    classmates = [school.alice]
    for n in range(3, 9):
        user = UserFactory.create(username=f"20240100{n:02d}", name=f"同学{n:02d}")
        role_grant(user=user, organization=school.class_a1, role=Membership.Role.STUDENT)
        classmates.append(user)
    return Cadre(
        window=cadre_window,
        club_head=CadrePosition.objects.get(unit_kind=UnitKind.CLUB, name="社长"),
        club_member=CadrePosition.objects.get(unit_kind=UnitKind.CLUB, name="干事"),
        monitor=CadrePosition.objects.get(unit_kind=UnitKind.CLASS, name="班长"),
        classmates=classmates,
    )


def list_xlsx(rows: list[list[object]], *, header: tuple[str, ...] | None = None) -> io.BytesIO:
    workbook = openpyxl.Workbook()
    ws = workbook.active
    assert ws is not None
    ws.append(list(header or ("学号", "姓名", "职务", "任职开始", "任职结束")))
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    workbook.save(out)
    out.seek(0)
    return out


def served(student: User, title: str, *, row: int = 2) -> RawRow:
    """A list row: `student` served as `title` for TERM."""
    return RawRow(
        row,
        {
            "学号": student.username,
            "姓名": student.name,
            "职务": title,
            "任职开始": TERM[0].isoformat(),
            "任职结束": TERM[1].isoformat(),
        },
    )
