"""Items whose 认定标准 counts per unit (参加志愿服务（每小时）): quantity × points, the cap,
any level."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from bulu.workflow.models import State, Window
from credits.models import CreditRecord
from imports.models import ActivityLevel, CreditStandardItem, CreditType
from personal import services
from personal.models import PersonalItem, PersonalRequest
from tests.conftest import School, decide
from tests.personal.conftest import Mirror, first_item
from tests.personal.test_views import as_user, item_post


@pytest.fixture
def per_hour(mirror: Mirror) -> CreditStandardItem:
    """「参加志愿服务（每小时）（1.00 志愿者工时）」, no 活动等级 in the standard."""
    return CreditStandardItem.objects.create(
        subcategory=mirror.subcategory,
        number=1,
        name="参加志愿服务（每小时）",
        level=None,
        credit_type=mirror.credit_type,
        points=Decimal("1.00"),
        unit=CreditStandardItem.Unit.HOUR,
    )


def add_url(request: PersonalRequest) -> str:
    return reverse("personal:item_add", args=[request.pk])


def hours_post(
    mirror: Mirror, standard: CreditStandardItem, **overrides: object
) -> dict[str, object]:
    values: dict[str, object] = {
        "content": "社区志愿服务",
        "standard_item": standard.pk,
        "quantity": "6",
        "claimed_value": "6",
        **overrides,
    }
    return item_post(mirror, **values)


def saved(request: PersonalRequest) -> PersonalItem:
    return request.items.order_by("-pk").first()  # type: ignore[return-value]


@pytest.fixture(autouse=True)
def _online_step_off(settings: Any) -> None:
    """第六条's online tick is tested in tests/personal/test_online_and_recognition.py."""
    settings.BULU_REQUIRE_ONLINE_SUBMISSION = False


def test_six_hours_are_claimed_at_six_and_seven_is_refused_on_its_field(
    client: Client,
    school: School,
    mirror: Mirror,
    draft: PersonalRequest,
    per_hour: CreditStandardItem,
) -> None:
    c = as_user(client, school.alice)
    refused = c.post(add_url(draft), hours_post(mirror, per_hour, claimed_value="7"))
    assert refused.status_code == 200 and draft.items.count() == 1
    errors = refused.context["form"].errors
    assert "超过所选认定标准" in errors["claimed_value"][0]
    assert "按数量计算的分值 6.00（6 小时 × 1.00）" in errors["claimed_value"][0]
    assert "申请学分值 7" in errors["claimed_value"][0]
    # What was typed is kept.
    body = refused.content.decode()
    assert 'name="quantity" value="6"' in body and 'name="claimed_value" value="7"' in body

    assert c.post(add_url(draft), hours_post(mirror, per_hour)).status_code == 302
    item = saved(draft)
    assert (item.quantity, item.claimed_value) == (Decimal("6.00"), Decimal("6.00"))
    assert item.claim_text == "6 小时 × 1.00"


def test_a_fraction_of_an_hour_is_allowed(
    client: Client,
    school: School,
    mirror: Mirror,
    draft: PersonalRequest,
    per_hour: CreditStandardItem,
) -> None:
    c = as_user(client, school.alice)
    post = hours_post(mirror, per_hour, quantity="1.5", claimed_value="1.5")
    assert c.post(add_url(draft), post).status_code == 302
    assert saved(draft).quantity == Decimal("1.50")
    assert saved(draft).claim_text == "1.5 小时 × 1.00"


def test_a_per_unit_item_needs_its_quantity(
    client: Client,
    school: School,
    mirror: Mirror,
    draft: PersonalRequest,
    per_hour: CreditStandardItem,
) -> None:
    c = as_user(client, school.alice)
    for quantity in ("", "0"):
        response = c.post(add_url(draft), hours_post(mirror, per_hour, quantity=quantity))
        assert response.status_code == 200
        assert (
            "按每小时计分，请填写数量（小时数）" in response.context["form"].errors["quantity"][0]
        )
    per_time = CreditStandardItem.objects.create(
        subcategory=mirror.subcategory,
        number=2,
        name="参加讲座（每次）",
        credit_type=mirror.credit_type,
        points=Decimal("0.5"),
        unit=CreditStandardItem.Unit.TIME,
    )
    times = c.post(
        add_url(draft), hours_post(mirror, per_time, quantity="1.5", claimed_value="0.5")
    )
    assert "数量 1.5 须是整数（按每次计分）" in times.context["form"].errors["quantity"][0]
    assert draft.items.count() == 1


