"""第四、五条: notices in their months or with a reason; a closed notice takes no new drafts."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from accounts.models import User
from bulu.exceptions import ApplicationError
from bulu.workflow import services as workflow_services
from bulu.workflow.models import Decision, Kind, State, Window, months_outside_rule
from bulu.workflow.selectors import window_open_for
from personal import services
from personal.models import PersonalItem, PersonalRequest
from tests.conftest import School, decide, school_year
from tests.personal.conftest import PNG, Mirror, first_item, make_draft

TZ = ZoneInfo("Asia/Shanghai")


def as_user(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def notice_post(kind: str, opens: datetime, closes: datetime, **extra: str) -> dict[str, object]:
    return {
        "kind": kind,
        "title": "补录通知（测试）",
        "body": "",
        "opens_at": opens.strftime("%Y-%m-%dT%H:%M"),
        "closes_at": closes.strftime("%Y-%m-%dT%H:%M"),
        "grace_days": 0,
        "is_published": "on",
        **extra,
    }


# --- the months ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "opens", "closes", "outside"),
    [
        (Kind.PERSONAL, datetime(2027, 2, 20, 8, 0), datetime(2027, 3, 31, 18, 0), []),
        # closes_at is exclusive: closing at 1 April 00:00 stays in March.
        (Kind.PERSONAL, datetime(2027, 2, 1, 0, 0), datetime(2027, 4, 1, 0, 0), []),
        (Kind.PERSONAL, datetime(2027, 1, 10, 8, 0), datetime(2027, 3, 1, 8, 0), [1]),
        (Kind.PERSONAL, datetime(2027, 3, 20, 8, 0), datetime(2027, 4, 2, 8, 0), [4]),
        (Kind.CADRE, datetime(2026, 10, 8, 8, 0), datetime(2026, 11, 30, 18, 0), []),
        (Kind.CADRE, datetime(2026, 11, 20, 8, 0), datetime(2026, 12, 20, 8, 0), [12]),
        # A year later the same months again: the months between count.
        (
            Kind.CADRE,
            datetime(2026, 11, 1, 8, 0),
            datetime(2027, 10, 5, 8, 0),
            [*range(1, 10), 12],
        ),
        (Kind.COLLECTIVE, datetime(2026, 7, 1, 8, 0), datetime(2026, 8, 1, 8, 0), []),
    ],
)
def test_it_knows_which_months_the_regulation_names(
    kind: str, opens: datetime, closes: datetime, outside: list[int]
) -> None:
    got = months_outside_rule(kind, opens.replace(tzinfo=TZ), closes.replace(tzinfo=TZ))
    assert sorted(got) == outside


def test_it_refuses_a_notice_outside_the_months_without_a_reason(
    client: Client, school: School
) -> None:
    url = reverse("workflow:window_create")
    opens, closes = datetime(2027, 5, 6, 8, 0), datetime(2027, 5, 20, 18, 0)
    bad = as_user(client, school.dave).post(url, notice_post(Kind.PERSONAL, opens, closes))
    page = bad.content.decode()
    assert bad.status_code == 200 and not Window.objects.exists()
    assert "不在规定月份的原因" in page and "2月至3月" in page and "第五条" in page
    assert 'value="补录通知（测试）"' in page  # what the center typed stays
    # Cadre in May: 第四条 and its months are named.
    cadre = client.post(url, notice_post(Kind.CADRE, opens, closes))
    assert "10月至11月" in cadre.content.decode() and not Window.objects.exists()
    # Collective has no month rule.
    assert client.post(url, notice_post(Kind.COLLECTIVE, opens, closes)).status_code == 302
    assert Window.objects.get().kind == Kind.COLLECTIVE


def test_it_accepts_a_reason_and_shows_it_wherever_the_notice_is_seen(
    client: Client, school: School, mirror: Mirror
) -> None:
    now = datetime(2027, 5, 10, 10, 0, tzinfo=TZ)  # May: outside 第五条's 2月至3月
    opens, closes = now - timedelta(days=1), now + timedelta(days=10)
    reason = "因校历调整，本学期补录安排在期末进行。"
    with time_machine.travel(now, tick=False):
        response = as_user(client, school.dave).post(
            reverse("workflow:window_create"),
            notice_post(Kind.PERSONAL, opens, closes, off_season_reason=reason),
        )
        assert response.status_code == 302
        window = Window.objects.get()
        assert window.off_season_reason == reason and window.outside_months
        request = make_draft(school.alice, mirror)
        services.personal_request_submit(request=request, actor=school.alice)
        student = as_user(client, school.alice)
        for url in (
            reverse("workflow:windows"),
            reverse("home"),
            reverse("workflow:detail", args=[request.pk]),
        ):
            page = student.get(url).content.decode()
            assert reason in page and "不在《办法》规定的每年2月至3月内" in page, url


def test_it_shows_no_month_note_for_a_notice_in_its_months(client: Client, school: School) -> None:
    Window.objects.create(
        kind=Kind.PERSONAL,
        title="2027年春季",
        opens_at=datetime(2027, 2, 20, 8, 0, tzinfo=TZ),
        closes_at=datetime(2027, 3, 31, 18, 0, tzinfo=TZ),
    )
    page = as_user(client, school.alice).get(reverse("workflow:windows")).content.decode()
    assert "2027年春季" in page and "不在《办法》规定" not in page


def test_the_admin_and_the_service_refuse_it_too(school: School) -> None:
    window = Window(
        kind=Kind.CADRE,
        title="五月学生干部补录",
        opens_at=datetime(2027, 5, 6, 8, 0, tzinfo=TZ),
        closes_at=datetime(2027, 5, 20, 8, 0, tzinfo=TZ),
    )
    with pytest.raises(ValidationError) as caught:
        window.full_clean()  # what the admin's form runs
    assert "off_season_reason" in caught.value.message_dict
    data = workflow_services.WindowData(
        kind=Kind.CADRE,
        title=window.title,
        body="",
        opens_at=window.opens_at,
        closes_at=window.closes_at,
        school_year=school_year("2026-2027"),
    )
    with pytest.raises(ApplicationError, match="不在规定月份的原因"):
        workflow_services.window_create(actor=school.dave, data=data)
    data.off_season_reason = "学期安排调整"
    assert workflow_services.window_create(actor=school.dave, data=data).pk


# --- a closed notice takes no new drafts and no edits (personal; cadre and collective: their
# own test files) ---------------------------------------------------------------------------------


def item_form(mirror: Mirror, content: str = "补交的活动") -> dict[str, object]:
    return {
        "content": content,
        "start_date": "2025-11-05",
        "end_date": "",
        "category": mirror.category.pk,
        "subcategory": mirror.subcategory.pk,
        "level": mirror.level.pk,
        "awards": "",
        "credit_type": mirror.credit_type.pk,
        "claimed_value": "1.00",
        "standard_item": "",
    }


def test_a_closed_personal_notice_refuses_new_drafts_and_edits_by_url(
    client: Client, school: School, mirror: Mirror, personal_window: Window
) -> None:
    draft = make_draft(school.alice, mirror)
    item = first_item(draft)
    after = personal_window.closes_at + timedelta(minutes=1)
    with time_machine.travel(after, tick=False):
        student = as_user(client, school.alice)  # signed in then: sessions expire
        assert window_open_for(kind=Kind.PERSONAL) is None
        create = student.post(reverse("personal:create"), {"title": "晚到的补录"}, follow=True)
        page = create.content.decode()
        assert create.status_code == 200
        assert "已截止" in page and personal_window.title in page
        assert workflow_services.moment_text(personal_window.closes_at) in page
        assert PersonalRequest.objects.filter(applicant=school.alice).count() == 1
        edit_urls: list[tuple[str, dict[str, object]]] = [
            (reverse("personal:edit", args=[draft.pk]), {"title": "改标题"}),
            (reverse("personal:item_add", args=[draft.pk]), item_form(mirror)),
            (reverse("personal:item_edit", args=[draft.pk, item.pk]), item_form(mirror, "改过")),
            (reverse("personal:item_delete", args=[draft.pk, item.pk]), {}),
        ]
        for url, data in edit_urls:
            response = student.post(url, data, follow=True)
            assert response.status_code == 200, url
            assert personal_window.title in response.content.decode(), url
        draft.refresh_from_db()
        assert draft.title == "我的补录"
        assert list(
            PersonalItem.objects.filter(request=draft).values_list("content", flat=True)
        ) == ["活动1"]
        with pytest.raises(ApplicationError, match=personal_window.title):
            services.evidence_stage(
                request=draft, actor=school.alice, uploads=[("证书.png", io.BytesIO(PNG))]
            )


def test_a_returned_request_may_be_changed_until_the_grace_ends(
    school: School, mirror: Mirror, personal_window: Window
) -> None:
    personal_window.grace_days = 2
    personal_window.save()
    request = make_draft(school.alice, mirror)
    services.personal_request_submit(request=request, actor=school.alice)
    decide(request, school.bob, Decision.RETURN, "请补充材料")
    request.refresh_from_db()
    assert request.state == State.RETURNED
    with time_machine.travel(personal_window.closes_at + timedelta(days=1), tick=False):
        services.personal_request_update(request=request, actor=school.alice, title="补充后")
    with (
        time_machine.travel(personal_window.closes_at + timedelta(days=2, minutes=1), tick=False),
        pytest.raises(ApplicationError, match="宽限期至"),
    ):
        services.personal_request_update(request=request, actor=school.alice, title="太晚了")
    request.refresh_from_db()
    assert request.title == "补充后"


def test_drafts_may_be_prepared_for_a_published_notice_not_yet_open(
    school: School, mirror: Mirror
) -> None:
    opens = datetime.now(TZ) + timedelta(days=3)
    Window.objects.create(
        kind=Kind.PERSONAL, title="下一期", opens_at=opens, closes_at=opens + timedelta(days=20)
    )
    request = make_draft(school.alice, mirror)
    with pytest.raises(ApplicationError, match="尚未开放"):
        services.personal_request_submit(request=request, actor=school.alice)


def test_without_any_notice_no_personal_draft_is_started(school: School) -> None:
    with pytest.raises(ApplicationError, match="没有开放的补录通知"):
        services.personal_request_create(student=school.alice, title="")
    assert not PersonalRequest.objects.exists()
