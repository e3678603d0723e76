"""The workflow services through the personal kind: routing, decisions, log, notifications."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.models import User
from bulu.exceptions import AccessDenied, ApplicationError
from bulu.workflow.models import ApprovalRecord, Decision, ImmutableError, Notification, State
from bulu.workflow.services import request_decide, request_withdraw, requests_decide_bulk
from credits.models import CreditRecord
from personal import services
from personal.models import PersonalRequest
from tests.conftest import School, decide


def _submit(school: School, draft: PersonalRequest) -> PersonalRequest:
    return services.personal_request_submit(request=draft, actor=school.alice)


def _approve(request: PersonalRequest, actor: User, opinion: str = "同意") -> PersonalRequest:
    return decide(request, actor, Decision.APPROVE, opinion)


def test_it_routes_counselor_then_branch_then_center(
    school: School, draft: PersonalRequest
) -> None:
    request = _submit(school, draft)
    steps = [(s.role, s.organization) for s in request.route_steps.order_by("index")]
    assert steps == [
        ("counselor", school.class_a1),
        ("secretary", school.branch_a),
        ("center", school.center),
    ]
    assert request.state == State.PENDING
    assert request.current_step is not None and request.current_step.index == 0


def test_it_refuses_submission_when_a_step_has_no_owner_and_tells_the_center_once(
    school: School, draft: PersonalRequest
) -> None:
    from accounts.services import role_revoke

    role_revoke(user=school.bob, organization=school.class_a1, role="counselor")
    for _attempt in range(2):
        with pytest.raises(ApplicationError, match=r"机械2401.*尚未设置辅导员.*请联系学院团总支"):
            _submit(school, draft)
    draft.refresh_from_db()
    assert draft.state == State.DRAFT and not draft.route_steps.exists()
    told = Notification.objects.filter(recipient=school.dave, text__contains="机械2401")
    assert told.count() == 1


def test_it_walks_the_route_and_creates_credit_records_once(
    school: School, draft: PersonalRequest
) -> None:
    request = _submit(school, draft)
    _approve(request, school.bob)
    assert request.state == State.PENDING and request.step_index == 1
    _approve(request, school.carol)
    assert request.current_step is not None and request.current_step.role == "center"
    _approve(request, school.dave)
    assert request.state == State.APPROVED
    records = CreditRecord.objects.filter(request=request)
    assert records.count() == 1
    record = records.get()
    assert (record.student_no, record.value, record.category) == (
        "2024010001",
        Decimal("2.00"),
        "文体活动",
    )
    # Running the hook again (e.g. a retried task) creates nothing new.
    from personal.services import personal_on_approved

    personal_on_approved(request)
    assert CreditRecord.objects.filter(request=request).count() == 1
    decisions = list(request.log.values_list("decision", flat=True))
    assert decisions == ["submit", "approve", "approve", "approve"]


def test_it_lets_the_center_recognize_a_different_value_with_a_reason(
    school: School, draft: PersonalRequest
) -> None:
    request = _submit(school, draft)
    _approve(request, school.bob)
    _approve(request, school.carol)
    item = request.items.get()
    with pytest.raises(ApplicationError, match="认定说明"):
        decide(
            request,
            school.dave,
            payload={item.pk: services.Recognition(Decimal("1.5"), "", "batch")},
        )
    assert PersonalRequest.objects.get(pk=request.pk).state == State.PENDING
    decide(
        request,
        school.dave,
        payload={
            item.pk: services.Recognition(Decimal("1.5"), "校级二等奖按标准折算", "in_platform")
        },
    )
    record = CreditRecord.objects.get(request=request)
    assert record.value == Decimal("1.50")
    assert record.delivery == CreditRecord.Delivery.IN_PLATFORM


def test_it_requires_an_opinion_to_return_or_reject(school: School, draft: PersonalRequest) -> None:
    request = _submit(school, draft)
    for decision in (Decision.RETURN, Decision.REJECT):
        with pytest.raises(ApplicationError, match="意见"):
            decide(request, school.bob, decision, opinion="  ")
    assert PersonalRequest.objects.get(pk=request.pk).state == State.PENDING


def test_it_returns_to_the_student_who_resubmits_from_step_one(
    school: School, draft: PersonalRequest
) -> None:
    request = _submit(school, draft)
    _approve(request, school.bob)
    decide(request, school.carol, Decision.RETURN, "证书照片不清晰")
    assert request.state == State.RETURNED
    assert Notification.objects.filter(
        recipient=school.alice, text__contains="证书照片不清晰"
    ).exists()
    services.personal_request_submit(request=request, actor=school.alice)
    assert request.state == State.PENDING
    assert request.current_step is not None and request.current_step.role == "counselor"
    assert request.log.filter(decision=Decision.RESUBMIT).count() == 1


def test_it_rejects_with_a_reason_and_ends(school: School, draft: PersonalRequest) -> None:
    request = _submit(school, draft)
    decide(request, school.bob, Decision.REJECT, "不符合标准")
    assert request.state == State.REJECTED
    with pytest.raises(ApplicationError):
        services.personal_request_submit(request=request, actor=school.alice)


def test_it_refuses_a_person_who_is_not_at_the_current_step(
    school: School, draft: PersonalRequest
) -> None:
    request = _submit(school, draft)
    for outsider in (school.oscar, school.carol, school.dave, school.alice):
        with pytest.raises(AccessDenied):
            _approve(request, outsider)
    assert request.log.count() == 1


def test_it_lets_the_student_withdraw_only_before_the_first_decision(
    school: School, draft: PersonalRequest
) -> None:
    request = _submit(school, draft)
    request_withdraw(request=request, actor=school.alice)
    assert request.state == State.WITHDRAWN
    assert request.log.last().decision == Decision.WITHDRAW  # type: ignore[union-attr]


def test_it_refuses_withdraw_after_a_decision(school: School, draft: PersonalRequest) -> None:
    request = _submit(school, draft)
    _approve(request, school.bob)
    with pytest.raises(ApplicationError, match="不能再撤回"):
        request_withdraw(request=request, actor=school.alice)


def test_it_refuses_a_stale_version(school: School, draft: PersonalRequest) -> None:
    request = _submit(school, draft)
    stale = request.version
    _approve(request, school.bob)
    decide(request, school.carol, Decision.RETURN, "补材料")
    services.personal_request_submit(request=request, actor=school.alice)
    with pytest.raises(ApplicationError, match="已被他人处理"):
        request_decide(
            request=request, actor=school.bob, decision=Decision.APPROVE, expected_version=stale
        )


def test_it_notifies_the_next_steps_people(school: School, draft: PersonalRequest) -> None:
    request = _submit(school, draft)
    assert Notification.objects.filter(recipient=school.bob, request=request).exists()
    _approve(request, school.bob)
    assert Notification.objects.filter(recipient=school.carol, request=request).exists()
    assert Notification.objects.filter(recipient=school.alice, request=request).exists()


def test_it_sends_email_on_commit(
    school: School,
    draft: PersonalRequest,
    mailoutbox: list[object],
    django_capture_on_commit_callbacks: object,
) -> None:
    school.bob.email = "bob@example.edu.cn"
    school.bob.save()
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        _submit(school, draft)
    assert len(mailoutbox) == 1
    assert "待办" in mailoutbox[0].subject  # type: ignore[attr-defined]


def test_it_never_updates_or_deletes_the_log(school: School, draft: PersonalRequest) -> None:
    request = _submit(school, draft)
    record = ApprovalRecord.objects.get(request=request)
    record.opinion = "changed"
    with pytest.raises(ImmutableError):
        record.save()
    with pytest.raises(ImmutableError):
        record.delete()


def test_it_bulk_approves_through_the_state_machine(
    school: School, mirror: object, personal_window: object
) -> None:
    from tests.personal.conftest import make_draft

    requests = [make_draft(school.alice, mirror) for _ in range(3)]  # type: ignore[arg-type]
    for r in requests:
        services.personal_request_submit(request=r, actor=school.alice)
    stale = requests[2].version
    decide(requests[2], school.bob)
    done, failed = requests_decide_bulk(
        actor=school.bob,
        items=[(r.pk, r.version) for r in requests[:2]] + [(requests[2].pk, stale)],
        opinion="同意",
    )
    assert len(done) == 2
    assert [pk for pk, _reason in failed] == [requests[2].pk]
    assert all(r.step_index == 1 for r in done)


def test_it_lets_nobody_act_at_two_steps_of_one_submission_whatever_roles_they_hold(
    school: School, draft: PersonalRequest
) -> None:
    """Four eyes: one user holding every role approves one step, never a second."""
    from accounts.services import role_grant
    from bulu.workflow.selectors import request_may_act, todo_for_user

    boss = User.objects.create(username="T7777", name="全能")
    role_grant(user=boss, organization=school.class_a1, role="counselor")
    role_grant(user=boss, organization=school.branch_a, role="secretary")
    role_grant(user=boss, organization=school.center, role="center_staff")
    role_grant(user=boss, organization=school.committee, role="committee_reviewer")
    request = _submit(school, draft)
    _approve(request, boss)  # the counselor step
    assert request.current_step is not None and request.current_step.role == "secretary"
    assert not todo_for_user(user=boss).filter(pk=request.pk).exists()
    assert not request_may_act(user=boss, request=request)
    with pytest.raises(AccessDenied, match="同一人不能审核两个环节"):
        _approve(request, boss)
    _approve(request, school.carol)
    with pytest.raises(AccessDenied):
        _approve(request, boss)  # nor the center step
    assert request.log.filter(actor=boss).count() == 1
    # A new submission is a new signature round: after a return they may sign again.
    decide(request, school.dave, Decision.RETURN, "请补充")
    services.personal_request_submit(request=request, actor=school.alice)
    _approve(request, boss)
    assert request.step_index == 1


def test_it_marks_the_todo_messages_done_for_everyone_when_the_request_moves_on(
    school: School, draft: PersonalRequest
) -> None:
    from accounts.services import role_grant

    second = User.objects.create(username="T1009", name="第二辅导员")
    role_grant(user=second, organization=school.class_a1, role="counselor")
    request = _submit(school, draft)
    todos = Notification.objects.filter(request=request, is_todo=True)
    assert set(todos.values_list("recipient__username", flat=True)) == {"T1001", "T1009"}
    assert not todos.filter(done_at__isnull=False).exists()
    _approve(request, school.bob)
    first_round = todos.filter(recipient__in=[school.bob, second])
    assert first_round.count() == 2 and not first_round.filter(done_at__isnull=True).exists()
    carol_todo = todos.get(recipient=school.carol)
    assert carol_todo.done_at is None
    decide(request, school.carol, Decision.RETURN, "材料不全")
    carol_todo.refresh_from_db()
    assert carol_todo.done_at is not None and carol_todo.read_at is not None


def test_it_marks_todos_done_when_the_student_withdraws(
    school: School, draft: PersonalRequest
) -> None:
    request = _submit(school, draft)
    request_withdraw(request=request, actor=school.alice, expected_version=request.version)
    todo = Notification.objects.get(request=request, recipient=school.bob)
    assert todo.is_todo and todo.done_at is not None


def test_it_refuses_a_decision_without_the_version_seen(
    school: School, draft: PersonalRequest
) -> None:
    request = _submit(school, draft)
    with pytest.raises(TypeError):
        request_decide(request=request, actor=school.bob, decision=Decision.APPROVE)  # type: ignore[call-arg]
