"""Collective requests: any time without a collective notice; a closed one takes no drafts."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bulu.workflow.models import Kind, Window
from bulu.workflow.services import moment_text
from collective import services
from collective.models import CollectiveRequest
from tests.collective.conftest import Kit, roster_file, roster_row
from tests.conftest import School


def test_without_a_collective_notice_drafts_are_started_any_time(school: School, kit: Kit) -> None:
    request = services.collective_request_create(actor=school.frank, unit=school.club)
    assert request.pk


# The letter's two formsets (further credit types, award tiers), empty, as the page sends them.
EMPTY_FORMSETS = {
    f"{prefix}-{field}": value
    for prefix in ("lines", "tiers")
    for field, value in (("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0"))
}


def test_a_closed_collective_notice_refuses_new_drafts_and_edits_by_url(
    client: Client, school: School, kit: Kit
) -> None:
    now = timezone.now()
    window = Window.objects.create(
        kind=Kind.COLLECTIVE,
        title="2026年秋季集体活动积分补录",
        opens_at=now - timedelta(days=5),
        closes_at=now + timedelta(days=5),
    )
    draft = services.collective_request_create(actor=school.frank, unit=school.club)
    with time_machine.travel(window.closes_at + timedelta(minutes=1), tick=False):
        client.force_login(school.frank)
        new = client.post(reverse("collective:create"), {"unit": school.club.pk}, follow=True)
        assert new.status_code == 200 and window.title in new.content.decode()
        assert moment_text(window.closes_at) in new.content.decode()
        assert CollectiveRequest.objects.count() == 1
        edit = client.post(
            reverse("collective:edit", args=[draft.pk]),
            {"activity_name": "改名的活动", **EMPTY_FORMSETS},  # as the page posts it
        )
        page = edit.content.decode()
        assert edit.status_code == 400 and window.title in page
        assert 'value="改名的活动"' in page  # what was typed stays
        upload = client.post(
            reverse("collective:roster_upload", args=[draft.pk]),
            {
                "file": SimpleUploadedFile(
                    "名单.xlsx", roster_file([roster_row(kit.students[0], kit)]).getvalue()
                )
            },
        )
        assert upload.status_code == 400 and window.title in upload.content.decode()
    draft.refresh_from_db()
    assert draft.activity_name == "" and draft.roster_id is None
