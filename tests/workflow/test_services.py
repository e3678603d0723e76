"""The workflow services through the personal kind: routing, decisions, log, notifications."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.models import User
from bulu.exceptions import ApplicationError
from bulu.workflow.models import ApprovalRecord, Decision, ImmutableError, Notification, State
from bulu.workflow.services import request_decide, requests_decide_bulk
from imports.models import CreditRecord
from personal import services
from personal.models import PersonalRequest
from tests.conftest import School


def _submit(school: School, draft: PersonalRequest) -> PersonalRequest:
    return services.personal_request_submit(request=draft, actor=school.alice)


def _approve(request: PersonalRequest, actor: User, opinion: str = "同意") -> PersonalRequest:
    return services.personal_request_decide(
        request=request,
        actor=actor,
        decision=Decision.APPROVE,
        opinion=opinion,
    )


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


def test_it_leaves_out_a_step_without_owner(school: School, draft: PersonalRequest) -> None:
    from accounts.services import role_revoke

    role_revoke(user=school.bob, organization=school.class_a1, role="counselor")
    request = _submit(school, draft)
    assert [s.role for s in request.route_steps.order_by("index")] == ["secretary", "center"]


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
        services.personal_request_decide(
            request=request,
            actor=school.dave,
            decision=Decision.APPROVE,
            recognitions={item.pk: services.Recognition(Decimal("1.5"), "", "batch")},
        )
    assert PersonalRequest.objects.get(pk=request.pk).state == State.PENDING
    services.personal_request_decide(
        request=request,
        actor=school.dave,
        decision=Decision.APPROVE,
        recognitions={
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
            request_decide(request=request, actor=school.bob, decision=decision, opinion="  ")
    assert PersonalRequest.objects.get(pk=request.pk).state == State.PENDING


def test_it_returns_to_the_student_who_resubmits_from_step_one(
    school: School, draft: PersonalRequest
) -> None:
    request = _submit(school, draft)
    _approve(request, school.bob)
    request_decide(
        request=request, actor=school.carol, decision=Decision.RETURN, opinion="证书照片不清晰"
    )
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
    request_decide(
        request=request, actor=school.bob, decision=Decision.REJECT, opinion="不符合标准"
    )
    assert request.state == State.REJECTED
    with pytest.raises(ApplicationError):
        services.personal_request_submit(request=request, actor=school.alice)


def test_it_refuses_a_person_who_is_not_at_the_current_step(
    school: School, draft: PersonalRequest
) -> None:
    request = _submit(school, draft)
    for outsider in (school.oscar, school.carol, school.dave, school.alice):
        with pytest.raises(PermissionError):
            _approve(request, outsider)
    assert request.log.count() == 1


def test_it_lets_the_student_withdraw_only_before_the_first_decision(
    school: School, draft: PersonalRequest
) -> None:
    request = _submit(school, draft)
    services.personal_request_withdraw(request=request, actor=school.alice)
    assert request.state == State.WITHDRAWN
    assert request.log.last().decision == Decision.WITHDRAW  # type: ignore[union-attr]


def test_it_refuses_withdraw_after_a_decision(school: School, draft: PersonalRequest) -> None:
    request = _submit(school, draft)
    _approve(request, school.bob)
    with pytest.raises(ApplicationError, match="不能再撤回"):
        services.personal_request_withdraw(request=request, actor=school.alice)


def test_it_refuses_a_stale_version(school: School, draft: PersonalRequest) -> None:
    request = _submit(school, draft)
    stale = request.version
    _approve(request, school.bob)
    request_decide(request=request, actor=school.carol, decision=Decision.RETURN, opinion="补材料")
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
    request_decide(request=requests[2], actor=school.bob, decision=Decision.APPROVE)
    done, failed = requests_decide_bulk(
        actor=school.bob,
        items=[(r.pk, r.version) for r in requests[:2]] + [(requests[2].pk, stale)],
        opinion="同意",
    )
    assert len(done) == 2
    assert [pk for pk, _reason in failed] == [requests[2].pk]
    assert all(r.step_index == 1 for r in done)
