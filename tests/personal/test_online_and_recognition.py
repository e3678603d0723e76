"""第六条's online step before submission, and what the student is told about recognized values."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import User
from bulu.exceptions import ApplicationError
from bulu.workflow.models import Notification, State, Window
from exports.selectors import ExportFilters
from exports.services import export_batch_confirm, export_batch_create, export_batch_download
from personal import services
from personal.models import PersonalItem, PersonalRequest
from tests.conftest import School, decide
from tests.personal.conftest import Mirror, make_draft


def as_user(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def items(request: PersonalRequest) -> list[PersonalItem]:
    return list(request.items.order_by("pk"))


def untick(item: PersonalItem, actor: User) -> None:
    services.personal_item_mark_online(item=item, actor=actor, applied=False, applied_on=None)


# --- the online step -----------------------------------------------------------------------------


def test_it_requires_each_item_online_before_submission_naming_it(
    client: Client, school: School, mirror: Mirror, personal_window: Window
) -> None:
    request = make_draft(school.alice, mirror, items=2)
    untick(items(request)[1], school.alice)
    with pytest.raises(ApplicationError, match="活动2") as caught:
        services.personal_request_submit(request=request, actor=school.alice)
    assert "活动1" not in caught.value.message and "已在到梦空间在线提交" in caught.value.message
    response = as_user(client, school.alice).post(
        reverse("personal:submit", args=[request.pk]),
        {"version": request.version},
        follow=True,
        HTTP_REFERER=reverse("personal:edit", args=[request.pk]),
    )
    page = response.content.decode()
    assert "活动2" in page and "没有勾选的事项不能提交" in page  # the message and the hint
    request.refresh_from_db()
    assert request.state == State.DRAFT
    # Ticked on the edit page (the draft's own page), then it goes through.
    second = items(request)[1]
    tick = client.post(
        reverse("personal:item_online", args=[request.pk, second.pk]),
        {"online_applied": "on", "online_applied_on": "2026-03-03"},
    )
    assert tick["Location"] == reverse("personal:edit", args=[request.pk])
    services.personal_request_submit(request=request, actor=school.alice)
    assert request.state == State.PENDING


def test_a_school_without_the_online_step_turns_it_off(
    client: Client,
    school: School,
    mirror: Mirror,
    personal_window: Window,
    settings: Any,
) -> None:
    settings.BULU_REQUIRE_ONLINE_SUBMISSION = False
    request = make_draft(school.alice, mirror)
    untick(items(request)[0], school.alice)
    page = as_user(client, school.alice).get(reverse("personal:edit", args=[request.pk]))
    assert "没有勾选的事项不能提交" not in page.content.decode()
    services.personal_request_submit(request=request, actor=school.alice)
    assert request.state == State.PENDING


def test_the_counselor_sees_the_online_step_per_item(
    client: Client,
    school: School,
    mirror: Mirror,
    personal_window: Window,
    settings: Any,
) -> None:
    settings.BULU_REQUIRE_ONLINE_SUBMISSION = False
    request = make_draft(school.alice, mirror, items=2)
    untick(items(request)[1], school.alice)
    services.personal_request_submit(request=request, actor=school.alice)
    page = as_user(client, school.bob).get(reverse("workflow:detail", args=[request.pk]))
    text = page.content.decode()
    first, second = text.split("活动2")[0], text.split("活动2")[1]
    assert "已在到梦空间在线提交</span> 2026-03-02" in first
    assert "未登记在线提交" in second.split("</dl>")[0]
    assert 'name="online_applied"' not in text  # the counselor sees, the student ticks


def test_it_stops_asking_for_the_online_step_once_imported(
    client: Client, school: School, mirror: Mirror, personal_window: Window
) -> None:
    request = make_draft(school.alice, mirror)
    services.personal_request_submit(request=request, actor=school.alice)
    student = as_user(client, school.alice)
    pending = student.get(reverse("workflow:detail", args=[request.pk])).content.decode()
    assert "填写申请表单" in pending and 'id="online"' in pending
    untick(items(request)[0], school.alice)  # changed their mind while pending
    for approver in (school.bob, school.carol, school.dave):
        decide(request, approver)
    batch = export_batch_create(actor=school.dave, filters=ExportFilters())
    opened, _name, _type = export_batch_download(batch=batch, actor=school.dave)
    opened.close()
    export_batch_confirm(batch=batch, actor=school.dave)
    request.refresh_from_db()
    assert request.state == State.IMPORTED
    page = student.get(reverse("workflow:detail", args=[request.pk])).content.decode()
    assert "填写申请表单" not in page and 'id="online"' not in page
    assert "未登记在线提交" not in page and "已由二课中心导入到梦空间" in page


# --- recognized values ---------------------------------------------------------------------------


def recognize(request: PersonalRequest, item: PersonalItem, **posted: str) -> dict[str, Any]:
    return {
        "decision": "approve",
        "version": request.version,
        f"delivery-{item.pk}": "batch",
        **{f"{k}-{item.pk}": v for k, v in posted.items()},
    }


def test_a_lower_value_needs_a_reason_and_the_student_is_told_it(
    client: Client,
    school: School,
    mirror: Mirror,
    personal_window: Window,
    django_capture_on_commit_callbacks: Any,
) -> None:
    school.alice.email = "alice@example.edu.cn"
    school.alice.save(update_fields=["email"])
    request = make_draft(school.alice, mirror)
    item = items(request)[0]
    services.personal_request_submit(request=request, actor=school.alice)
    decide(request, school.bob)
    decide(request, school.carol)
    request.refresh_from_db()
    url = reverse("workflow:decide", args=[request.pk])
    center = as_user(client, school.dave)
    refused = center.post(url, recognize(request, item, value="1.5", reason=""))
    assert "请填写认定说明" in refused.content.decode()
    request.refresh_from_db()
    assert request.state == State.PENDING
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        center.post(url, recognize(request, item, value="1.5", reason="按校级标准折算"))
    request.refresh_from_db()
    assert request.state == State.APPROVED
    note = Notification.objects.filter(recipient=school.alice).order_by("-pk").first()
    assert note is not None
    for text in (note.text, mail.outbox[-1].body):
        assert "已审核通过" in text
        assert "“活动1”申请 2.00 文体活动学分，认定 1.50 文体活动学分，原因：按校级标准折算" in text


def test_an_unchanged_value_adds_nothing_to_the_message(
    school: School, mirror: Mirror, personal_window: Window
) -> None:
    request = make_draft(school.alice, mirror)
    services.personal_request_submit(request=request, actor=school.alice)
    for approver in (school.bob, school.carol, school.dave):
        decide(request, approver)
    note = Notification.objects.filter(recipient=school.alice).order_by("-pk").first()
    assert note is not None and note.text == f"你的申请“{request.title}”已审核通过。"
    assert services.personal_approved_note(request) == ""
