"""The cadre list page reads the same number of queries for a long list as a short one."""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Membership
from cadre import services
from tests.cadre.conftest import Cadre, list_xlsx
from tests.conftest import School, deputy

TITLES = ["班长", "团支书", "学习委员", "生活委员", "文体委员", "组织委员", "宣传委员"]


def test_the_list_page_is_constant_in_the_number_of_rows(
    client: Client, school: School, cadre: Cadre
) -> None:
    deputy(school.class_a1, Membership.Role.COUNSELOR, "T1011", "副辅导员")
    counts = []
    for people in (cadre.classmates[:1], cadre.classmates[1:]):
        unit = school.class_a1
        class_list = services.cadre_list_create(actor=school.bob, unit=unit)
        rows = [
            [u.username, u.name, title, datetime(2024, 9, 1), "2025/9/1"]
            for u, title in zip(people, TITLES, strict=False)
        ]
        services.cadre_list_upload(request=class_list, actor=school.bob, fileobj=list_xlsx(rows))
        services.cadre_request_submit(request=class_list, actor=school.bob)
        for persona in ("bob", "carol"):
            client.force_login(getattr(school, persona))
            with CaptureQueriesContext(connection) as queries:
                page = client.get(reverse("workflow:detail", args=[class_list.pk]), follow=True)
            assert page.status_code == 200
            assert people[-1].username in page.content.decode()
            counts.append((persona, len(queries)))
    assert counts[:2] == counts[2:]
