"""Cadre back-fill: self-reports, the October–November window, lists, double reports (the
school-year rule: test_school_year.py)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from io import BytesIO

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from accounts.models import Membership, Organization, User
from accounts.services import role_grant, role_revoke
from bulu.exceptions import AccessDenied, ApplicationError
from bulu.workflow.models import Decision, Notification, State
from bulu.workflow.selectors import request_may_act, todo_for_user
from cadre import services
from cadre.lists import ListError
from cadre.models import CadreEntry, CadreRequest
from credits.models import CreditRecord
from tests.cadre.conftest import TERM, Cadre, list_xlsx, served
from tests.conftest import School, decide, deputy
from tests.personal.conftest import PNG

TODAY = date(2026, 11, 15)


# --- self-report ----------------------------------------------------------------------------------


def test_a_student_reports_a_year_as_club_head_with_evidence(school: School, cadre: Cadre) -> None:
    report = services.cadre_self_report_save(
        student=school.alice,
        data=services.ServiceData(school.club.pk, cadre.club_head.pk, *TERM),
        uploads=[("聘书.png", BytesIO(PNG))],
    )
    assert report.mode == CadreRequest.Mode.SELF and report.applicant_org == school.club
    assert report.evidence.get().content_type == "image/png"
    services.cadre_request_submit(request=report, actor=school.alice)
    assert [s.role for s in report.route_steps.order_by("index")] == [
        "advisor",
        "secretary",
        "center",
    ]


def test_a_short_term_is_refused_with_the_dates_missing(school: School, cadre: Cadre) -> None:
    with pytest.raises(
        ApplicationError, match="任职未覆盖2024-2025学年：缺少 2025-06-01 至 2025-06-30"
    ):
        services.cadre_self_report_save(
            student=school.alice,
            data=services.ServiceData(
                school.club.pk, cadre.club_head.pk, date(2024, 9, 1), date(2025, 5, 31)
            ),
        )
    assert not CadreRequest.objects.exists()


def test_the_same_report_twice_is_refused(school: School, cadre: Cadre) -> None:
    data = services.ServiceData(school.club.pk, cadre.club_head.pk, *TERM)
    services.cadre_self_report_save(student=school.alice, data=data)
    with pytest.raises(ApplicationError, match="不能重复上报"):
        services.cadre_self_report_save(student=school.alice, data=data)
    assert CadreRequest.objects.count() == 1


def test_a_position_must_belong_to_the_units_kind(school: School, cadre: Cadre) -> None:
    with pytest.raises(ApplicationError, match="没有这个职务"):
        services.cadre_self_report_save(
            student=school.alice,
            data=services.ServiceData(school.club.pk, cadre.monitor.pk, *TERM),
        )


# --- the window -----------------------------------------------------------------------------------


def test_submission_only_while_the_cadre_window_is_open(school: School, cadre: Cadre) -> None:
    window = cadre.window
    report = services.cadre_self_report_save(
        student=school.alice, data=services.ServiceData(school.club.pk, cadre.club_head.pk, *TERM)
    )
    with (
        time_machine.travel(window.opens_at - timedelta(hours=1), tick=False),
        pytest.raises(ApplicationError, match="尚未开放"),
    ):
        services.cadre_request_submit(request=report, actor=school.alice)
    with (
        time_machine.travel(window.closes_at + timedelta(minutes=1), tick=False),
        pytest.raises(ApplicationError, match=r"已截止.*不再补录"),
    ):
        services.cadre_request_submit(request=report, actor=school.alice)
    services.cadre_request_submit(request=report, actor=school.alice)
    decide(report, school.frank, Decision.RETURN, "请附聘书")
    # Returned within the window: resubmitted; after the close (no grace): nothing more.
    with (
        time_machine.travel(window.closes_at + timedelta(minutes=1), tick=False),
        pytest.raises(ApplicationError, match="不能再重新提交"),
    ):
        services.cadre_request_submit(request=report, actor=school.alice)
    services.cadre_request_submit(request=report, actor=school.alice)
    assert report.state == State.PENDING


# --- unit lists -------------------------------------------------------------------------


def test_a_counselor_submits_the_class_committee_from_xlsx(school: School, cadre: Cadre) -> None:
    class_list = services.cadre_list_create(actor=school.bob, unit=school.class_a1)
    rows = [
        [u.username, u.name, title, datetime(2024, 9, 1), "2025/9/1"]
        for u, title in zip(cadre.classmates[:3], ["班长", "团支书", "学习委员"], strict=True)
    ]
    assert (
        services.cadre_list_upload(request=class_list, actor=school.bob, fileobj=list_xlsx(rows))
        == 3
    )
    second = deputy(school.class_a1, Membership.Role.COUNSELOR, "T1011", "副辅导员")
    services.cadre_request_submit(request=class_list, actor=school.bob)
    # The counselor's filing signs nothing: the class's other counselor confirms the service.
    assert class_list.current_step is not None and class_list.current_step.role == "counselor"
    assert not request_may_act(user=school.bob, request=class_list)
    decide(class_list, second)
    decide(class_list, school.carol)
    decide(class_list, school.dave)
    records = CreditRecord.objects.filter(request=class_list).order_by("student_no")
    assert records.count() == 3
    first = records.first()
    assert first is not None
    assert first.content == "2024-2025学年担任机械2401班长"
    # The term within the school year reported for (2024-09-01 to the year's end).
    assert (first.start_date, first.end_date) == (TERM[0], date(2025, 7, 15))
    assert (first.category, first.credit_type, str(first.value)) == (
        "工作履历",
        "工作成长积分",
        "1.00",
    )
    services.cadre_on_approved(class_list)
    assert CreditRecord.objects.filter(request=class_list).count() == 3


def test_a_faulty_list_is_refused_whole_with_row_and_column(school: School, cadre: Cadre) -> None:
    class_list = services.cadre_list_create(actor=school.bob, unit=school.class_a1)
    a, b, c = cadre.classmates[:3]
    rows: list[list[object]] = [
        [a.username, a.name, "班长", "2024/9/1", "2025/9/1"],
        [b.username, "张冠李戴", "团支书", "2024/9/1", "2025/9/1"],
        [c.username, c.name, "首席执行官", "2024/9/1", "2025/9/1"],
        [school.olivia.username, school.olivia.name, "学习委员", "2024/9/1", "2025/9/1"],
        ["123", "某某", "班长", "2024/9/1", "2025/9/1"],
        [a.username, a.name, "文体委员", "2024/9/1", "2025/5/1"],
        [a.username, a.name, "班长", "2024/9/1", "明年"],
    ]
    with pytest.raises(ListError) as caught:
        services.cadre_list_upload(request=class_list, actor=school.bob, fileobj=list_xlsx(rows))
    found = {(p.row, p.column) for p in caught.value.problems}
    assert found >= {
        (3, "姓名"),
        (4, "职务"),
        (5, "学号"),  # not of this class
        (6, "学号"),  # not a 学号
        (7, "任职结束"),  # two months short of the teaching weeks' end
        (8, "任职结束"),  # not a date
    }
    messages = " ".join(str(p) for p in caught.value.problems)
    assert "第 7 行" in messages and "缺少 2025-05-02 至 2025-06-30" in messages
    assert "不是“机械2401”的学生" in messages
    assert not CadreEntry.objects.filter(request=class_list).exists()


def test_a_list_is_typed_on_the_page(client: Client, school: School, cadre: Cadre) -> None:
    role_grant(user=school.gina, organization=school.club, role=Membership.Role.APPLICANT)
    club_list = services.cadre_list_create(actor=school.gina, unit=school.club)
    a, b = cadre.classmates[:2]
    client.force_login(school.gina)
    url = reverse("cadre:list_edit", args=[club_list.pk])
    bad = client.post(
        url,
        {
            "rows": "2",
            "no-1": a.username,
            "name-1": a.name,
            "position-1": "社长",
            "start-1": "2024-09-01",
            "end-1": "2025-09-01",
            "no-2": b.username,
            "name-2": b.name,
            "position-2": "干事",
            "start-2": "2024-09-01",
            "end-2": "2025-03-01",
        },
    )
    assert bad.status_code == 400 and "第 2 行" in bad.content.decode()
    assert 'value="2025-03-01"' in bad.content.decode()  # kept as typed
    assert not club_list.entries.exists()
    good = client.post(
        url,
        {
            "rows": "1",
            "no-1": a.username,
            "name-1": a.name,
            "position-1": "社长",
            "start-1": "2024-09-01",
            "end-1": "2025-09-01",
        },
    )
    assert good.status_code == 302 and club_list.entries.get().position == cadre.club_head


def test_a_service_in_a_self_report_and_a_list_is_flagged_and_credited_once(
    school: School, cadre: Cadre
) -> None:
    member = cadre.classmates[1]
    report = services.cadre_self_report_save(
        student=member, data=services.ServiceData(school.club.pk, cadre.club_member.pk, *TERM)
    )
    services.cadre_request_submit(request=report, actor=member)
    club_list = services.cadre_list_create(actor=school.frank, unit=school.club)
    services.cadre_list_replace(
        request=club_list,
        actor=school.frank,
        rows=[
            served(member, "干事", row=2),
            served(cadre.classmates[2], "社长", row=3),
        ],
    )
    second = deputy(school.club, Membership.Role.ADVISOR, "T1013", "副指导老师")
    services.cadre_request_submit(request=club_list, actor=school.frank)
    flagged = CadreEntry.objects.get(request=club_list, student=member)
    assert flagged.has_flags and flagged.flags[0]["request"] == report.pk
    mirrored = CadreEntry.objects.get(request=report)
    assert mirrored.has_flags and mirrored.flags[0]["request"] == club_list.pk
    # The advisor filed the list: the club's other advisor confirms, then branch and center.
    # Each is a possible duplicate of the other (第五条): the center confirms it checked.
    checked = frozenset({"duplicates_checked"})
    decide(club_list, second)
    decide(club_list, school.carol)
    decide(club_list, school.dave, confirmations=checked)
    decide(report, school.frank)
    decide(report, school.carol)
    decide(report, school.dave, confirmations=checked)
    assert CreditRecord.objects.filter(student_no=member.username).count() == 1
    assert CreditRecord.objects.filter(request=report).count() == 0


def test_a_class_list_goes_counselor_branch_center_when_filed_by_a_student(
    school: School, cadre: Cadre
) -> None:
    monitor = cadre.classmates[3]
    role_grant(user=monitor, organization=school.club, role=Membership.Role.APPLICANT)
    club_list = services.cadre_list_create(actor=monitor, unit=school.club)
    services.cadre_list_replace(
        request=club_list,
        actor=monitor,
        rows=[served(monitor, "社长", row=2)],
    )
    services.cadre_request_submit(request=club_list, actor=monitor)
    assert [s.role for s in club_list.route_steps.order_by("index")] == [
        "advisor",
        "secretary",
        "center",
    ]
    assert club_list.current_step is not None and club_list.current_step.role == "advisor"


def test_a_school_level_organizations_list_has_no_branch_step(school: School, cadre: Cadre) -> None:
    union = Organization.objects.create(kind=Organization.Kind.STUDENT_ORG, name="校学生会")
    advisor = User.objects.create(username="T6666", name="团委老师")
    role_grant(user=advisor, organization=union, role=Membership.Role.ADVISOR)
    org_list = services.cadre_list_create(actor=advisor, unit=union)
    services.cadre_list_replace(
        request=org_list,
        actor=advisor,
        rows=[served(school.alice, "部长", row=2)],
    )
    deputy(union, Membership.Role.ADVISOR, "T6667", "团委副老师")
    services.cadre_request_submit(request=org_list, actor=advisor)
    assert [s.role for s in org_list.route_steps.order_by("index")] == ["advisor", "center"]
    assert org_list.current_step is not None and org_list.current_step.role == "advisor"


# --- who sees what ------------------------------------------------------------------------------


def test_counselors_see_only_their_classes_lists_and_advisors_only_their_units(
    client: Client, school: School, cadre: Cadre
) -> None:
    class_list = services.cadre_list_create(actor=school.bob, unit=school.class_a1)
    services.cadre_list_replace(
        request=class_list,
        actor=school.bob,
        rows=[served(school.alice, "班长", row=2)],
    )
    deputy(school.class_a1, Membership.Role.COUNSELOR, "T1011", "副辅导员")
    services.cadre_request_submit(request=class_list, actor=school.bob)
    url = reverse("workflow:detail", args=[class_list.pk])
    for outsider in (school.oscar, school.frank, school.gina, school.olivia):
        client.force_login(outsider)
        assert client.get(url).status_code == 404, outsider
    for insider in (school.bob, school.carol, school.dave):
        client.force_login(insider)
        assert client.get(url).status_code == 200, insider
    with pytest.raises(AccessDenied):
        services.cadre_list_create(actor=school.oscar, unit=school.class_a1)
    with pytest.raises(AccessDenied):
        services.cadre_list_create(actor=school.frank, unit=school.class_a1)
    # The student named in the list sees her entry and its state on 我的申请.
    client.force_login(school.alice)
    mine = client.get(reverse("workflow:mine")).content.decode()
    assert "我的学生干部任职" in mine and "班长" in mine and "审核中" in mine


def test_the_cadre_pages_answer_the_wrong_person(
    client: Client, school: School, cadre: Cadre
) -> None:
    report = services.cadre_self_report_save(
        student=school.alice, data=services.ServiceData(school.club.pk, cadre.club_head.pk, *TERM)
    )
    client.force_login(school.olivia)
    assert client.get(reverse("cadre:self_edit", args=[report.pk])).status_code == 404
    assert client.post(reverse("cadre:submit", args=[report.pk]), {"version": 0}).status_code == 404
    client.force_login(school.bob)
    assert client.get(reverse("cadre:self_new")).status_code == 403  # not a student
    client.force_login(school.erin)
    assert client.get(reverse("cadre:start")).status_code == 403
    assert client.get(reverse("cadre:unsubmitted")).status_code == 403
    client.force_login(school.alice)
    assert client.get(reverse("cadre:self_edit", args=[report.pk])).status_code == 200


def test_the_center_sees_missing_units_per_college_and_reminds_them(
    client: Client, school: School, cadre: Cadre
) -> None:
    class_list = services.cadre_list_create(actor=school.bob, unit=school.class_a1)
    services.cadre_list_replace(
        request=class_list,
        actor=school.bob,
        rows=[served(school.alice, "班长", row=2)],
    )
    deputy(school.class_a1, Membership.Role.COUNSELOR, "T1011", "副辅导员")
    services.cadre_request_submit(request=class_list, actor=school.bob)
    client.force_login(school.dave)
    page = client.get(reverse("cadre:unsubmitted")).content.decode()
    assert "汽修2401" in page and "机器人协会" in page
    assert "机械2401" not in page.split('id="missing"')[1]  # handed in
    response = client.post(
        reverse("cadre:unsubmitted"),
        {"window": cadre.window.pk, "unit": [school.club.pk, school.class_b1.pk]},
    )
    assert response.status_code == 302
    assert (
        Notification.objects.filter(recipient=school.frank, text__contains="机器人协会").count()
        == 1
    )
    assert (
        Notification.objects.filter(recipient=school.oscar, text__contains="汽修2401").count() == 1
    )
    client.post(reverse("cadre:unsubmitted"), {"window": cadre.window.pk, "unit": [school.club.pk]})
    assert (
        Notification.objects.filter(recipient=school.frank, text__contains="机器人协会").count()
        == 1
    )


# --- nobody signs a step of a request they are in (issue 18.2) ---------------------------------


def test_a_self_report_by_the_clubs_own_advisor_is_refused_naming_whom_to_ask(
    school: School, cadre: Cadre
) -> None:
    """2023010102 is a club member and also holds the club's advisor role."""
    member = cadre.classmates[1]
    role_grant(user=member, organization=school.club, role=Membership.Role.ADVISOR)
    role_grant(user=member, organization=school.club, role=Membership.Role.APPLICANT)
    role_revoke(user=school.frank, organization=school.club, role=Membership.Role.ADVISOR)
    report = services.cadre_self_report_save(
        student=member, data=services.ServiceData(school.club.pk, cadre.club_member.pk, *TERM)
    )
    with pytest.raises(ApplicationError, match="请联系二课中心为机器人协会增设一名指导老师"):
        services.cadre_request_submit(request=report, actor=member)
    report.refresh_from_db()
    assert report.state == State.DRAFT and not report.log.exists()


