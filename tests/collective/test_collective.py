"""Collective back-fill: the four attachments, the four-step chain, credits for every row."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Membership, Organization, User
from accounts.services import role_grant, role_revoke
from bulu.exceptions import AccessDenied, ApplicationError
from bulu.workflow.models import ApprovalRecord, Decision, Notification, State
from bulu.workflow.selectors import todo_for_user
from bulu.workflow.services import request_withdraw
from collective import services
from collective.models import CollectiveRequest
from credits.models import CreditRecord
from imports.models import RosterEntry
from tests.collective.conftest import Kit, attach, filled, ready_request, roster_row
from tests.conftest import School, decide, deputy


def _labels(request: CollectiveRequest) -> list[tuple[str, str]]:
    return [(s.role, s.organization.name) for s in request.route_steps.order_by("index")]


def _walk(request: CollectiveRequest, *people: User) -> None:
    for person in people:
        decide(request, person)


# --- what the applicant fills in ---------------------------------------------------------------


def test_it_accepts_only_the_two_cases_of_article_two(school: School, kit: Kit) -> None:
    request = services.collective_request_create(actor=school.gina, unit=school.club)
    with pytest.raises(ApplicationError, match="第二条"):
        services.collective_request_update(
            request=request, actor=school.gina, data=filled(kit, case="forgot_to_sign_in")
        )
    page = Client()
    page.force_login(school.gina)
    form = page.get(reverse("collective:edit", args=[request.pk])).content.decode()
    assert "（一）活动已完结" in form and "（二）活动已在到梦空间发布" in form
    assert "其他原因" in form


def test_case_two_needs_the_explanation(school: School, kit: Kit) -> None:
    request = ready_request(school.gina, school.club, kit)
    services.collective_request_update(
        request=request,
        actor=school.gina,
        data=filled(kit, case=CollectiveRequest.Case.UNFINISHED),
    )
    with pytest.raises(ApplicationError, match="情况说明：原因分析"):
        services.collective_request_submit(
            request=request, actor=school.gina, expected_version=request.version
        )
    services.collective_request_update(
        request=request,
        actor=school.gina,
        data=filled(
            kit,
            case=CollectiveRequest.Case.UNFINISHED,
            cause="发布者未点击完结",
            correct_procedure="活动结束三日内完结",
            prevention="专人负责",
            summary="活动顺利",
        ),
    )
    services.collective_request_submit(request=request, actor=school.gina)
    assert request.state == State.PENDING


def test_it_shows_a_declared_total_that_disagrees_with_the_roster_before_submission(
    school: School, kit: Kit
) -> None:
    request = ready_request(school.gina, school.club, kit)
    services.collective_request_update(
        request=request,
        actor=school.gina,
        data=filled(kit, n=len(kit.students) + 2),  # 12 declared, 10 on the roster
    )
    messages = [c.message for c in services.collective_checks(request) if c.blocking]
    assert any("参与人数为 12 人，人员名单中有 10 人" in m for m in messages)
    assert any("共计分值为 6.00" in m and "合计为 5.00" in m for m in messages)
    with pytest.raises(ApplicationError, match="人员名单中有 10 人"):
        services.collective_request_submit(request=request, actor=school.gina)
    assert CollectiveRequest.objects.get(pk=request.pk).state == State.DRAFT
    client = Client()
    client.force_login(school.gina)
    page = client.get(reverse("collective:edit", args=[request.pk])).content.decode()
    assert "人员名单中有 10 人" in page  # shown on the form, before anyone approves


def test_per_person_points_must_fit_the_standard(school: School, kit: Kit) -> None:
    request = ready_request(school.gina, school.club, kit)
    services.collective_request_update(
        request=request,
        actor=school.gina,
        data=filled(kit, points_per_person=Decimal("3"), declared_total=Decimal("30")),
    )
    assert any("超过认定标准" in c.message for c in services.collective_checks(request))


def test_a_roster_with_errors_blocks_submission(school: School, kit: Kit) -> None:
    request = ready_request(school.gina, school.club, kit)
    rows = [roster_row(u, kit) for u in kit.students]
    rows[3] = roster_row(kit.students[3], kit, name="不是这个人")
    attach(request, school.gina, rows)
    assert request.roster is not None and request.roster.error_count == 1
    with pytest.raises(ApplicationError, match="人员名单有 1 处错误"):
        services.collective_request_submit(request=request, actor=school.gina)
    assert not RosterEntry.objects.filter(upload=request.roster).exists()


def test_a_returned_request_takes_a_new_roster_and_the_log_says_which_one_was_seen(
    school: School, kit: Kit
) -> None:
    request = ready_request(school.gina, school.club, kit, students=kit.students[:8])
    services.collective_request_submit(request=request, actor=school.gina)
    decide(request, school.frank, Decision.RETURN, "名单少了两位同学")
    attach(request, school.gina, [roster_row(u, kit) for u in kit.students])
    services.collective_request_update(request=request, actor=school.gina, data=filled(kit))
    assert request.roster_version == 2
    services.collective_request_submit(request=request, actor=school.gina)
    decide(request, school.frank)
    seen = [
        (r.decision, r.context.get("roster_version"))
        for r in ApprovalRecord.objects.filter(request=request).order_by("pk")
    ]
    assert seen == [
        ("submit", 1),
        ("return", 1),
        ("resubmit", 2),
        ("approve", 2),
    ]
    assert RosterEntry.objects.filter(upload=request.roster).count() == 10


def test_a_roster_cannot_change_while_pending(school: School, kit: Kit) -> None:
    request = ready_request(school.gina, school.club, kit)
    services.collective_request_submit(request=request, actor=school.gina)
    with pytest.raises(ApplicationError, match="不能修改"):
        attach(request, school.gina, [roster_row(u, kit) for u in kit.students[:2]])
    assert request.roster_version == 1


# --- the chain ---------------------------------------------------------------------------------


def test_a_college_club_goes_advisor_branch_center_committee(school: School, kit: Kit) -> None:
    request = ready_request(school.gina, school.club, kit)
    services.collective_request_submit(request=request, actor=school.gina)
    assert _labels(request) == [
        ("advisor", "机器人协会"),
        ("secretary", "智能制造学院团总支"),
        ("center", "第二课堂指导与服务中心"),
        ("committee", "校团委"),
    ]
    _walk(request, school.frank, school.carol, school.dave, school.erin)
    assert request.state == State.APPROVED


def test_a_school_level_club_has_no_branch_step(school: School, kit: Kit) -> None:
    club = Organization.objects.create(kind=Organization.Kind.CLUB, name="校围棋社", parent=None)
    advisor = User.objects.create(username="T1234", name="围棋老师")
    role_grant(user=advisor, organization=club, role=Membership.Role.ADVISOR)
    role_grant(user=school.gina, organization=club, role=Membership.Role.APPLICANT)
    request = ready_request(school.gina, club, kit)
    services.collective_request_submit(request=request, actor=school.gina)
    assert [role for role, _org in _labels(request)] == ["advisor", "center", "committee"]


def test_a_branch_activity_filed_by_its_only_secretary_is_refused_naming_whom_to_ask(
    school: School, kit: Kit
) -> None:
    request = ready_request(school.carol, school.branch_a, kit)
    with pytest.raises(
        ApplicationError, match="请联系二课中心为智能制造学院团总支增设一名团总支书记"
    ):
        services.collective_request_submit(request=request, actor=school.carol)
    request.refresh_from_db()
    assert request.state == State.DRAFT and not request.log.exists()


def test_a_branch_activity_filed_by_its_secretary_goes_to_the_other_secretary(
    school: School, kit: Kit
) -> None:
    second = deputy(school.branch_a, Membership.Role.SECRETARY, "T1012", "副书记")
    request = ready_request(school.carol, school.branch_a, kit)
    services.collective_request_submit(request=request, actor=school.carol)
    assert [role for role, _org in _labels(request)] == ["secretary", "center", "committee"]
    # The filing signs nothing: the secretary step waits for the other secretary.
    assert request.current_step is not None and request.current_step.role == "secretary"
    submitted = request.log.get(decision=Decision.SUBMIT)
    assert submitted.step_role == "" and not submitted.context.get("signed_at_filing")
    with pytest.raises(AccessDenied):
        decide(request, school.carol)
    _walk(request, second, school.dave, school.erin)
    assert request.state == State.APPROVED
    assert not request.log.filter(actor=school.carol, decision=Decision.APPROVE).exists()


def test_an_advisor_on_the_roster_signs_no_step_of_it(
    client: Client, school: School, kit: Kit
) -> None:
    """A student who also holds the club's advisor role is on the roster of its activity."""
    listed = kit.students[2]
    role_grant(user=listed, organization=school.club, role=Membership.Role.ADVISOR)
    role_revoke(user=school.frank, organization=school.club, role=Membership.Role.ADVISOR)
    request = ready_request(school.gina, school.club, kit)
    with pytest.raises(ApplicationError, match="名单中的人员"):
        services.collective_request_submit(request=request, actor=school.gina)
    role_grant(user=school.frank, organization=school.club, role=Membership.Role.ADVISOR)
    services.collective_request_submit(request=request, actor=school.gina)
    assert request.current_step is not None and request.current_step.role == "advisor"
    assert request.pk not in set(todo_for_user(user=listed).values_list("pk", flat=True))
    assert request.pk in set(todo_for_user(user=school.frank).values_list("pk", flat=True))
    # The arrival 待办 went to the other advisor only.
    assert not Notification.objects.filter(recipient=listed, request=request).exists()
    with pytest.raises(AccessDenied, match="名单中"):
        decide(request, listed)
    client.force_login(listed)
    assert request.title not in client.get(reverse("workflow:todo")).content.decode()
    _walk(request, school.frank, school.carol, school.dave, school.erin)
    assert request.state == State.APPROVED


