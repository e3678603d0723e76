"""The personal form (PDF) shows a per-unit item's quantity beside its claim."""

from __future__ import annotations

from decimal import Decimal

import pytest

from imports.models import CreditStandardItem
from personal import services
from personal.models import PersonalRequest
from tests.conftest import School, decide
from tests.documents.conftest import pdf_bytes, pdf_text, personal_submitted, render, squash
from tests.personal.conftest import Mirror, first_item

pytestmark = pytest.mark.django_db


def test_the_personal_form_shows_hours_times_points(
    school: School, mirror: Mirror, draft: PersonalRequest
) -> None:
    standard = CreditStandardItem.objects.create(
        subcategory=mirror.subcategory,
        number=1,
        name="参加志愿服务（每小时）",
        credit_type=mirror.credit_type,
        points=Decimal("1.00"),
        unit=CreditStandardItem.Unit.HOUR,
    )
    item = first_item(draft)
    data = services.ItemData(
        content="社区志愿服务",
        start_date=item.start_date,
        end_date=None,
        category_id=mirror.category.pk,
        subcategory_id=mirror.subcategory.pk,
        level_id=mirror.level.pk,
        awards="",
        credit_type_id=mirror.credit_type.pk,
        claimed_value=Decimal("6"),
        standard_item_id=standard.pk,
        quantity=Decimal("6"),
    )
    services.personal_item_save(request=draft, actor=school.alice, data=data, item=item)
    request = personal_submitted(school, draft)
    decide(request, school.bob)
    text = squash(pdf_text(pdf_bytes(render(request, "form"))))
    assert "社区志愿服务（6小时×1.00）" in text
    assert "文体活动学分6" in text  # the claimed value beside its type