def test_a_self_report_by_an_advisor_goes_to_the_other_advisor(
    client: Client, school: School, cadre: Cadre
) -> None:
    member = cadre.classmates[1]
    role_grant(user=member, organization=school.club, role=Membership.Role.ADVISOR)
    report = services.cadre_self_report_save(
        student=member, data=services.ServiceData(school.club.pk, cadre.club_member.pk, *TERM)
    )
    services.cadre_request_submit(request=report, actor=member)
    # Not signed at filing: the advisor step waits, and only the other advisor sees it.
    assert report.current_step is not None and report.current_step.role == "advisor"
    submitted = report.log.get(decision=Decision.SUBMIT)
    assert submitted.step_role == "" and not submitted.context.get("signed_at_filing")
    assert report.pk not in set(todo_for_user(user=member).values_list("pk", flat=True))
    assert report.pk in set(todo_for_user(user=school.frank).values_list("pk", flat=True))
    with pytest.raises(AccessDenied):
        decide(report, member)
    decide(report, school.frank)
    assert report.current_step is not None and report.current_step.role == "secretary"


def test_a_listed_advisor_may_not_sign_a_list_filed_by_the_applicant(
    client: Client, school: School, cadre: Cadre
) -> None:
    """The applicant files; the only advisor is on the list: refused, not skipped."""
    listed = cadre.classmates[2]
    role_revoke(user=school.frank, organization=school.club, role=Membership.Role.ADVISOR)
    role_grant(user=listed, organization=school.club, role=Membership.Role.ADVISOR)
    club_list = services.cadre_list_create(actor=school.gina, unit=school.club)
    services.cadre_list_replace(
        request=club_list, actor=school.gina, rows=[served(listed, "社长", row=2)]
    )
    with pytest.raises(ApplicationError, match="名单中的人员"):
        services.cadre_request_submit(request=club_list, actor=school.gina)
    # With a second advisor it goes to them; the listed one neither sees nor decides it.
    role_grant(user=school.frank, organization=school.club, role=Membership.Role.ADVISOR)
    services.cadre_request_submit(request=club_list, actor=school.gina)
    assert club_list.pk not in set(todo_for_user(user=listed).values_list("pk", flat=True))
    assert not request_may_act(user=listed, request=club_list)
    with pytest.raises(AccessDenied, match="名单中"):
        decide(club_list, listed)
    client.force_login(listed)
    page = client.get(reverse("workflow:todo")).content.decode()
    assert club_list.title not in page
    response = client.post(
        reverse("workflow:decide", args=[club_list.pk]),
        {"decision": "approve", "opinion": "同意", "version": club_list.version},
    )
    assert response.status_code == 403
    club_list.refresh_from_db()
    assert club_list.current_step is not None and club_list.current_step.role == "advisor"