def test_an_applicant_student_files_for_a_branch_and_the_secretary_signs(
    school: School, kit: Kit
) -> None:
    role_grant(user=school.gina, organization=school.branch_a, role=Membership.Role.APPLICANT)
    request = ready_request(school.gina, school.branch_a, kit)
    services.collective_request_submit(request=request, actor=school.gina)
    assert request.current_step is not None and request.current_step.role == "secretary"
    _walk(request, school.carol, school.dave, school.erin)
    assert request.state == State.APPROVED


def test_a_refusal_needs_its_reason_at_every_step(school: School, kit: Kit) -> None:
    request = ready_request(school.gina, school.club, kit)
    services.collective_request_submit(request=request, actor=school.gina)
    _walk(request, school.frank, school.carol)
    with pytest.raises(ApplicationError, match="说明原因"):
        decide(request, school.dave, Decision.REJECT, "")
    decide(request, school.dave, Decision.REJECT, "该活动已在到梦空间完结")
    assert request.state == State.REJECTED
    assert "该活动已在到梦空间完结" in request.log.last().opinion  # type: ignore[union-attr]


# --- credits -------------------------------------------------------------------------------------


def test_final_approval_creates_one_credit_per_roster_row_exactly_once(
    school: School, kit: Kit
) -> None:
    request = ready_request(school.gina, school.club, kit)
    services.collective_request_submit(request=request, actor=school.gina)
    _walk(request, school.frank, school.carol, school.dave, school.erin)
    records = CreditRecord.objects.filter(request=request)
    assert records.count() == len(kit.students)
    assert sorted(records.values_list("student_no", flat=True)) == sorted(
        u.username for u in kit.students
    )
    assert {r.value for r in records} == {Decimal("0.50")}
    services.collective_on_approved(request)  # a retried approval
    assert CreditRecord.objects.filter(request=request).count() == len(kit.students)
    # The statistics counted the roster's credits once, retry included, as a recount would.
    from stats.tallies import credit_counts_from_records
    from tests.stats.test_numbers import tallies_now

    credits, _waits = tallies_now()
    assert credits == credit_counts_from_records()
    key = ("school", 0, kit.standard.subcategory.category.name, kit.standard.credit_type.name)
    assert credits[key] == (len(kit.students), Decimal("0.50") * len(kit.students))


