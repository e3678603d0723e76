"""Two approvers acting at the same moment on PostgreSQL: exactly one wins, nothing twice."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from bulu.exceptions import ApplicationError
from bulu.workflow.ledger import log_verify
from bulu.workflow.models import ApprovalRecord, Decision
from bulu.workflow.services import request_decide
from personal import services
from personal.models import PersonalRequest
from tests.conftest import School


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_it_lets_exactly_one_of_two_simultaneous_approvals_win(
    require_postgres: None, school: School, draft: PersonalRequest
) -> None:
    services.personal_request_submit(request=draft, actor=school.alice)
    version = PersonalRequest.objects.get(pk=draft.pk).version
    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    lock = threading.Lock()

    def act(decision: str, opinion: str) -> None:
        request = PersonalRequest.objects.get(pk=draft.pk)
        barrier.wait()
        try:
            request_decide(
                request=request,
                actor=school.bob,
                decision=decision,
                opinion=opinion,
                expected_version=version,
            )
            result = "ok"
        except ApplicationError as exc:
            result = exc.message
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [
        threading.Thread(target=act, args=(Decision.APPROVE, "同意")),
        threading.Thread(target=act, args=(Decision.RETURN, "请补充材料")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert outcomes.count("ok") == 1 and len(outcomes) == 2, outcomes
    assert any("已被他人处理" in o for o in outcomes)
    decisions = ApprovalRecord.objects.filter(request=draft).exclude(decision=Decision.SUBMIT)
    assert decisions.count() == 1
    assert PersonalRequest.objects.get(pk=draft.pk).version == version + 1
    assert log_verify() == ([], 1, 2)
