"""What every kind's demo data needs from the workflow: a decision by someone entitled to it."""

from __future__ import annotations

from bulu.workflow.models import BackfillRequest, Decision
from bulu.workflow.selectors import request_may_act, step_people
from bulu.workflow.services import request_decide


def demo_decide(
    request: BackfillRequest, decision: str = Decision.APPROVE, opinion: str = "情况属实，同意。"
) -> None:
    """Decide at the current step as the first person who may (not the applicant, nobody who
    decided earlier in this submission), through the real service."""
    request.refresh_from_db()
    assert request.current_step is not None
    actor = next(
        u for u in step_people(request.current_step) if request_may_act(user=u, request=request)
    )
    request_decide(
        request=request,
        actor=actor,
        decision=decision,
        opinion=opinion,
        expected_version=request.version,
    )
