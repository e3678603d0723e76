"""Shared pages: home, 我的待办 with filters and bulk approval, overview, messages, notices."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from bulu.workflow.models import Decision, Kind, Window
from bulu.workflow.services import request_decide
from personal import services
from personal.models import PersonalRequest
from tests.conftest import School
from tests.personal.conftest import Mirror, make_draft


def as_user(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def submitted(school: School, mirror: Mirror, n: int) -> list[PersonalRequest]:
    out = []
    for _ in range(n):
        r = make_draft(school.alice, mirror)
        services.personal_request_submit(request=r, actor=school.alice)
        out.append(r)
    return out


def test_it_shows_each_role_its_home(
    client: Client, school: School, mirror: Mirror, personal_window: Window
) -> None:
    submitted(school, mirror, 1)
    home = reverse("home")
    student = as_user(client, school.alice).get(home).content.decode()
    assert "我的申请" in student and "我的待办" not in student
    assert "2026年春季个人积分补录" in student  # the open notice
    counselor = as_user(client, school.bob).get(home).content.decode()
    assert "我的待办" in counselor and "我的补录" in counselor
    outsider = as_user(client, school.oscar).get(home).content.decode()
    assert "我的待办" in outsider and "我的补录" not in outsider


def test_it_filters_and_searches_the_todo(
    client: Client, school: School, mirror: Mirror, personal_window: Window
) -> None:
    submitted(school, mirror, 2)
    c = as_user(client, school.bob)
    assert (
        c.get(reverse("workflow:todo"), {"q": "2024010001"}).content.decode().count("我的补录") == 2
    )
    assert "我的补录" not in c.get(reverse("workflow:todo"), {"q": "不存在的人"}).content.decode()
    assert "我的补录" not in c.get(reverse("workflow:todo"), {"kind": "cadre"}).content.decode()
    body = c.get(reverse("workflow:todo"), {"college": school.college_a.pk}).content.decode()
    assert body.count("我的补录") == 2
    assert "我的补录" not in c.get(reverse("workflow:todo"), {"waiting_days": 2}).content.decode()


def test_it_lists_the_todo_in_constant_queries(
    client: Client, school: School, mirror: Mirror, personal_window: Window
) -> None:
    c = as_user(client, school.bob)
    submitted(school, mirror, 2)
    with CaptureQueriesContext(connection) as few:
        assert c.get(reverse("workflow:todo")).status_code == 200
    submitted(school, mirror, 8)
    with CaptureQueriesContext(connection) as many:
        assert c.get(reverse("workflow:todo")).status_code == 200
    assert len(many) == len(few)
    with CaptureQueriesContext(connection) as home_few:
        c.get(reverse("home"))
    submitted(school, mirror, 5)
    with CaptureQueriesContext(connection) as home_many:
        c.get(reverse("home"))
    assert len(home_many) == len(home_few)


def test_it_confirms_then_bulk_approves(
    client: Client, school: School, mirror: Mirror, personal_window: Window
) -> None:
    requests = submitted(school, mirror, 3)
    selected = [f"{r.pk}:{r.version}" for r in requests]
    c = as_user(client, school.bob)
    confirm = c.post(reverse("workflow:bulk_approve"), {"selected": selected, "opinion": "同意"})
    assert confirm.status_code == 200 and "确认通过" in confirm.content.decode()
    assert all(PersonalRequest.objects.get(pk=r.pk).step_index == 0 for r in requests)
    c.post(
        reverse("workflow:bulk_approve"),
        {"selected": selected, "opinion": "同意", "confirmed": "1"},
    )
    assert all(PersonalRequest.objects.get(pk=r.pk).step_index == 1 for r in requests)


def test_it_bulk_approves_nothing_for_the_wrong_person(
    client: Client, school: School, mirror: Mirror, personal_window: Window
) -> None:
    requests = submitted(school, mirror, 2)
    as_user(client, school.oscar).post(
        reverse("workflow:bulk_approve"),
        {"selected": [f"{r.pk}:{r.version}" for r in requests], "confirmed": "1"},
    )
    assert all(PersonalRequest.objects.get(pk=r.pk).step_index == 0 for r in requests)
    assert all(r.log.count() == 1 for r in requests)


def test_it_shows_the_overview_only_to_school_wide_roles(
    client: Client, school: School, mirror: Mirror, personal_window: Window
) -> None:
    submitted(school, mirror, 2)
    response = as_user(client, school.dave).get(reverse("workflow:overview"), {"state": "pending"})
    assert response.status_code == 200 and response.content.decode().count("我的补录") == 2
    for person in (school.bob, school.alice, school.carol):
        assert as_user(client, person).get(reverse("workflow:overview")).status_code == 403


def test_it_redirects_the_generic_detail_to_the_kind_or_404s(
    client: Client, school: School, mirror: Mirror, personal_window: Window
) -> None:
    (request,) = submitted(school, mirror, 1)
    url = reverse("workflow:detail", args=[request.pk])
    response = as_user(client, school.bob).get(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("personal:detail", args=[request.pk])
    assert as_user(client, school.oscar).get(url).status_code == 404


def test_it_lists_messages_and_marks_them_read(
    client: Client, school: School, mirror: Mirror, personal_window: Window
) -> None:
    (request,) = submitted(school, mirror, 1)
    request_decide(
        request=request, actor=school.bob, decision=Decision.RETURN, opinion="请补充证书"
    )
    c = as_user(client, school.alice)
    assert "未读消息" in c.get(reverse("home")).content.decode()
    assert "请补充证书" in c.get(reverse("workflow:notifications")).content.decode()
    assert "未读消息" not in c.get(reverse("home")).content.decode()
    assert (
        "请补充证书"
        not in as_user(client, school.olivia)
        .get(reverse("workflow:notifications"))
        .content.decode()
    )


def test_it_lets_only_the_center_publish_notices(client: Client, school: School) -> None:
    now = timezone.localtime()
    data = {
        "kind": Kind.CADRE,
        "title": "2026年学生干部积分补录",
        "body": "各学院于11月30日前上报",
        "opens_at": (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        "closes_at": (now + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M"),
        "grace_days": 0,
        "is_published": "on",
    }
    url = reverse("workflow:window_create")
    assert as_user(client, school.bob).post(url, data).status_code == 403
    assert as_user(client, school.alice).get(url).status_code == 403
    bad = as_user(client, school.dave).post(url, {**data, "closes_at": data["opens_at"]})
    assert "截止时间必须晚于开始时间" in bad.content.decode()
    assert client.post(url, data).status_code == 302
    window = Window.objects.get(title="2026年学生干部积分补录")
    assert window.created_by == school.dave and window.is_open()
    assert (
        "2026年学生干部积分补录"
        in as_user(client, school.alice).get(reverse("workflow:windows")).content.decode()
    )


def test_it_summarizes_what_a_bulk_approval_grants(
    client: Client, school: School, mirror: Mirror, personal_window: Window
) -> None:
    requests = submitted(school, mirror, 2)
    response = as_user(client, school.bob).post(
        reverse("workflow:bulk_approve"),
        {"selected": [f"{r.pk}:{r.version}" for r in requests]},
    )
    assert response.content.decode().count("1 项：活动1 2.00 文体活动学分") == 2
