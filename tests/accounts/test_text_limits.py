"""Issue 18: a role change's 说明 and 拒绝理由 are refused over their limit, never cut."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from accounts.models import Membership, RoleChange, User
from accounts.services import role_change_propose, role_change_refuse, role_grant
from bulu import limits
from bulu.exceptions import ApplicationError
from tests.conftest import School
from tests.factories import UserFactory

Role = Membership.Role
TOO_LONG = "因" * (limits.ROLE_CHANGE_REASON + 1)


@pytest.fixture
def dora(school: School) -> User:
    user = UserFactory.create(username="T2002", name="窦老师")
    role_grant(user=user, organization=school.center, role=Role.CENTER_STAFF)
    return user


def propose_post(school: School, reason: str) -> dict[str, object]:
    return {
        "username": school.oscar.username,
        "organization": school.committee.pk,
        "role": Role.COMMITTEE_REVIEWER,
        "action": "grant",
        "reason": reason,
    }


def pending(school: School) -> RoleChange:
    return role_change_propose(
        actor=school.dave,
        user=school.oscar,
        organization=school.committee,
        role=Role.COMMITTEE_REVIEWER,
        reason="新任",
    )


def test_the_page_refuses_an_over_long_reason_next_to_the_field(
    client: Client, school: School
) -> None:
    client.force_login(school.dave)
    before = RoleChange.objects.count()
    page = client.get(reverse("accounts:roles")).content.decode()
    assert f'maxlength="{limits.ROLE_CHANGE_REASON}"' in page
    response = client.post(reverse("accounts:role_change_propose"), propose_post(school, TOO_LONG))
    assert response.status_code == 200
    assert '<small class="error">说明最多 300 字（现在 301 字）。</small>' in (
        response.content.decode()
    )
    assert RoleChange.objects.count() == before
    fits = "因" * limits.ROLE_CHANGE_REASON
    assert (
        client.post(reverse("accounts:role_change_propose"), propose_post(school, fits)).status_code
        == 302
    )
    assert RoleChange.objects.get(status=RoleChange.Status.PENDING).reason == fits


def test_the_service_and_the_command_refuse_an_over_long_reason(school: School) -> None:
    before = RoleChange.objects.count()
    with pytest.raises(ApplicationError, match=r"^说明最多 300 字（现在 301 字）。$"):
        role_change_propose(
            actor=school.dave,
            user=school.oscar,
            organization=school.committee,
            role=Role.COMMITTEE_REVIEWER,
            reason=TOO_LONG,
        )
    with pytest.raises(CommandError, match="说明最多 300 字"):
        call_command(
            "role_change",
            "grant",
            by=school.dave.username,
            user=school.oscar.username,
            org=school.committee.name,
            role=Role.COMMITTEE_REVIEWER,
            reason=TOO_LONG,
        )
    assert RoleChange.objects.count() == before


def test_an_over_long_refusal_reason_refuses_nothing(
    client: Client, school: School, dora: User
) -> None:
    change = pending(school)
    with pytest.raises(ApplicationError, match=r"^拒绝理由最多 300 字（现在 301 字）。$"):
        role_change_refuse(change=change, actor=dora, reason=TOO_LONG)
    assert RoleChange.objects.get(pk=change.pk).status == RoleChange.Status.PENDING
    client.force_login(dora)
    response = client.post(
        reverse("accounts:role_change_refuse", args=[change.pk]), {"reason": TOO_LONG}, follow=True
    )
    assert "拒绝理由最多 300 字（现在 301 字）。" in response.content.decode()
    row = RoleChange.objects.get(pk=change.pk)
    assert row.status == RoleChange.Status.PENDING and row.reason == "新任"
