"""What keeps the pages fast: queue columns, maintained counts and keyset paging stay correct."""

from __future__ import annotations

from django.db import connection
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bulu.workflow.models import BackfillRequest, Decision, RequestTally
from bulu.workflow.services import request_withdraw
from bulu.workflow.tallies import tallies_rebuild
from personal import services
from tests.conftest import School, decide
from tests.personal.conftest import Mirror, make_draft
from tests.workflow.test_views import submitted as _submitted


def _recount() -> dict[tuple[str, str], int]:
    rows = (
        BackfillRequest.objects.filter(submitted_at__isnull=False)
        .values_list("kind", "state")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {(k, s): n for k, s, n in rows}


def _tallied() -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for t in RequestTally.objects.all():
        if t.n:
            out[(t.kind, t.state)] = out.get((t.kind, t.state), 0) + t.n
    return out


def test_the_counts_follow_every_state_change(
    school: School, mirror: Mirror, personal_window: object
) -> None:
    a, b, c, d = _submitted(school, mirror, 4)
    make_draft(school.alice, mirror)  # a private draft is not counted
    decide(a, school.bob)
    decide(b, school.bob, Decision.RETURN, "补充")
    services.personal_request_submit(request=b, actor=school.alice)
    decide(c, school.bob, Decision.REJECT, "不符合")
    request_withdraw(request=d, actor=school.alice, expected_version=d.version)
    for person in (school.carol, school.dave):
        decide(a, person)
    assert (
        _tallied()
        == _recount()
        == {
            ("personal", "approved"): 1,
            ("personal", "pending"): 1,
            ("personal", "rejected"): 1,
            ("personal", "withdrawn"): 1,
        }
    )
    RequestTally.objects.all().delete()
    tallies_rebuild()
    assert _tallied() == _recount()


def test_the_queue_columns_name_the_current_step(
    school: School, mirror: Mirror, personal_window: object
) -> None:
    (request,) = _submitted(school, mirror, 1)
    request.refresh_from_db()
    assert (request.waiting_org_id, request.waiting_role) == (school.class_a1.pk, "counselor")
    decide(request, school.bob)
    request.refresh_from_db()
    assert (request.waiting_org_id, request.waiting_role) == (school.branch_a.pk, "secretary")
    decide(request, school.carol, Decision.RETURN, "补充")
    request.refresh_from_db()
    assert (request.waiting_org_id, request.waiting_role) == (None, "")


def test_the_overview_pages_by_id_and_counts_from_the_tallies(
    client: Client, school: School, mirror: Mirror, personal_window: object
) -> None:
    requests = _submitted(school, mirror, 33)
    client.force_login(school.dave)
    url = reverse("workflow:overview")
    first = client.get(url)
    body = first.content.decode()
    assert "共 33 条" in body
    assert f"#{requests[-1].pk}<" in body and f"#{requests[2].pk}<" not in body
    page = first.context["page"]
    assert len(page.object_list) == 30 and page.has_next and not page.has_previous
    with CaptureQueriesContext(connection) as deep:
        second = client.get(url, {"before": page.older})
    rest = second.context["page"]
    assert [r.pk for r in rest.object_list] == [r.pk for r in requests[2::-1]]
    assert rest.has_previous and not rest.has_next
    back = client.get(url, {"after": rest.newer}).context["page"]
    assert [r.pk for r in back.object_list] == [r.pk for r in page.object_list]
    with CaptureQueriesContext(connection) as top:
        client.get(url)
    assert len(deep) == len(top)
    # A narrow filter counts live, a state filter from the tallies.
    assert "共 33 条" in client.get(url, {"state": "pending"}).content.decode()
    assert "共 33 条" in client.get(url, {"q": "2024010001"}).content.decode()
