"""A collective request returned by the branch secretary "back to my step": the advisor's
signature stays while the roster and the values stay; a new roster or new values restart it."""

from __future__ import annotations

from bulu.workflow.models import Decision, Notification, State
from bulu.workflow.resume import OWN_STEP, RESTART
from bulu.workflow.services import request_decide
from collective import services
from collective.models import CollectiveRequest
from documents.selectors import opinion_boxes
from tests.collective.conftest import Kit, attach, filled, ready_request, roster_row
from tests.conftest import School, decide


def _returned(school: School, kit: Kit, students: int = 10) -> CollectiveRequest:
    """机器人协会 (gina) files; frank (advisor) signs; carol (团总支) returns back to her step."""
    request = ready_request(school.gina, school.club, kit, students=kit.students[:students])
    services.collective_request_submit(request=request, actor=school.gina)
    decide(request, school.frank)
    request.refresh_from_db()
    request_decide(
        request=request,
        actor=school.carol,
        decision=Decision.RETURN,
        opinion="请补充原因分析",
        expected_version=request.version,
        resume=OWN_STEP,
    )
    request.refresh_from_db()
    return request


def test_an_explanation_changed_comes_straight_back_to_the_secretary(
    school: School, kit: Kit
) -> None:
    request = _returned(school, kit)
    Notification.objects.all().delete()
    services.collective_request_update(
        request=request,
        actor=school.gina,
        data=filled(kit, reason="活动结束后到梦空间未发布该活动；已补充签到表说明。"),
    )
    services.collective_request_submit(request=request, actor=school.gina)
    request.refresh_from_db()
    assert request.current_step is not None and request.current_step.role == "secretary"
    assert not Notification.objects.filter(recipient=school.frank, is_todo=True).exists()
    kept = request.log.get(decision=Decision.RESUBMIT).context["kept"]
    assert [k["text"] for k in kept] == ["第1步沿用上次签字（指导老师审核 · 范克）"]
    assert opinion_boxes(request=request)[0].signer == school.frank.get_full_name()
    for person in (school.carol, school.dave, school.erin):
        decide(request, person)
    request.refresh_from_db()
    assert request.state == State.APPROVED


def test_a_new_roster_restarts_at_the_advisor(school: School, kit: Kit) -> None:
    request = _returned(school, kit, students=8)
    attach(request, school.gina, [roster_row(u, kit) for u in kit.students])
    services.collective_request_update(request=request, actor=school.gina, data=filled(kit))
    services.collective_request_submit(request=request, actor=school.gina)
    request.refresh_from_db()
    assert request.current_step is not None and request.current_step.role == "advisor"
    record = request.log.get(decision=Decision.RESUBMIT)
    assert record.context["resume"] == RESTART
    assert "人员名单" in record.context["restart_reason"]
    assert "积分分值" in record.context["restart_reason"]  # 8 → 10 participants too


def test_new_values_restart_at_the_advisor(school: School, kit: Kit) -> None:
    request = _returned(school, kit)
    services.collective_request_update(
        request=request, actor=school.gina, data=filled(kit, activity_name="科技文化节（更正）")
    )
    services.collective_request_submit(request=request, actor=school.gina)
    request.refresh_from_db()
    assert request.step_index == 0
    reason = request.log.get(decision=Decision.RESUBMIT).context["restart_reason"]
    assert "积分分值" in reason and "人员名单" not in reason
