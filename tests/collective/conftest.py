"""Fixtures for collective back-fill: the settings mirror, registered students, roster files."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.test import TestCase

from accounts.models import Membership, User
from accounts.services import role_grant
from collective import services
from collective.models import CollectiveRequest
from imports.demo import demo_seed_credit_settings
from imports.models import CreditStandardItem
from imports.template_xlsx import build_template
from tests.conftest import School
from tests.factories import UserFactory

ACTIVITY_DAY = date(2025, 10, 18)
CONTENT = "参加机器人协会科技文化节"


@dataclass
class Kit:
    standard: CreditStandardItem
    students: list[User]


@pytest.fixture
def kit(school: School) -> Kit:
    demo_seed_credit_settings()
    standard = CreditStandardItem.objects.select_related(
        "subcategory__category", "credit_type", "level"
    ).get(subcategory__category__name="文体活动", number=3)  # 参加校级文体活动, 0.5
    students = [school.alice, school.olivia]
    for n in range(3, 11):
        user = UserFactory.create(username=f"20240100{n:02d}", name=f"学生{n:02d}")
        role_grant(user=user, organization=school.class_a1, role=Membership.Role.STUDENT)
        students.append(user)
    return Kit(standard=standard, students=students)


def roster_row(user: User, kit: Kit, **changes: Any) -> list[object]:
    values: dict[str, object] = {
        "no": user.username,
        "name": user.name,
        "start": datetime.combine(ACTIVITY_DAY, datetime.min.time()),
        "end": None,
        "content": CONTENT,
        "category": kit.standard.subcategory.category.name,
        "subcategory": kit.standard.subcategory.name,
        "level": "校级",
        "award": None,
        "credit_type": kit.standard.credit_type.name,
        "value": float(kit.standard.points),
    }
    values.update(changes)
    return list(values.values())


def roster_file(rows: list[list[object]]) -> io.BytesIO:
    out = io.BytesIO()
    build_template(rows).save(out)
    out.seek(0)
    return out


def filled(kit: Kit, n: int | None = None, **changes: object) -> services.CollectiveData:
    people = len(kit.students) if n is None else n
    data = services.CollectiveData(
        case=CollectiveRequest.Case.UNPUBLISHED,
        activity_name="2025年机器人协会科技文化节",
        standard_item_id=kit.standard.pk,
        points_per_person=kit.standard.points,
        declared_participants=people,
        declared_total=kit.standard.points * people,
        contact_phone="13808380001",
        activity_start=ACTIVITY_DAY,
        activity_end=ACTIVITY_DAY,
        location="学生活动中心",
        credit_details=f"每人 0.5 文体活动学分，共 {people} 人",
        reason="活动结束后到梦空间一直未发布该活动，积分未发放。",
    )
    for key, value in changes.items():
        setattr(data, key, value)
    return data


def ready_request(
    applicant: User, unit: Any, kit: Kit, *, students: list[User] | None = None
) -> CollectiveRequest:
    """A complete draft with a clean roster of `students` (all of the kit's by default)."""
    people = kit.students if students is None else students
    request = services.collective_request_create(actor=applicant, unit=unit)
    services.collective_request_update(
        request=request, actor=applicant, data=filled(kit, n=len(people))
    )
    attach(request, applicant, [roster_row(u, kit) for u in people])
    return request


def attach(request: CollectiveRequest, actor: User, rows: list[list[object]]) -> None:
    """Upload a roster into the request and let its validation task run (on commit)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.collective_roster_attach(
            request=request, actor=actor, fileobj=roster_file(rows), filename="名单.xlsx"
        )
    request.refresh_from_db()


def total(kit: Kit, n: int) -> Decimal:
    return kit.standard.points * n
