"""Windows, with time travel: submissions only while open, returned ones within the grace."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from bulu.exceptions import ApplicationError
from bulu.workflow.models import Decision, Kind, Notification, State, Window
from bulu.workflow.reminders import reminders_waiting_approvers, reminders_windows_closing
from personal import services
from tests.conftest import School, decide
from tests.personal.conftest import Mirror, make_draft

TZ = ZoneInfo("Asia/Shanghai")
OPENS = datetime(2027, 2, 20, 8, 0, tzinfo=TZ)
CLOSES = datetime(2027, 3, 31, 18, 0, tzinfo=TZ)


@pytest.fixture
def spring(db: None) -> Window:
    return Window.objects.create(
        kind=Kind.PERSONAL, title="2027年春季个人积分补录", opens_at=OPENS, closes_at=CLOSES
    )


def test_it_refuses_before_the_window_opens_naming_its_dates(
    school: School, mirror: Mirror, spring: Window
) -> None:
    with time_machine.travel(OPENS - timedelta(days=1), tick=False):
        request = make_draft(school.alice, mirror)
        with pytest.raises(ApplicationError, match="2027年2月20日 08:00 至 2027年3月31日 18:00"):
            services.personal_request_submit(request=request, actor=school.alice)
        assert request.state == State.DRAFT
        assert request.items.count() == 1  # nothing the student typed is lost


def test_it_accepts_inside_and_refuses_after_the_window(
    school: School, mirror: Mirror, spring: Window
) -> None:
    with time_machine.travel(OPENS + timedelta(days=1), tick=False):
        inside = make_draft(school.alice, mirror)
        services.personal_request_submit(request=inside, actor=school.alice)
        late = make_draft(school.alice, mirror)
    assert inside.state == State.PENDING and inside.window == spring
    with time_machine.travel(CLOSES + timedelta(minutes=1), tick=False):
        with pytest.raises(ApplicationError, match="已截止"):
            services.personal_request_submit(request=late, actor=school.alice)
        # Pending requests keep moving after the close.
        decide(inside, school.bob, Decision.APPROVE)
        assert inside.step_index == 1


def test_it_lets_returned_requests_resubmit_only_within_the_grace(
    school: School, mirror: Mirror, spring: Window
) -> None:
    spring.grace_days = 3
    spring.save()
    with time_machine.travel(CLOSES - timedelta(days=1), tick=False):
        request = make_draft(school.alice, mirror)
        services.personal_request_submit(request=request, actor=school.alice)
        decide(request, school.bob, Decision.RETURN, "补充")
    with time_machine.travel(CLOSES + timedelta(days=2), tick=False):
        services.personal_request_submit(request=request, actor=school.alice)
        assert request.state == State.PENDING
        decide(request, school.bob, Decision.RETURN, "再补充")
    with time_machine.travel(CLOSES + timedelta(days=3, minutes=1), tick=False):
        with pytest.raises(ApplicationError, match="宽限期"):
            services.personal_request_submit(request=request, actor=school.alice)
        assert request.state == State.RETURNED


def test_it_refuses_resubmission_after_close_without_grace(
    school: School, mirror: Mirror, spring: Window
) -> None:
    with time_machine.travel(CLOSES - timedelta(hours=2), tick=False):
        request = make_draft(school.alice, mirror)
        services.personal_request_submit(request=request, actor=school.alice)
        decide(request, school.bob, Decision.RETURN, "补充")
    with (
        time_machine.travel(CLOSES + timedelta(hours=1), tick=False),
        pytest.raises(ApplicationError, match="不能再重新提交"),
    ):
        services.personal_request_submit(request=request, actor=school.alice)


def test_it_needs_no_window_for_collective_until_one_is_set(db: None) -> None:
    from bulu.workflow.services import window_for_submission

    at = datetime(2027, 6, 1, tzinfo=TZ)
    assert window_for_submission(kind=Kind.COLLECTIVE, at=at) is None
    Window.objects.create(kind=Kind.COLLECTIVE, title="集体补录", opens_at=OPENS, closes_at=CLOSES)
    with pytest.raises(ApplicationError):
        window_for_submission(kind=Kind.COLLECTIVE, at=at)


def test_it_reminds_students_three_days_before_close_once(
    school: School, mirror: Mirror, spring: Window
) -> None:
    with time_machine.travel(CLOSES - timedelta(days=5), tick=False):
        make_draft(school.alice, mirror)
        assert reminders_windows_closing() == 0
    with time_machine.travel(CLOSES - timedelta(days=2), tick=False):
        assert reminders_windows_closing() == 1
        assert reminders_windows_closing() == 0
    assert Notification.objects.filter(recipient=school.alice, text__contains="将于").count() == 1


def test_it_reminds_approvers_of_requests_waiting_too_long(
    school: School, mirror: Mirror, spring: Window, settings: object
) -> None:
    settings.BULU_REMINDER_WAITING_DAYS = 3  # type: ignore[attr-defined]
    with time_machine.travel(OPENS + timedelta(days=1), tick=False):
        request = make_draft(school.alice, mirror)
        services.personal_request_submit(request=request, actor=school.alice)
    with time_machine.travel(OPENS + timedelta(days=2), tick=False):
        assert reminders_waiting_approvers() == 0
    with time_machine.travel(OPENS + timedelta(days=5), tick=False):
        assert reminders_waiting_approvers() == 1
        assert reminders_waiting_approvers() == 0  # one digest a day
    assert Notification.objects.filter(recipient=school.bob, text__contains="等待超过").count() == 1
