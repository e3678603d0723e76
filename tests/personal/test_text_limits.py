"""Issue 18: a personal request's texts have limits, on the form and in the services."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from accounts.models import User
from bulu import limits
from bulu.exceptions import ApplicationError
from bulu.workflow.models import BackfillRequest, State, Window
from personal import services
from personal.models import PersonalItem, PersonalRequest
from tests.conftest import School, decide
from tests.personal.conftest import Mirror, first_item, item_data, make_draft
from tests.personal.test_views import item_post


def as_user(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def test_the_item_form_refuses_an_over_long_content_and_saves_nothing(
    client: Client, school: School, mirror: Mirror, draft: PersonalRequest
) -> None:
    url = reverse("personal:item_add", args=[draft.pk])
    c = as_user(client, school.alice)
    assert f'maxlength="{limits.NAME}"' in c.get(url).content.decode()
    response = c.post(url, item_post(mirror, content="活" * 201, awards="奖" * 201))
    assert response.status_code == 200
    page = response.content.decode()
    assert '<small class="error">内容最多 200 字（现在 201 字）。</small>' in page
    assert '<small class="error">奖项内容最多 200 字（现在 201 字）。</small>' in page
    assert draft.items.count() == 1
    assert c.post(url, item_post(mirror, content="活" * 200)).status_code == 302
    assert draft.items.order_by("-pk").first().content == "活" * 200  # type: ignore[union-attr]


def test_the_item_service_refuses_an_over_long_text_on_its_field(
    school: School, mirror: Mirror, draft: PersonalRequest
) -> None:
    item = first_item(draft)
    with pytest.raises(ValidationError) as refused:
        services.personal_item_save(
            request=draft,
            actor=school.alice,
            data=item_data(mirror, content="活" * 201, awards="奖" * 300),
            item=item,
        )
    assert refused.value.message_dict == {
        "content": ["内容最多 200 字（现在 201 字）。"],
        "awards": ["奖项内容最多 200 字（现在 300 字）。"],
    }
    assert PersonalItem.objects.get(pk=item.pk).content == item.content


def test_the_title_is_refused_over_its_limit_not_cut(
    client: Client, school: School, mirror: Mirror, personal_window: Window
) -> None:
    c = as_user(client, school.alice)
    response = c.post(reverse("personal:create"), {"title": "题" * 201})
    assert response.status_code == 200
    assert "申请标题最多 200 字（现在 201 字）。" in response.content.decode()
    assert not PersonalRequest.objects.exists()
    with pytest.raises(ApplicationError, match=r"^申请标题最多 200 字（现在 201 字）。$"):
        services.personal_request_create(student=school.alice, title="题" * 201)
    assert not PersonalRequest.objects.exists()
    request = services.personal_request_create(student=school.alice, title="题" * 200)
    with pytest.raises(ApplicationError, match="申请标题最多 200 字"):
        services.personal_request_update(request=request, actor=school.alice, title="新" * 201)
    assert PersonalRequest.objects.get(pk=request.pk).title == "题" * 200


def test_the_recognition_note_is_refused_over_its_limit_not_cut(
    client: Client, school: School, mirror: Mirror, personal_window: Window
) -> None:
    request = make_draft(school.alice, mirror)
    item = first_item(request)
    services.personal_request_submit(request=request, actor=school.alice)
    decide(request, school.bob)
    decide(request, school.carol)
    request.refresh_from_db()
    center = as_user(client, school.dave)
    page = center.get(reverse("workflow:detail", args=[request.pk])).content.decode()
    assert f'name="reason-{item.pk}" value="" maxlength="{limits.NOTE}"' in page

    def post(reason: str) -> str:
        return center.post(
            reverse("workflow:decide", args=[request.pk]),
            {
                "decision": "approve",
                "version": request.version,
                f"value-{item.pk}": "1.5",
                f"reason-{item.pk}": reason,
                f"delivery-{item.pk}": "batch",
            },
        ).content.decode()

    assert "事项“活动1”的认定说明最多 200 字（现在 201 字）。" in post("折" * 201)
    assert BackfillRequest.objects.get(pk=request.pk).state == State.PENDING
    assert PersonalItem.objects.get(pk=item.pk).recognized_value is None
    with pytest.raises(ApplicationError, match="认定说明最多 200 字"):
        services.personal_recognize(
            request,
            school.dave,
            "approve",
            {item.pk: services.Recognition(Decimal("1.5"), "折" * 201, "batch")},
        )
    post("折" * 200)
    assert BackfillRequest.objects.get(pk=request.pk).state == State.APPROVED
    assert PersonalItem.objects.get(pk=item.pk).recognition_reason == "折" * 200