def test_double_claims_are_flagged_on_both_sides_and_the_center_may_leave_them_out(
    school: School, kit: Kit
) -> None:
    deputy(school.branch_a, Membership.Role.SECRETARY, "T1012", "副书记")
    first = ready_request(school.gina, school.club, kit)
    services.collective_request_submit(request=first, actor=school.gina)
    # The same students, activity and date in a second request of another unit.
    second = ready_request(school.carol, school.branch_a, kit, students=kit.students[:3])
    flagged = RosterEntry.objects.filter(upload=second.roster, has_flags=True)
    assert flagged.count() == 3
    assert all(e.flags[0]["request"] == first.pk for e in flagged)
    services.collective_request_submit(request=second, actor=school.carol)
    mirrored = RosterEntry.objects.filter(upload=first.roster, has_flags=True)
    assert mirrored.count() == 3 and all(e.flags[0]["request"] == second.pk for e in mirrored)
    # The first is approved; the center leaves one flagged row of the first out, with a reason.
    _walk(first, school.frank, school.carol)
    row = mirrored.order_by("excel_row").first()
    assert row is not None
    with pytest.raises(ApplicationError, match="写明原因"):
        decide(first, school.dave, payload={row.pk: ""})
    # Two possible duplicates stay in: the center's approval must say they were checked.
    with pytest.raises(ApplicationError, match="已核实不重复"):
        decide(first, school.dave, payload={row.pk: f"与 #{second.pk} 重复"})
    decide(
        first,
        school.dave,
        payload={row.pk: f"与 #{second.pk} 重复"},
        confirmations=frozenset({"duplicates_checked"}),
    )
    decide(first, school.erin)
    assert CreditRecord.objects.filter(request=first).count() == len(kit.students) - 1
    assert not CreditRecord.objects.filter(request=first, student_no=row.student_no).exists()
    # A third request for credits now granted: flagged as already credited.
    withdrawn = second
    request_withdraw(request=withdrawn, actor=school.carol, expected_version=withdrawn.version)
    third = ready_request(school.carol, school.branch_a, kit, students=kit.students[4:6])
    codes = {f["code"] for e in RosterEntry.objects.filter(upload=third.roster) for f in e.flags}
    assert codes == {"already_credited"}


