"""Returns the returner points: back to step 1 (the default) or straight back to their own step,
keeping the earlier signatures while nothing they signed for changed (docs/decisions.md,
"Returns"). Through the personal kind: 辅导员 (bob) → 团总支 (carol) → 二课中心 (dave)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Membership
from accounts.services import role_grant
from bulu.exceptions import AccessDenied, ApplicationError
from bulu.workflow.models import ApprovalRecord, Decision, Notification, State
from bulu.workflow.resume import OWN_STEP, RESTART
from bulu.workflow.selectors import request_may_act, todo_for_user
from bulu.workflow.services import request_decide, request_withdraw
from documents.selectors import opinion_boxes
from personal import services
from personal.models import PersonalRequest
from tests.conftest import School, decide
from tests.personal.conftest import Mirror, first_item, item_data


def _submit(school: School, request: PersonalRequest) -> PersonalRequest:
    services.personal_request_submit(request=request, actor=school.alice)
    request.refresh_from_db()
    return request


def _return(request: PersonalRequest, actor: object, resume: str = "") -> PersonalRequest:
    request.refresh_from_db()
    request_decide(
        request=request,
        actor=actor,  # type: ignore[arg-type]
        decision=Decision.RETURN,
        opinion="请补充情况说明",
        expected_version=request.version,
        resume=resume,
    )
    request.refresh_from_db()
    return request


def _returned_by_secretary(
    school: School, draft: PersonalRequest, resume: str = OWN_STEP
) -> PersonalRequest:
    request = _submit(school, draft)
    decide(request, school.bob, opinion="同意（王博）")
    return _return(request, school.carol, resume)


def test_back_to_my_step_keeps_the_counselors_signature_and_says_so(
    school: School, draft: PersonalRequest
) -> None:
    request = _returned_by_secretary(school, draft)
    returned = request.log.get(decision=Decision.RETURN)
    assert returned.context["resume"] == OWN_STEP and returned.context["resume_step"] == 1
    told = Notification.objects.filter(recipient=school.alice, text__contains="被退回修改").get()
    assert "直接回到“学院团总支审核盖章”" in told.text
    Notification.objects.all().delete()

    services.personal_request_update(request=request, actor=school.alice, title="我的补录（补充）")
    request = _submit(school, request)
    assert request.state == State.PENDING
    assert request.current_step is not None and request.current_step.role == "secretary"
    assert (request.step_index, request.start_index, request.submission) == (1, 1, 2)
    # The counselor is not asked again; the secretary is.
    assert not Notification.objects.filter(recipient=school.bob, is_todo=True).exists()
    assert Notification.objects.filter(recipient=school.carol, is_todo=True).exists()
    assert request.pk not in set(todo_for_user(user=school.bob).values_list("pk", flat=True))
    assert request.pk in set(todo_for_user(user=school.carol).values_list("pk", flat=True))
    # The log names the kept step.
    resubmitted = request.log.get(decision=Decision.RESUBMIT)
    kept = resubmitted.context["kept"]
    approval = request.log.get(decision=Decision.APPROVE, actor=school.bob)
    assert [(k["step"], k["record"]) for k in kept] == [(0, approval.pk)]
    assert kept[0]["text"] == "第1步沿用上次签字（辅导员初步审核 · 王博）"
    # The printed form's first box still shows the counselor's signature.
    boxes = opinion_boxes(request=request)
    assert boxes[0].decided and boxes[0].signer == school.bob.get_full_name()
    assert boxes[0].opinion == "同意（王博）"
    assert not boxes[1].decided and not boxes[2].decided

    decide(request, school.carol)
    decide(request, school.dave)
    request.refresh_from_db()
    assert request.state == State.APPROVED
    assert [b.signer for b in opinion_boxes(request=request)] == [
        school.bob.get_full_name(),
        school.carol.get_full_name(),
        school.dave.get_full_name(),
    ]


def test_the_timeline_says_where_it_goes_and_which_signatures_were_kept(
    school: School, draft: PersonalRequest
) -> None:
    request = _returned_by_secretary(school, draft)
    client = Client()
    client.force_login(school.alice)
    page = client.get(reverse("workflow:detail", args=[request.pk])).content.decode()
    assert 'id="resume-destination"' in page and "直接回到“学院团总支审核盖章”" in page
    assert "退回人选择：修改后直接回到“学院团总支审核盖章”" in page
    request = _submit(school, request)
    page = client.get(reverse("workflow:detail", args=[request.pk])).content.decode()
    assert "第1步沿用上次签字（辅导员初步审核 · 王博）" in page


def test_a_changed_item_restarts_the_route_and_says_why(
    school: School, draft: PersonalRequest, mirror: Mirror
) -> None:
    request = _returned_by_secretary(school, draft)
    item = first_item(request)
    services.personal_item_save(
        request=request,
        actor=school.alice,
        item=item,
        data=item_data(
            mirror, content=item.content, start_date=item.start_date, claimed_value=Decimal("3")
        ),
    )
    request = _submit(school, request)
    assert (request.step_index, request.start_index) == (0, 0)
    assert request.current_step is not None and request.current_step.role == "counselor"
    resubmitted = request.log.get(decision=Decision.RESUBMIT)
    assert resubmitted.context["resume"] == RESTART
    assert "申报条目" in resubmitted.context["restart_reason"]
    assert "kept" not in resubmitted.context
    assert not opinion_boxes(request=request)[0].decided
    assert Notification.objects.filter(recipient=school.bob, is_todo=True, done_at=None).exists()
    client = Client()
    client.force_login(school.alice)
    page = client.get(reverse("workflow:detail", args=[request.pk])).content.decode()
    assert "从第一步重新审核：申请人修改了此前环节已签字确认的内容（申报条目）" in page


def test_the_default_restarts_as_before(school: School, draft: PersonalRequest) -> None:
    request = _returned_by_secretary(school, draft, resume="")
    assert request.log.get(decision=Decision.RETURN).context["resume"] == RESTART
    told = Notification.objects.filter(recipient=school.alice, text__contains="被退回修改").get()
    assert "从第一步重新审核" in told.text
    request = _submit(school, request)
    assert (request.step_index, request.start_index) == (0, 0)
    assert request.current_step is not None and request.current_step.role == "counselor"
    assert not request.log.get(decision=Decision.RESUBMIT).context.get("kept")
    assert not opinion_boxes(request=request)[0].decided


def test_only_the_current_steps_decider_chooses(school: School, draft: PersonalRequest) -> None:
    request = _submit(school, draft)
    decide(request, school.bob)
    request.refresh_from_db()
    for outsider in (school.bob, school.oscar, school.dave, school.alice):
        with pytest.raises(AccessDenied):
            _return(request, outsider, OWN_STEP)
    request.refresh_from_db()
    assert request.state == State.PENDING and request.step_index == 1
    assert not request.log.filter(decision=Decision.RETURN).exists()
    with pytest.raises(ApplicationError, match="未知的退回方式"):
        _return(request, school.carol, "skip_everything")
    assert not request.log.filter(decision=Decision.RETURN).exists()


def test_a_return_at_the_first_step_offers_no_choice(
    school: School, draft: PersonalRequest
) -> None:
    request = _submit(school, draft)
    client = Client()
    client.force_login(school.bob)
    url = reverse("workflow:detail", args=[request.pk])
    page = client.get(url).content.decode()
    assert 'id="decide"' in page and 'id="resume-choice"' not in page
    with pytest.raises(ApplicationError, match="第一步退回时"):
        _return(request, school.bob, OWN_STEP)
    assert ApprovalRecord.objects.filter(request=request).count() == 1
    decide(request, school.bob)
    client.force_login(school.carol)
    page = client.get(url).content.decode()
    assert 'id="resume-choice"' in page
    assert "重新从第一步审核" in page and "修改后直接回到我这一步" in page


def test_the_choice_posted_through_the_page(school: School, draft: PersonalRequest) -> None:
    request = _submit(school, draft)
    decide(request, school.bob)
    request.refresh_from_db()
    client = Client()
    client.force_login(school.carol)
    response = client.post(
        reverse("workflow:decide", args=[request.pk]),
        {
            "decision": "return",
            "opinion": "请补充说明",
            "resume": OWN_STEP,
            "version": request.version,
        },
    )
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.state == State.RETURNED
    assert request.log.get(decision=Decision.RETURN).context["resume"] == OWN_STEP
    request = _submit(school, request)
    assert request.step_index == 1


def test_four_eyes_hold_over_kept_signatures(school: School, draft: PersonalRequest) -> None:
    # The counselor also holds the secretary's role: having signed step 1 (kept), they may not
    # sign step 2 of the resubmission.
    role_grant(user=school.bob, organization=school.branch_a, role=Membership.Role.SECRETARY)
    request = _returned_by_secretary(school, draft)
    request = _submit(school, request)
    assert request.step_index == 1
    assert not request_may_act(user=school.bob, request=request)
    assert request.pk not in set(todo_for_user(user=school.bob).values_list("pk", flat=True))
    with pytest.raises(AccessDenied, match="同一人不能审核两个环节"):
        decide(request, school.bob)
    assert request_may_act(user=school.carol, request=request)


def test_the_secretary_may_return_again_and_earlier_kept_steps_stay(
    school: School, draft: PersonalRequest
) -> None:
    request = _returned_by_secretary(school, draft)
    request = _submit(school, request)
    request = _return(request, school.carol, OWN_STEP)
    request = _submit(school, request)
    assert (request.step_index, request.submission) == (1, 3)
    kept = request.log.filter(decision=Decision.RESUBMIT).order_by("pk").last()
    assert kept is not None
    bob_approval = request.log.get(decision=Decision.APPROVE, actor=school.bob)
    assert [k["record"] for k in kept.context["kept"]] == [bob_approval.pk]
    assert opinion_boxes(request=request)[0].signer == school.bob.get_full_name()
    # Before the secretary decides again, the student may still withdraw.
    request_withdraw(request=request, actor=school.alice)
    request.refresh_from_db()
    assert request.state == State.WITHDRAWN


def test_the_applicant_is_told_where_the_resubmission_went(
    school: School, draft: PersonalRequest, mirror: Mirror
) -> None:
    request = _returned_by_secretary(school, draft)
    client = Client()
    client.force_login(school.alice)
    submit = reverse("personal:submit", args=[request.pk])
    response = client.post(submit, {"version": request.version}, follow=True)
    assert "已重新提交，直接回到“学院团总支审核盖章”；此前各环节的签字继续有效。" in (
        response.content.decode()
    )
    request = _return(request, school.carol, OWN_STEP)
    item = first_item(request)
    services.personal_item_save(
        request=request,
        actor=school.alice,
        item=item,
        data=item_data(mirror, content="另一项活动", start_date=item.start_date),
    )
    request.refresh_from_db()
    response = client.post(submit, {"version": request.version}, follow=True)
    page = response.content.decode()
    assert "已重新提交，从“辅导员初步审核”重新审核：申请人修改了此前环节已签字确认的内容" in page
