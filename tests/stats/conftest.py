"""A small known dataset: four submitted personal requests with known step waiting times."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.models import Membership, User
from accounts.services import role_grant
from bulu.workflow.models import Window
from personal import services
from personal.models import PersonalRequest
from tests.conftest import School, decide
from tests.factories import UserFactory
from tests.personal.conftest import Mirror, draft, make_draft, mirror, personal_window  # noqa: F401


@dataclass
class Known:
    approved: PersonalRequest
    returned: PersonalRequest
    rejected: PersonalRequest
    pending: PersonalRequest
    draft: PersonalRequest
    secretary_b: User


def submit_at(request: PersonalRequest, actor: User, at: datetime) -> None:
    with time_machine.travel(at, tick=False):
        services.personal_request_submit(request=request, actor=actor)


def decide_at(
    request: PersonalRequest, actor: User, at: datetime, decision: str = "approve"
) -> None:
    with time_machine.travel(at, tick=False):
        decide(request, actor, decision=decision, opinion="意见")


def build_known(school: School, mirror: Mirror) -> Known:  # noqa: F811
    """Counselor steps wait 2 h, 10 h and 1 h; branch steps 30 h and 70 h; the center 5 h."""
    h = timedelta(hours=1)
    t0 = timezone.now() - timedelta(days=9)
    secretary_b = UserFactory.create(username="T1009", name="白书记")
    role_grant(user=secretary_b, organization=school.branch_b, role=Membership.Role.SECRETARY)

    approved = make_draft(school.alice, mirror, items=2)
    submit_at(approved, school.alice, t0)
    decide_at(approved, school.bob, t0 + 2 * h)
    decide_at(approved, school.carol, t0 + 32 * h)
    decide_at(approved, school.dave, t0 + 37 * h)

    returned = make_draft(school.alice, mirror)
    submit_at(returned, school.alice, t0 + h)
    decide_at(returned, school.bob, t0 + 11 * h)
    decide_at(returned, school.carol, t0 + 81 * h, "return")

    rejected = make_draft(school.olivia, mirror)
    submit_at(rejected, school.olivia, t0 + 2 * h)
    decide_at(rejected, school.oscar, t0 + 3 * h, "reject")

    pending = make_draft(school.alice, mirror)
    submit_at(pending, school.alice, t0 + 4 * h)
    return Known(
        approved=approved,
        returned=returned,
        rejected=rejected,
        pending=pending,
        draft=make_draft(school.alice, mirror),
        secretary_b=secretary_b,
    )


@pytest.fixture
def known(school: School, mirror: Mirror, personal_window: Window) -> Known:  # noqa: F811
    return build_known(school, mirror)
