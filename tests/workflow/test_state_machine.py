"""Every (state x transition) pair: only the diagram's edges are allowed."""

from __future__ import annotations

import pytest
from django_fsm import TransitionNotAllowed, can_proceed

from bulu.workflow.models import BackfillRequest, State
from personal.models import PersonalRequest

TRANSITIONS = {
    "submit": {State.DRAFT},
    "resubmit": {State.RETURNED},
    "approve": {State.PENDING},
    "return_for_changes": {State.PENDING},
    "reject": {State.PENDING},
    "withdraw": {State.DRAFT, State.RETURNED, State.PENDING},
    "mark_exported": {State.APPROVED},
    "unmark_exported": {State.EXPORTED},
    "confirm_imported": {State.EXPORTED},
}
KWARGS = {"approve": {"is_last": False}}


def _in_state(request: PersonalRequest, state: str) -> PersonalRequest:
    BackfillRequest.objects.filter(pk=request.pk).update(state=state, step_index=0)
    return PersonalRequest.objects.get(pk=request.pk)


@pytest.mark.parametrize("state", list(State.values))
@pytest.mark.parametrize("name", list(TRANSITIONS))
def test_it_allows_only_the_diagrams_edges(draft: PersonalRequest, state: str, name: str) -> None:
    request = _in_state(draft, state)
    method = getattr(request, name)
    allowed = state in TRANSITIONS[name]
    assert can_proceed(method) is allowed
    if not allowed:
        with pytest.raises(TransitionNotAllowed):
            method(**KWARGS.get(name, {}))
        assert request.state == state


def test_it_refuses_withdraw_from_pending_after_a_decision(draft: PersonalRequest) -> None:
    BackfillRequest.objects.filter(pk=draft.pk).update(state=State.PENDING, step_index=1)
    request = PersonalRequest.objects.get(pk=draft.pk)
    assert not can_proceed(request.withdraw)


def test_it_protects_the_state_from_direct_assignment(draft: PersonalRequest) -> None:
    with pytest.raises(AttributeError):
        draft.state = State.APPROVED
