"""`requests_move_bulk` keeps what the per-request path keeps, and refuses what it refuses."""

from __future__ import annotations

import pytest

from bulu.exceptions import ApplicationError
from bulu.workflow import registry
from bulu.workflow.models import ApprovalRecord, BackfillRequest, Decision, Notification, State
from bulu.workflow.services import requests_move_bulk
from bulu.workflow.tallies import tally_counts
from tests.conftest import School
from tests.exports.conftest import approved_request


def test_it_refuses_a_transition_the_state_machine_does_not_allow(school: School) -> None:
    req = approved_request(school)
    with pytest.raises(ApplicationError):
        requests_move_bulk(
            requests=BackfillRequest.objects.all(),
            transition="confirm_imported",  # approved -> imported skips exported
            actor=school.dave,
            decision=Decision.IMPORT,
        )
    req.refresh_from_db()
    assert req.state == State.APPROVED and req.version == 0
    assert not ApprovalRecord.objects.exists()
    assert tally_counts() == {State.APPROVED: 1}


def test_it_refuses_transitions_that_change_more_than_the_state(school: School) -> None:
    approved_request(school)
    with pytest.raises(ValueError, match="not a bulk transition"):
        requests_move_bulk(
            requests=BackfillRequest.objects.all(),
            transition="submit",
            actor=school.dave,
            decision=Decision.SUBMIT,
        )


def test_it_moves_logs_and_notifies_without_re_rendering_the_forms(
    school: School, django_capture_on_commit_callbacks: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = approved_request(school)
    o = approved_request(school, applicant=school.olivia)
    heard: list[int] = []
    monkeypatch.setattr(registry, "_CHANGE_LISTENERS", [heard.append])
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        moved = requests_move_bulk(
            requests=BackfillRequest.objects.all(),
            transition="mark_exported",
            actor=school.dave,
            decision=Decision.EXPORT,
            opinion="批次",
            context={"export_batch": 9},
            notify_text="“%(title)s”已导出",
        )
    # An export decides at no step: no printed form changes, so no PDF is re-rendered.
    assert heard == []
    assert sorted(moved) == sorted([a.pk, o.pk])
    for req in BackfillRequest.objects.all():
        assert req.state == State.EXPORTED and req.version == 1
    assert tally_counts() == {State.EXPORTED: 2}
    rec = ApprovalRecord.objects.get(request=a)
    assert (rec.actor, rec.decision, rec.from_state, rec.to_state, rec.opinion) == (
        school.dave,
        Decision.EXPORT,
        State.APPROVED,
        State.EXPORTED,
        "批次",
    )
    assert rec.context == {"export_batch": 9} and rec.submission == 1
    note = Notification.objects.get(recipient=school.olivia)
    assert note.text == f"“{o.title}”已导出" and note.url == f"/flow/requests/{o.pk}/"
