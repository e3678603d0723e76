"""A per-hour personal item reaches the 到梦空间 sheet with its value (quantity × points)."""

from __future__ import annotations

import io
from decimal import Decimal

import openpyxl
import pytest

from exports.selectors import ExportFilters
from exports.services import export_batch_create, export_batch_download
from imports.models import CreditStandardItem
from personal import services
from personal.models import PersonalRequest
from tests.conftest import School, decide
from tests.personal.conftest import (  # noqa: F401
    Mirror,
    first_item,
    make_draft,
    mirror,
    personal_window,
)

pytestmark = pytest.mark.django_db


def test_the_export_row_carries_the_hours_value(
    school: School,
    mirror: Mirror,  # noqa: F811
    personal_window: object,  # noqa: F811
) -> None:
    standard = CreditStandardItem.objects.create(
        subcategory=mirror.subcategory,
        number=1,
        name="参加志愿服务（每小时）",
        credit_type=mirror.credit_type,
        points=Decimal("1.50"),
        unit=CreditStandardItem.Unit.HOUR,
    )
    draft: PersonalRequest = make_draft(school.alice, mirror)
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
        claimed_value=Decimal("9"),
        standard_item_id=standard.pk,
        quantity=Decimal("6"),
    )
    services.personal_item_save(request=draft, actor=school.alice, data=data, item=item)
    services.personal_request_submit(request=draft, actor=school.alice)
    for actor in (school.bob, school.carol, school.dave):
        decide(draft, actor)
    batch = export_batch_create(actor=school.dave, filters=ExportFilters())
    opened, _name, _type = export_batch_download(batch=batch, actor=school.dave)
    with opened:
        ws = openpyxl.load_workbook(io.BytesIO(opened.read())).active
    assert ws["E7"].value == "社区志愿服务"
    assert ws["J7"].value == mirror.credit_type.name
    assert ws["K7"].value == 9  # 发放学分值: 6 小时 × 1.50
