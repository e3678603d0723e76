"""Issue 18: a notice's texts and every decision's opinion have limits (form and service)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from accounts.models import User
from bulu import limits
from bulu.exceptions import ApplicationError
from bulu.workflow import services as workflow_services
from bulu.workflow.models import ApprovalRecord, BackfillRequest, Decision, Kind, State, Window
from personal import services
from personal.models import PersonalRequest
from tests.conftest import School, decide
from tests.personal.conftest import Mirror, make_draft

TZ = ZoneInfo("Asia/Shanghai")


def as_user(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def notice_post(**extra: str) -> dict[str, object]:
    opens = datetime(2027, 2, 20, 8, 0)
    return {
        "kind": Kind.PERSONAL,
        "title": "2027年春季个人积分补录",
        "body": "请按时提交。",
        "opens_at": opens.strftime("%Y-%m-%dT%H:%M"),
        "closes_at": (opens + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M"),
        "grace_days": 0,
        "is_published": "on",
        **extra,
    }


def notice_data(**changes: object) -> workflow_services.WindowData:
    opens = datetime(2027, 2, 20, 8, 0, tzinfo=TZ)
    data = workflow_services.WindowData(
        kind=Kind.PERSONAL,
        title="2027年春季个人积分补录",
        body="请按时提交。",
        opens_at=opens,
        closes_at=opens + timedelta(days=30),
    )
    for key, value in changes.items():
        setattr(data, key, value)
    return data


# --- the notice ----------------------------------------------------------------------------------


def test_the_notice_form_refuses_an_over_long_body_next_to_the_field(
    client: Client, school: School
) -> None:
    url = reverse("workflow:window_create")
    c = as_user(client, school.dave)
    assert f'maxlength="{limits.NOTICE_BODY}"' in c.get(url).content.decode()
    response = c.post(url, notice_post(body="通" * (limits.NOTICE_BODY + 1)))
    assert response.status_code == 200 and not Window.objects.exists()
    assert (
        '<small class="error">通知内容最多 5000 字（现在 5001 字）。</small>'
        in response.content.decode()
    )
    reason = c.post(url, notice_post(off_season_reason="因" * (limits.NOTICE_REASON + 1)))
    assert "不在规定月份的原因最多 500 字（现在 501 字）。" in reason.content.decode()
    assert not Window.objects.exists()
    assert c.post(url, notice_post(body="通" * limits.NOTICE_BODY)).status_code == 302
    assert Window.objects.get().body == "通" * limits.NOTICE_BODY


@pytest.mark.parametrize(
    ("field", "label", "limit"),
    [
        ("body", "通知内容", limits.NOTICE_BODY),
        ("off_season_reason", "不在规定月份的原因", limits.NOTICE_REASON),
        ("title", "标题", limits.TITLE),
    ],
)
def test_the_notice_service_refuses_an_over_long_text(
    school: School, field: str, label: str, limit: int
) -> None:
    refusal = f"^{label}最多 {limit} 字（现在 {limit + 1} 字）。$"
    with pytest.raises(ApplicationError, match=refusal):
        workflow_services.window_create(
            actor=school.dave, data=notice_data(**{field: "长" * (limit + 1)})
        )
    assert not Window.objects.exists()
    window = workflow_services.window_create(
        actor=school.dave, data=notice_data(**{field: "长" * limit})
    )
    with pytest.raises(ApplicationError, match=f"^{label}最多 {limit} 字"):
        workflow_services.window_update(
            window=window, actor=school.dave, data=notice_data(**{field: "长" * (limit + 1)})
        )
    assert getattr(Window.objects.get(pk=window.pk), field) == "长" * limit


# --- opinions ------------------------------------------------------------------------------------


def submitted(school: School, mirror: Mirror) -> PersonalRequest:
    request = make_draft(school.alice, mirror)
    services.personal_request_submit(request=request, actor=school.alice)
    request.refresh_from_db()
    return request


def test_the_decision_form_refuses_an_over_long_opinion_and_decides_nothing(
    client: Client, school: School, mirror: Mirror, personal_window: Window
) -> None:
    request = submitted(school, mirror)
    c = as_user(client, school.bob)
    page = c.get(reverse("workflow:detail", args=[request.pk])).content.decode()
    assert f'maxlength="{limits.OPINION}"' in page and 'id="opinion"' in page
    response = c.post(
        reverse("workflow:decide", args=[request.pk]),
        {"decision": "return", "opinion": "退" * 501, "version": request.version},
    )
    assert response.status_code == 400
    assert '<small class="error">审核意见最多 500 字（现在 501 字）。</small>' in (
        response.content.decode()
    )
    fresh = BackfillRequest.objects.get(pk=request.pk)
    assert fresh.state == State.PENDING and fresh.version == request.version
    assert ApprovalRecord.objects.filter(request=request).count() == 1  # the submission only
    # Exactly at the limit: returned, the opinion kept whole.
    done = c.post(
        reverse("workflow:decide", args=[request.pk]),
        {"decision": "return", "opinion": "退" * 500, "version": request.version},
    )
    assert done.status_code == 302
    assert BackfillRequest.objects.get(pk=request.pk).state == State.RETURNED
    assert ApprovalRecord.objects.filter(request=request).last().opinion == "退" * 500  # type: ignore[union-attr]


def test_the_decision_service_refuses_an_over_long_opinion(
    school: School, mirror: Mirror, personal_window: Window
) -> None:
    request = submitted(school, mirror)
    with pytest.raises(ApplicationError, match=r"^审核意见最多 500 字（现在 501 字）。$"):
        decide(request, school.bob, Decision.REJECT, "否" * 501)
    fresh = BackfillRequest.objects.get(pk=request.pk)
    assert fresh.state == State.PENDING and fresh.step_index == 0
    assert ApprovalRecord.objects.filter(request=request).count() == 1
    decide(request, school.bob, Decision.APPROVE, "同" * 500)
    assert BackfillRequest.objects.get(pk=request.pk).step_index == 1


def test_a_bulk_approval_with_an_over_long_opinion_approves_none(
    client: Client, school: School, mirror: Mirror, personal_window: Window
) -> None:
    requests = [submitted(school, mirror) for _ in range(2)]
    items = [(r.pk, r.version) for r in requests]
    with pytest.raises(ApplicationError, match="审核意见最多 500 字（现在 501 字）"):
        workflow_services.requests_decide_bulk(actor=school.bob, items=items, opinion="同" * 501)
    assert all(BackfillRequest.objects.get(pk=r.pk).step_index == 0 for r in requests)
    c = as_user(client, school.bob)
    todo = c.get(reverse("workflow:todo")).content.decode()
    assert f'id="bulk-opinion" name="opinion" maxlength="{limits.OPINION}"' in todo
    response = c.post(
        reverse("workflow:bulk_approve"),
        {
            "selected": [f"{pk}:{version}" for pk, version in items],
            "opinion": "同" * 501,
            "confirmed": "1",
        },
        follow=True,
    )
    assert "审核意见最多 500 字（现在 501 字）。" in response.content.decode()
    assert all(BackfillRequest.objects.get(pk=r.pk).step_index == 0 for r in requests)
    assert ApprovalRecord.objects.filter(decision=Decision.APPROVE).count() == 0


def test_a_bulk_move_refuses_an_over_long_opinion(
    school: School, mirror: Mirror, personal_window: Window
) -> None:
    request = submitted(school, mirror)
    before = ApprovalRecord.objects.count()
    with pytest.raises(ApplicationError, match="审核意见最多 500 字"), transaction.atomic():
        workflow_services.requests_move_bulk(
            requests=BackfillRequest.objects.filter(pk=request.pk),
            transition=None,
            actor=school.dave,
            decision=Decision.EXPORT,
            opinion="导" * 501,
        )
    assert ApprovalRecord.objects.count() == before
    assert BackfillRequest.objects.get(pk=request.pk).version == request.version
