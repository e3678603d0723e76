"""Fixtures for personal back-fill: a small settings mirror, an open window, a ready draft."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from io import BytesIO

import pytest
from django.utils import timezone

from accounts.models import User
from bulu.workflow.models import Kind, Window
from imports.models import ActivityCategory, ActivityLevel, ActivitySubcategory, CreditType
from personal import services
from personal.models import PersonalItem, PersonalRequest
from tests.conftest import School
from tests.files import pdf_bytes, png_bytes

PNG = png_bytes()
PDF = pdf_bytes()


@dataclass
class Mirror:
    category: ActivityCategory
    subcategory: ActivitySubcategory
    other_subcategory: ActivitySubcategory
    level: ActivityLevel
    credit_type: CreditType


@pytest.fixture
def mirror(db: None) -> Mirror:
    category = ActivityCategory.objects.create(name="文体活动")
    other = ActivityCategory.objects.create(name="志愿公益")
    return Mirror(
        category=category,
        subcategory=ActivitySubcategory.objects.create(category=category, name="文体活动"),
        other_subcategory=ActivitySubcategory.objects.create(category=other, name="志愿公益"),
        level=ActivityLevel.objects.create(name="校级"),
        credit_type=CreditType.objects.create(name="文体活动学分"),
    )


@pytest.fixture
def personal_window(db: None) -> Window:
    now = timezone.now()
    return Window.objects.create(
        kind=Kind.PERSONAL,
        title="2026年春季个人积分补录",
        opens_at=now - timedelta(days=10),
        closes_at=now + timedelta(days=20),
    )


def item_data(mirror: Mirror, **overrides: object) -> services.ItemData:
    data = services.ItemData(
        content="校园歌手大赛",
        start_date=date(2025, 11, 5),
        end_date=None,
        category_id=mirror.category.pk,
        subcategory_id=mirror.subcategory.pk,
        level_id=mirror.level.pk,
        awards="一等奖",
        credit_type_id=mirror.credit_type.pk,
        claimed_value=Decimal("2.00"),
    )
    for key, value in overrides.items():
        setattr(data, key, value)
    return data


def make_draft(student: User, mirror: Mirror, items: int = 1) -> PersonalRequest:
    request = services.personal_request_create(student=student, title="我的补录")
    # A student's later drafts claim other days: the same item twice would be a possible
    # double claim (第五条), which the center must confirm.
    earlier = PersonalRequest.objects.filter(applicant=student).count() - 1
    for n in range(items):
        staged = services.evidence_stage(
            request=request, actor=student, uploads=[("证书.png", BytesIO(PNG))]
        )
        item = services.personal_item_save(
            request=request,
            actor=student,
            data=item_data(
                mirror,
                content=f"活动{n + 1}",
                start_date=date(2025, 11, 5) - timedelta(days=earlier),
            ),
            staged=[e.pk for e in staged],
        )
        # 第六条: filed online in 到梦空间 too (required before submission by default).
        services.personal_item_mark_online(
            item=item, actor=student, applied=True, applied_on=date(2026, 3, 2)
        )
    return request


@pytest.fixture
def draft(school: School, mirror: Mirror, personal_window: Window) -> PersonalRequest:
    return make_draft(school.alice, mirror)


def first_item(request: PersonalRequest) -> PersonalItem:
    return request.items.order_by("pk").first()  # type: ignore[return-value]