# --- who sees what -----------------------------------------------------------------------------


def test_advisors_and_applicants_see_only_their_own_units_requests(
    client: Client, school: School, kit: Kit
) -> None:
    request = ready_request(school.gina, school.club, kit)
    services.collective_request_submit(request=request, actor=school.gina)
    other_club = Organization.objects.create(
        kind=Organization.Kind.CLUB, name="汽车文化社", parent=school.college_b
    )
    other_advisor = User.objects.create(username="T8888", name="别社老师")
    other_applicant = User.objects.create(username="2024880001", name="别社干部")
    role_grant(user=other_advisor, organization=other_club, role=Membership.Role.ADVISOR)
    role_grant(user=other_applicant, organization=other_club, role=Membership.Role.APPLICANT)
    url = reverse("workflow:detail", args=[request.pk])
    for outsider in (other_advisor, other_applicant, school.oscar):
        client.force_login(outsider)
        assert client.get(url).status_code == 404
        assert client.get(reverse("collective:edit", args=[request.pk])).status_code == 404
    for insider in (school.gina, school.frank, school.carol, school.dave, school.erin):
        client.force_login(insider)
        assert client.get(url).status_code == 200, insider


def test_only_the_units_people_may_file_for_it(school: School, kit: Kit) -> None:
    for outsider in (school.alice, school.bob, school.oscar):
        with pytest.raises(AccessDenied):
            services.collective_request_create(actor=outsider, unit=school.club)
    assert services.collective_units_for(user=school.frank).get() == school.club


def test_reviewers_page_and_filter_the_roster_on_the_request_page(
    client: Client, school: School, kit: Kit
) -> None:
    deputy(school.branch_a, Membership.Role.SECRETARY, "T1012", "副书记")
    first = ready_request(school.gina, school.club, kit)
    services.collective_request_submit(request=first, actor=school.gina)
    second = ready_request(school.carol, school.branch_a, kit, students=kit.students[:2])
    services.collective_request_submit(request=second, actor=school.carol)
    client.force_login(school.frank)
    url = reverse("workflow:detail", args=[first.pk])
    page = client.get(url).content.decode()
    assert "四川工业科技学院机器人协会申请关于“2025年机器人协会科技文化节”活动的积分补录" in page
    assert "文体活动类别第 3 项" in page and "申请每人 0.5 分，10 人参与活动，共计 5 分" in page
    assert page.count('<tr class="flagged">') == 2
    only = client.get(url, {"flagged": "1"}).content.decode()
    assert only.count("<tr") - 1 == 2  # the header row and the two flagged rows
    found = client.get(url, {"q": kit.students[5].username}).content.decode()
    assert kit.students[5].name in found and kit.students[6].name not in found
    assert "文体活动学分" in page and "5.00" in page  # totals per credit type


def test_the_edit_pages_answer_the_wrong_person(client: Client, school: School, kit: Kit) -> None:
    request = ready_request(school.gina, school.club, kit)
    edit = reverse("collective:edit", args=[request.pk])
    client.force_login(school.frank)
    assert client.get(edit).status_code == 404  # a draft is its author's
    services.collective_request_submit(request=request, actor=school.gina)
    decide(request, school.frank, Decision.RETURN, "补充签到表")
    assert client.get(edit).status_code == 403
    assert (
        client.post(reverse("collective:submit", args=[request.pk]), {"version": 1}).status_code
        == 403
    )
    client.force_login(school.oscar)
    assert client.get(edit).status_code == 404
    assert client.get(reverse("collective:roster_status", args=[request.pk])).status_code == 404
    client.force_login(school.alice)
    assert client.get(reverse("collective:create")).status_code == 403