def test_the_credit_types_cap_still_applies(
    client: Client,
    school: School,
    mirror: Mirror,
    draft: PersonalRequest,
    per_hour: CreditStandardItem,
) -> None:
    CreditType.objects.filter(pk=mirror.credit_type.pk).update(max_value=Decimal("4"))
    c = as_user(client, school.alice)
    response = c.post(add_url(draft), hours_post(mirror, per_hour))
    assert (
        "超过该学分类型单条记录的上限 4.00" in response.context["form"].errors["claimed_value"][0]
    )
    assert draft.items.count() == 1
    # Within the cap (and within 6 × 1.00) it is saved.
    assert (
        c.post(add_url(draft), hours_post(mirror, per_hour, claimed_value="4")).status_code == 302
    )


def test_a_standard_without_a_level_accepts_any_level(
    client: Client,
    school: School,
    mirror: Mirror,
    draft: PersonalRequest,
    per_hour: CreditStandardItem,
) -> None:
    other = ActivityLevel.objects.create(name="院系级")
    c = as_user(client, school.alice)
    for level in (mirror.level, other):
        assert (
            c.post(
                add_url(draft),
                # another activity each time: the same one twice would be a double claim (第五条)
                hours_post(
                    mirror, per_hour, level=level.pk, content=f"社区志愿服务（{level.name}）"
                ),
            ).status_code
            == 302
        )
        assert saved(draft).level == level
    # The form says so beside the level, and the option tells the page it has none.
    page = c.get(add_url(draft)).content.decode()
    assert "认定标准未限定等级时，选择活动的实际等级" in page
    assert f'value="{per_hour.pk}" data-category="{mirror.category.pk}"' in page
    assert 'data-level=""' in page


def test_a_whole_item_standard_ignores_a_quantity(
    client: Client, school: School, mirror: Mirror, draft: PersonalRequest
) -> None:
    whole = CreditStandardItem.objects.create(
        subcategory=mirror.subcategory,
        number=3,
        name="校园歌手大赛",
        level=mirror.level,
        credit_type=mirror.credit_type,
        points=Decimal("2.00"),
    )
    c = as_user(client, school.alice)
    post = hours_post(mirror, whole, quantity="6", claimed_value="2")
    assert c.post(add_url(draft), post).status_code == 302
    assert saved(draft).quantity is None and saved(draft).claim_text == ""
    # For a whole item the claim is bounded by the points, as before.
    over = c.post(add_url(draft), hours_post(mirror, whole, quantity="6", claimed_value="6"))
    assert "超过所选认定标准“" in over.context["form"].errors["claimed_value"][0]


def test_the_form_carries_what_the_page_needs_to_show_the_value_live(
    client: Client,
    school: School,
    mirror: Mirror,
    draft: PersonalRequest,
    per_hour: CreditStandardItem,
) -> None:
    page = as_user(client, school.alice).get(add_url(draft)).content.decode()
    for attr in (
        'data-unit="hour"',
        'data-unit-noun="小时"',
        'data-points="1.00"',
        'data-fraction="1"',
        f'data-credit-type-name="{mirror.credit_type.name}"',
    ):
        assert attr in page
    assert 'name="quantity"' in page and "data-quantity" in page
    # No inline script: the live value comes from the static bulu.js (the CSP forbids inline).
    assert "<script>" not in page and "js/bulu" in page


def test_the_center_sees_the_quantity_and_the_credit_carries_the_value(
    client: Client,
    school: School,
    mirror: Mirror,
    personal_window: Window,
    per_hour: CreditStandardItem,
) -> None:
    request = services.personal_request_create(student=school.alice, title="志愿服务补录")
    c = as_user(client, school.alice)
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.personal.conftest import PNG

    files = [SimpleUploadedFile("时长证明.png", PNG, content_type="image/png")]
    assert (
        c.post(
            add_url(request), {**hours_post(mirror, per_hour), "evidence_files": files}
        ).status_code
        == 302
    )
    services.personal_request_submit(request=request, actor=school.alice)
    decide(request, school.bob)
    decide(request, school.carol)
    item = first_item(request)
    page = as_user(client, school.dave).get(reverse("workflow:detail", args=[request.pk]))
    body = page.content.decode()
    assert "（6 小时 × 1.00）" in body  # the item summary
    assert f"6.00 {mirror.credit_type.name}，6 小时 × 1.00" in body  # the recognition legend
    assert f'name="value-{item.pk}" value="6.00"' in body
    # Someone off the route sees nothing of it.
    assert (
        as_user(client, school.olivia)
        .get(reverse("workflow:detail", args=[request.pk]))
        .status_code
        == 404
    )
    as_user(client, school.dave).post(
        reverse("workflow:decide", args=[request.pk]),
        {
            "decision": "approve",
            "version": PersonalRequest.objects.get(pk=request.pk).version,
            f"value-{item.pk}": "6.00",
            f"reason-{item.pk}": "",
            f"delivery-{item.pk}": "batch",
        },
    )
    request.refresh_from_db()
    assert request.state == State.APPROVED
    assert CreditRecord.objects.get(request=request).value == Decimal("6.00")
