"""Shared pages: home, 我的待办 with filters and bulk approval, overview, messages, notices."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from bulu.workflow.models import Decision, Kind, State, Window
from personal import services
from personal.models import PersonalRequest
from tests.conftest import School, decide
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
    assert reverse("personal:create") in student  # the window is open
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
    # Only registered kinds can be chosen; anything else is flagged and ignored on its own.
    unknown = c.get(reverse("workflow:todo"), {"kind": "no-such-kind", "q": "不存在的人"})
    assert "选择一个有效的选项" in unknown.content.decode()
    assert "我的补录" not in unknown.content.decode()
    body = c.get(reverse("workflow:todo"), {"college": school.college_a.pk}).content.decode()
    assert body.count("我的补录") == 2
    assert "我的补录" not in c.get(reverse("workflow:todo"), {"waiting_days": 2}).content.decode()


def test_it_lists_the_todo_in_constant_queries(
    client: Client, school: School, mirror: Mirror, personal_window: Window
) -> None:
    c = as_user(client, school.bob)
    submitted(school, mirror, 2)
    c.get(reverse("workflow:todo"))  # the filter choices are cached from here on
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


def test_it_shows_the_shared_request_page_with_the_kind_body_or_404s(
    client: Client, school: School, mirror: Mirror, personal_window: Window
) -> None:
    (request,) = submitted(school, mirror, 1)
    url = reverse("workflow:detail", args=[request.pk])
    page = as_user(client, school.bob).get(url)
    assert page.status_code == 200
    body = page.content.decode()
    assert "活动1" in body  # the personal body: its item
    assert 'id="decide"' in body and 'name="version"' in body  # bob decides at step 1
    assert "审批记录" in body
    student = as_user(client, school.alice).get(url).content.decode()
    assert 'id="decide"' not in student and "撤回申请" in student
    assert as_user(client, school.oscar).get(url).status_code == 404
    # Old personal links lead to the shared page.
    old = as_user(client, school.bob).get(reverse("personal:detail", args=[request.pk]))
    assert old.status_code == 302 and old["Location"] == url


def test_it_lists_messages_and_marks_them_read(
    client: Client, school: School, mirror: Mirror, personal_window: Window
) -> None:
    (request,) = submitted(school, mirror, 1)
    decide(request, school.bob, Decision.RETURN, "请补充证书")
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
        "kind": Kind.PERSONAL,
        "title": "2026年学生干部积分补录",
        "body": "各学院于11月30日前上报",
        "off_season_reason": "测试：按当前日期发布",
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


def test_it_offers_only_registered_kinds_in_the_notice_form_and_filters(
    client: Client, school: School
) -> None:
    from bulu.workflow.registry import registered_kinds

    c = as_user(client, school.dave)
    form = c.get(reverse("workflow:window_create")).content.decode()
    todo = c.get(reverse("workflow:todo")).content.decode()
    for kind in Kind:
        shown = f'value="{kind.value}"' in form
        assert shown == (kind.value in registered_kinds())
        assert (f'value="{kind.value}"' in todo) == (kind.value in registered_kinds())


def test_it_takes_a_decision_on_the_shared_page_and_requires_the_version(
    client: Client, school: School, mirror: Mirror, personal_window: Window
) -> None:
    (request,) = submitted(school, mirror, 1)
    url = reverse("workflow:decide", args=[request.pk])
    c = as_user(client, school.bob)
    missing = c.post(url, {"decision": "approve", "opinion": "同意"})
    assert missing.status_code == 400 and "缺少版本号" in missing.content.decode()
    assert "同意" in missing.content.decode()  # what was typed is shown again
    request.refresh_from_db()
    assert request.step_index == 0 and request.log.count() == 1
    done = c.post(url, {"decision": "approve", "opinion": "同意", "version": request.version})
    assert done.status_code == 302
    request.refresh_from_db()
    assert request.step_index == 1


def test_it_answers_a_decision_by_the_wrong_person_with_403_or_404(
    client: Client, school: School, mirror: Mirror, personal_window: Window
) -> None:
    (request,) = submitted(school, mirror, 1)
    url = reverse("workflow:decide", args=[request.pk])
    data = {"decision": "approve", "version": request.version}
    # carol sees the request (it is routed through her branch) but is not at its current step.
    assert as_user(client, school.carol).post(url, data).status_code == 403
    assert as_user(client, school.alice).post(url, data).status_code == 403
    assert as_user(client, school.oscar).post(url, data).status_code == 404
    request.refresh_from_db()
    assert request.step_index == 0 and request.log.count() == 1


def test_it_withdraws_on_the_shared_page_only_for_the_applicant(
    client: Client, school: School, mirror: Mirror, personal_window: Window
) -> None:
    (request,) = submitted(school, mirror, 1)
    url = reverse("workflow:withdraw", args=[request.pk])
    assert as_user(client, school.bob).post(url, {"version": request.version}).status_code == 403
    assert as_user(client, school.oscar).post(url, {"version": request.version}).status_code == 404
    assert as_user(client, school.alice).post(url, {"version": request.version}).status_code == 302
    request.refresh_from_db()
    assert request.state == State.WITHDRAWN


def test_it_offers_new_requests_only_for_open_kinds_the_user_may_apply_for(
    client: Client, school: School
) -> None:
    new_personal = reverse("personal:create")
    assert new_personal not in as_user(client, school.alice).get(reverse("home")).content.decode()
    now = timezone.now()
    Window.objects.create(
        kind=Kind.PERSONAL,
        title="春季补录",
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=1),
    )
    assert new_personal in as_user(client, school.alice).get(reverse("home")).content.decode()
    assert (
        new_personal in as_user(client, school.alice).get(reverse("workflow:mine")).content.decode()
    )
    # A counselor is no student: no personal request to start.
    assert new_personal not in as_user(client, school.bob).get(reverse("home")).content.decode()


def test_it_shows_each_role_only_the_menu_items_it_can_use(client: Client, school: School) -> None:
    passwords = reverse("accounts:initial_passwords")
    overview = reverse("workflow:overview")
    owners = reverse("workflow:owners_missing")
    for person, sees_passwords, sees_overview, sees_owners in (
        (school.bob, True, False, False),
        (school.carol, True, False, False),
        (school.dave, True, True, True),
        (school.erin, False, True, False),
        (school.frank, False, False, False),
        (school.alice, False, False, False),
    ):
        page = as_user(client, person).get(reverse("home")).content.decode()
        assert (passwords in page) == sees_passwords, person
        assert (overview in page) == sees_overview, person
        assert (owners in page) == sees_owners, person
        for url, shown in ((passwords, sees_passwords), (overview, sees_overview)):
            if shown:
                assert as_user(client, person).get(url).status_code == 200, (person, url)


def test_it_lists_organizations_missing_a_step_owner_for_the_center_only(
    client: Client, school: School
) -> None:
    from accounts.services import role_revoke

    role_revoke(user=school.frank, organization=school.club, role="advisor")
    url = reverse("workflow:owners_missing")
    page = as_user(client, school.dave).get(url).content.decode()
    assert "机器人协会" in page and "指导老师" in page
    # Class A2 has no counselor but no students either: nobody can be blocked there.
    assert "机械2402" not in page
    assert "机械2401" not in page  # bob counsels it
    for person in (school.bob, school.carol, school.erin, school.alice):
        assert as_user(client, person).get(url).status_code == 403


def test_it_refuses_an_oversized_request_body_with_a_chinese_page(
    client: Client, school: School, settings: object
) -> None:
    settings.BULU_REQUEST_MAX_BYTES = 1024  # type: ignore[attr-defined]
    c = as_user(client, school.dave)
    response = c.post(
        reverse("imports:roster_upload"), {"blob": "x" * 4096}, content_type="application/json"
    )
    assert response.status_code == 413
    assert "超过了" in response.content.decode()


def test_it_sends_a_content_security_policy_without_inline_script(
    client: Client, school: School
) -> None:
    response = as_user(client, school.alice).get(reverse("home"))
    policy = response["Content-Security-Policy"]
    assert (
        "script-src 'self'" in policy
        and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    )
    assert "<script>" not in response.content.decode()
    assert " onclick=" not in response.content.decode()
