"""A request under review or decided is frozen: its title, items and evidence stay as decided.

Two guards, each with a test that fails without it: `request_ensure_editable` (every change the
applicant makes) and the items' own check of the committed, locked state (`_items_editable`).
"""

from __future__ import annotations

from decimal import Decimal
from io import BytesIO

import pytest
from django.test import Client
from django.urls import reverse

from bulu.exceptions import ApplicationError
from bulu.workflow.models import Decision, State
from bulu.workflow.services import request_ensure_editable
from personal import services
from personal.models import Evidence, PersonalItem, PersonalRequest
from tests.conftest import School, decide
from tests.personal.conftest import PNG, Mirror, first_item, item_data


def _approved(school: School, draft: PersonalRequest) -> PersonalRequest:
    services.personal_request_submit(request=draft, actor=school.alice)
    for approver in (school.bob, school.carol, school.dave):
        decide(draft, approver, Decision.APPROVE, "同意")
    draft.refresh_from_db()
    assert draft.state == State.APPROVED
    return draft


def _as_typed(item: PersonalItem) -> tuple[object, ...]:
    item.refresh_from_db()
    return (item.content, item.claimed_value, item.awards)


def test_the_student_cannot_rewrite_an_approved_item_on_the_page(
    client: Client, school: School, mirror: Mirror, draft: PersonalRequest
) -> None:
    request = _approved(school, draft)
    item = first_item(request)
    before = _as_typed(item)
    client.force_login(school.alice)
    url = reverse("personal:item_edit", args=[request.pk, item.pk])
    post = {
        "content": "改写后的内容",
        "start_date": "2025-11-05",
        "end_date": "",
        "category": mirror.category.pk,
        "subcategory": mirror.subcategory.pk,
        "level": mirror.level.pk,
        "awards": "特等奖",
        "credit_type": mirror.credit_type.pk,
        "claimed_value": "9",
    }
    response = client.post(url, post, follow=True)
    assert "不能修改" in response.content.decode()
    assert _as_typed(item) == before
    client.post(reverse("personal:item_delete", args=[request.pk, item.pk]), follow=True)
    assert PersonalItem.objects.filter(pk=item.pk).exists()


@pytest.mark.parametrize("state", [State.PENDING, State.APPROVED])
def test_request_ensure_editable_refuses_every_change_once_submitted(
    school: School, mirror: Mirror, draft: PersonalRequest, state: str
) -> None:
    """Title and evidence rely on `request_ensure_editable` alone: loosen it and this fails."""
    services.personal_request_submit(request=draft, actor=school.alice)
    if state == State.APPROVED:
        _approved_rest(school, draft)
    draft.refresh_from_db()
    assert draft.state == state
    with pytest.raises(ApplicationError, match="不能修改"):
        request_ensure_editable(draft, school.alice)
    with pytest.raises(ApplicationError, match="不能修改"):
        services.personal_request_update(request=draft, actor=school.alice, title="改过的标题")
    with pytest.raises(ApplicationError, match="不能修改"):
        services.evidence_stage(
            request=draft, actor=school.alice, uploads=[("新证书.png", BytesIO(PNG))]
        )
    evidence = Evidence.objects.filter(request=draft).first()
    assert evidence is not None
    with pytest.raises(ApplicationError, match="不能修改"):
        services.evidence_delete(evidence=evidence, actor=school.alice)
    draft.refresh_from_db()
    assert draft.title == "我的补录"
    assert Evidence.objects.filter(request=draft).count() == 1


def _approved_rest(school: School, request: PersonalRequest) -> None:
    for approver in (school.bob, school.carol, school.dave):
        decide(request, approver, Decision.APPROVE, "同意")


@pytest.mark.parametrize("state", [State.PENDING, State.APPROVED])
def test_items_check_the_committed_state_not_the_callers_copy(
    school: School, mirror: Mirror, draft: PersonalRequest, state: str
) -> None:
    """The item's own check: a copy read while it was a draft does not let it change later."""
    stale = PersonalRequest.objects.get(pk=draft.pk)
    item = first_item(draft)
    stale_item = PersonalItem.objects.select_related("request").get(pk=item.pk)
    before = _as_typed(item)
    services.personal_request_submit(request=draft, actor=school.alice)
    if state == State.APPROVED:
        _approved_rest(school, draft)
    assert stale.state == State.DRAFT  # what the page had read
    with pytest.raises(ApplicationError, match="事项不能修改或删除"):
        services.personal_item_save(
            request=stale,
            actor=school.alice,
            data=item_data(mirror, content="改写后的内容", claimed_value=Decimal("3")),
            item=item,
        )
    with pytest.raises(ApplicationError, match="事项不能修改或删除"):
        services.personal_item_save(request=stale, actor=school.alice, data=item_data(mirror))
    assert stale_item.request.state == State.DRAFT
    with pytest.raises(ApplicationError, match="事项不能修改或删除"):
        services.personal_item_delete(item=stale_item, actor=school.alice)
    assert _as_typed(item) == before
    assert PersonalItem.objects.filter(request=draft).count() == 1
