"""Every list page runs the same number of SQL queries whatever the number of rows behind it.

Each page is read once with a little data and once after much more was added at every stage of
the route (pending at each step, returned, approved with credit records, notifications): the counts
must be equal. A page whose count grows with the rows would be an N+1 that the load bench finds
only at 100,000 requests.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bulu.workflow.models import Decision, Window
from tests.conftest import School, decide
from tests.personal.conftest import Mirror
from tests.workflow.test_views import submitted


@dataclass(frozen=True)
class Page:
    persona: str
    url: str
    params: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        query = "&".join(f"{k}={v}" for k, v in self.params)
        return f"{self.persona} {self.url}{'?' + query if query else ''}"


def _pages(school: School) -> list[Page]:
    college = str(school.college_a.pk)
    return [
        Page("alice", "home"),
        Page("alice", "workflow:mine"),
        Page("alice", "workflow:notifications"),
        Page("bob", "home"),
        Page("bob", "workflow:todo"),
        Page("bob", "workflow:todo", (("q", "李"),)),
        Page("carol", "home"),
        Page("carol", "workflow:todo"),
        Page("carol", "workflow:todo", (("college", college),)),
        Page("dave", "home"),
        Page("dave", "workflow:todo"),
        Page("dave", "workflow:overview"),
        Page("dave", "workflow:overview", (("college", college),)),
        Page("dave", "workflow:overview", (("state", "pending"),)),
        Page("dave", "workflow:overview", (("kind", "personal"), ("q", "李"))),
        Page("dave", "workflow:windows"),
        Page("dave", "workflow:owners_missing"),
        Page("dave", "cadre:unsubmitted"),
    ]


def _grow(school: School, mirror: Mirror, n: int) -> None:
    """`n` requests at each stage: waiting for each step, returned, approved with credits."""
    waiting_counselor = submitted(school, mirror, n)
    assert waiting_counselor
    for request in submitted(school, mirror, n):
        decide(request, school.bob)
    for request in submitted(school, mirror, n):
        decide(request, school.bob)
        decide(request, school.carol)
    for request in submitted(school, mirror, n):
        decide(request, school.bob, Decision.RETURN, "请补充")
    for request in submitted(school, mirror, n):
        for approver in (school.bob, school.carol, school.dave):
            decide(request, approver)


def _count(client: Client, school: School, page: Page) -> tuple[int, int]:
    client.force_login(getattr(school, page.persona))
    cache.clear()  # cold: the filter choices are read too (they are cached for a minute)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(page.url), dict(page.params))
    return response.status_code, len(queries)


def test_every_list_page_reads_a_constant_number_of_queries(
    client: Client, school: School, mirror: Mirror, personal_window: Window
) -> None:
    pages = _pages(school)
    _grow(school, mirror, 1)
    few = {str(p): _count(client, school, p) for p in pages}
    assert {p: s for p, (s, _n) in few.items() if s != 200} == {}
    _grow(school, mirror, 4)
    many = {str(p): _count(client, school, p) for p in pages}
    grown = {p: (few[p][1], many[p][1]) for p in few if few[p] != many[p]}
    assert not grown, f"queries grew with the rows (few, many): {grown}"


def test_the_overview_deep_pages_read_as_many_queries_as_the_first(
    client: Client, school: School, mirror: Mirror, personal_window: Window
) -> None:
    _grow(school, mirror, 8)  # 40 submitted requests: two pages of thirty
    client.force_login(school.dave)
    url = reverse("workflow:overview")
    client.get(url)  # the filter choices are cached from here on, for both pages
    with CaptureQueriesContext(connection) as first:
        page = client.get(url).context["page"]
    assert page.has_next
    with CaptureQueriesContext(connection) as deep:
        older = client.get(url, {"before": page.older}).context["page"]
    assert older.object_list and not older.has_next
    assert len(deep) == len(first)


@pytest.mark.parametrize("persona", ["alice", "bob", "carol"])
def test_the_overview_is_the_centers_alone(client: Client, school: School, persona: str) -> None:
    client.force_login(getattr(school, persona))
    assert client.get(reverse("workflow:overview")).status_code in (403, 404)


def test_the_personal_request_page_reads_as_many_queries_for_six_items_as_for_one(
    client: Client, school: School, mirror: Mirror, personal_window: Window
) -> None:
    from personal import services
    from tests.personal.conftest import make_draft

    counts = []
    for items in (1, 6):
        request = make_draft(school.alice, mirror, items=items)
        services.personal_request_submit(request=request, actor=school.alice)
        decide(request, school.bob)
        for persona in ("alice", "carol"):
            client.force_login(getattr(school, persona))
            with CaptureQueriesContext(connection) as queries:
                page = client.get(reverse("workflow:detail", args=[request.pk]), follow=True)
            assert page.status_code == 200 and f"活动{items}" in page.content.decode()
            counts.append((persona, len(queries)))
    assert counts[:2] == counts[2:]


def test_the_filter_choices_are_read_once_a_minute_per_user(
    client: Client, school: School, mirror: Mirror, personal_window: Window
) -> None:
    _grow(school, mirror, 1)
    client.force_login(school.carol)
    url = reverse("workflow:todo")
    with CaptureQueriesContext(connection) as cold:
        first = client.get(url)
    with CaptureQueriesContext(connection) as warm:
        again = client.get(url)
    assert len(warm) == len(cold) - 3  # colleges, classes, notices
    assert first.content.count(b"<option") == again.content.count(b"<option") > 0
