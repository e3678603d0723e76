"""The collective request page reads the same number of queries for a long roster as a short one."""

from __future__ import annotations

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from collective import services
from tests.collective.conftest import Kit, ready_request
from tests.conftest import School, decide


def test_the_request_page_is_constant_in_the_roster_length(
    client: Client, school: School, kit: Kit
) -> None:
    counts = []
    for people in (kit.students[:2], kit.students):
        request = ready_request(school.gina, school.club, kit, students=people)
        services.collective_request_submit(request=request, actor=school.gina)
        decide(request, school.frank)
        for persona in ("gina", "carol"):
            client.force_login(getattr(school, persona))
            with CaptureQueriesContext(connection) as queries:
                page = client.get(reverse("workflow:detail", args=[request.pk]), follow=True)
            assert page.status_code == 200 and people[-1].username in page.content.decode()
            counts.append((persona, len(queries)))
        # Ended, so the next (longer) roster of the same activity is no possible duplicate of it
        # (a 「可能重复」 panel would add its own query).
        decide(request, school.carol, decision="reject", opinion="测试结束")
    assert counts[:2] == counts[2:]
