"""A closed cadre notice takes no new self-reports or lists and no edits, by any URL."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.test import Client
from django.urls import reverse

from bulu.workflow.services import moment_text
from cadre import services
from cadre.models import CadreEntry, CadreRequest
from tests.cadre.conftest import TERM, Cadre
from tests.conftest import School


def self_post(school: School, cadre: Cadre, end: str = "2025-09-01") -> dict[str, object]:
    return {
        "unit": school.club.pk,
        "position": cadre.club_head.pk,
        "term_start": "2024-09-01",
        "term_end": end,
    }


def test_a_closed_notice_refuses_a_new_self_report_and_its_edit(
    client: Client, school: School, cadre: Cadre
) -> None:
    report = services.cadre_self_report_save(
        student=school.alice, data=services.ServiceData(school.club.pk, cadre.club_head.pk, *TERM)
    )
    window = cadre.window
    with time_machine.travel(window.closes_at + timedelta(minutes=1), tick=False):
        client.force_login(school.alice)
        new = client.post(reverse("cadre:self_new"), self_post(school, cadre))
        page = new.content.decode()
        assert new.status_code == 400
        assert window.title in page and moment_text(window.closes_at) in page
        assert CadreRequest.objects.filter(applicant=school.alice).count() == 1
        edit = client.post(
            reverse("cadre:self_edit", args=[report.pk]), self_post(school, cadre, "2025-10-01")
        )
        assert edit.status_code == 400 and window.title in edit.content.decode()
    assert CadreEntry.objects.get(request=report).term_end == TERM[1]


def test_a_closed_notice_refuses_a_new_list_and_its_rows(
    client: Client, school: School, cadre: Cadre
) -> None:
    class_list = services.cadre_list_create(actor=school.bob, unit=school.class_a1)
    window = cadre.window
    a = cadre.classmates[1]
    with time_machine.travel(window.closes_at + timedelta(minutes=1), tick=False):
        client.force_login(school.bob)
        new = client.post(reverse("cadre:list_create"), {"unit": school.class_a1.pk}, follow=True)
        assert new.status_code == 200 and window.title in new.content.decode()
        assert CadreRequest.objects.filter(applicant=school.bob).count() == 1
        rows = client.post(
            reverse("cadre:list_edit", args=[class_list.pk]),
            {
                "rows": "1",
                "no-1": a.username,
                "name-1": a.name,
                "position-1": "班长",
                "start-1": "2024-09-01",
                "end-1": "2025-09-01",
            },
        )
        page = rows.content.decode()
        assert rows.status_code == 400 and window.title in page
        assert f'value="{a.username}"' in page  # what was typed is shown again
    assert not class_list.entries.exists()
