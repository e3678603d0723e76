"""Nobody grants themselves a role; approver roles take two people; every change is logged."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from accounts.models import Membership, RoleChange, RoleChangeLocked, User
from accounts.services import (
    role_change_confirm,
    role_change_propose,
    role_change_refuse,
    role_grant,
)
from bulu.exceptions import AccessDenied, ApplicationError
from tests.conftest import School
from tests.factories import UserFactory

Role = Membership.Role


def fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


@pytest.fixture
def dora(school: School) -> User:
    """A second center staff member (the colleague who confirms)."""
    user = UserFactory.create(username="T2002", name="窦老师")
    role_grant(user=user, organization=school.center, role=Role.CENTER_STAFF)
    return user


def test_it_refuses_a_self_grant_on_the_page(client: Client, school: School) -> None:
    client.force_login(school.dave)
    before = RoleChange.objects.count()
    response = client.post(
        reverse("accounts:role_change_propose"),
        {
            "username": school.dave.username,
            "organization": school.committee.pk,
            "role": Role.COMMITTEE_REVIEWER,
            "action": "grant",
        },
    )
    assert response.status_code == 403
    assert not fresh(school.dave).has_perm("accounts.approve_as_committee", school.committee)
    assert RoleChange.objects.count() == before


def test_it_refuses_a_self_grant_in_the_admin(client: Client, school: School) -> None:
    client.force_login(school.dave)
    response = client.post(
        reverse("admin:accounts_membership_add"),
        {
            "user": school.dave.pk,
            "organization": school.committee.pk,
            "role": Role.COMMITTEE_REVIEWER,
        },
    )
    assert response.status_code == 403
    assert not Membership.objects.filter(user=school.dave, role=Role.COMMITTEE_REVIEWER).exists()


def test_it_refuses_a_self_grant_by_command(school: School) -> None:
    with pytest.raises(CommandError, match="不能调整自己的角色"):
        call_command(
            "role_change",
            "grant",
            by=school.dave.username,
            user=school.dave.username,
            org=str(school.committee.pk),
            role=Role.COMMITTEE_REVIEWER,
        )
    assert not Membership.objects.filter(user=school.dave, role=Role.COMMITTEE_REVIEWER).exists()


def test_it_refuses_a_self_revoke(school: School) -> None:
    with pytest.raises(AccessDenied):
        role_change_propose(
            actor=school.dave,
            user=school.dave,
            organization=school.center,
            role=Role.CENTER_STAFF,
            action=RoleChange.Action.REVOKE,
        )
    assert Membership.objects.filter(user=school.dave, role=Role.CENTER_STAFF).exists()


def test_an_approver_grant_takes_effect_only_on_confirm(school: School, dora: User) -> None:
    change = role_change_propose(
        actor=school.dave,
        user=school.oscar,
        organization=school.committee,
        role=Role.COMMITTEE_REVIEWER,
    )
    assert change.status == RoleChange.Status.PENDING
    assert not fresh(school.oscar).has_perm("accounts.approve_as_committee", school.committee)

    confirmed = role_change_confirm(change=change, actor=dora)

    assert confirmed.status == RoleChange.Status.CONFIRMED
    assert confirmed.proposed_by == school.dave and confirmed.decided_by == dora
    assert confirmed.decided_at is not None
    assert fresh(school.oscar).has_perm("accounts.approve_as_committee", school.committee)


def test_the_proposer_cannot_confirm_their_own(client: Client, school: School, dora: User) -> None:
    change = role_change_propose(
        actor=school.dave, user=school.oscar, organization=school.center, role=Role.CENTER_STAFF
    )
    with pytest.raises(AccessDenied, match="不能确认自己提出"):
        role_change_confirm(change=change, actor=school.dave)
    client.force_login(school.dave)
    response = client.post(reverse("accounts:role_change_confirm", args=[change.pk]))
    assert response.status_code == 403
    assert RoleChange.objects.get(pk=change.pk).status == RoleChange.Status.PENDING
    assert not Membership.objects.filter(user=school.oscar, role=Role.CENTER_STAFF).exists()


def test_the_person_named_cannot_confirm_their_own_grant(school: School, dora: User) -> None:
    """T0301's colleague-in-waiting: a proposal about dora is confirmed by someone else."""
    change = role_change_propose(
        actor=school.dave, user=dora, organization=school.committee, role=Role.COMMITTEE_REVIEWER
    )
    with pytest.raises(AccessDenied):
        role_change_confirm(change=change, actor=dora)
    assert not fresh(dora).has_perm("accounts.approve_as_committee", school.committee)


def test_a_superuser_confirms_and_their_own_proposal_takes_effect(
    client: Client, school: School
) -> None:
    root = User.objects.create_superuser(username="root", password="x", name="管理员")
    change = role_change_propose(
        actor=school.dave, user=school.oscar, organization=school.club, role=Role.ADVISOR
    )
    client.force_login(root)
    response = client.post(reverse("accounts:role_change_confirm", args=[change.pk]))
    assert response.status_code == 302
    assert fresh(school.oscar).has_perm("accounts.approve_as_advisor", school.club)

    direct = role_change_propose(
        actor=root, user=school.olivia, organization=school.club, role=Role.APPLICANT
    )
    assert direct.status == RoleChange.Status.CONFIRMED and direct.decided_by == root


def test_a_committee_reviewer_and_a_counselor_may_not_manage_roles(
    school: School, dora: User
) -> None:
    change = role_change_propose(
        actor=school.dave, user=school.oscar, organization=school.club, role=Role.ADVISOR
    )
    for outsider in (school.erin, school.bob):
        with pytest.raises(AccessDenied):
            role_change_confirm(change=change, actor=outsider)
        with pytest.raises(AccessDenied):
            role_change_propose(
                actor=outsider, user=school.olivia, organization=school.club, role=Role.APPLICANT
            )


def test_a_student_role_and_a_revoke_take_one_step(school: School) -> None:
    change = role_change_propose(
        actor=school.dave, user=school.olivia, organization=school.club, role=Role.APPLICANT
    )
    assert change.status == RoleChange.Status.CONFIRMED and change.decided_by == school.dave
    assert fresh(school.olivia).has_perm("accounts.submit_for_org", school.club)
    revoke = role_change_propose(
        actor=school.dave,
        user=school.frank,
        organization=school.club,
        role=Role.ADVISOR,
        action=RoleChange.Action.REVOKE,
    )
    assert revoke.status == RoleChange.Status.CONFIRMED
    assert not fresh(school.frank).has_perm("accounts.approve_as_advisor", school.club)


def test_a_refused_change_never_takes_effect(school: School, dora: User) -> None:
    change = role_change_propose(
        actor=school.dave, user=school.oscar, organization=school.center, role=Role.CENTER_STAFF
    )
    refused = role_change_refuse(change=change, actor=dora, reason="不是本中心人员")
    assert refused.status == RoleChange.Status.REFUSED and refused.reason == "不是本中心人员"
    with pytest.raises(ApplicationError, match="已被处理"):
        role_change_confirm(change=change, actor=dora)
    assert not Membership.objects.filter(user=school.oscar, role=Role.CENTER_STAFF).exists()


def test_a_duplicate_proposal_is_refused(school: School) -> None:
    role_change_propose(
        actor=school.dave, user=school.oscar, organization=school.center, role=Role.CENTER_STAFF
    )
    with pytest.raises(ApplicationError, match="等待确认"):
        role_change_propose(
            actor=school.dave,
            user=school.oscar,
            organization=school.center,
            role=Role.CENTER_STAFF,
        )


def test_log_rows_are_written_and_not_editable(school: School, dora: User) -> None:
    change = role_change_propose(
        actor=school.dave, user=school.oscar, organization=school.club, role=Role.ADVISOR
    )
    # A pending row may only be decided: its other fields are fixed.
    change.role = Role.APPLICANT
    with pytest.raises(RoleChangeLocked):
        change.save()
    change = RoleChange.objects.get(pk=change.pk)
    role_change_confirm(change=change, actor=dora)
    decided = RoleChange.objects.get(pk=change.pk)
    decided.status = RoleChange.Status.REFUSED
    with pytest.raises(RoleChangeLocked):
        decided.save()
    with pytest.raises(RoleChangeLocked):
        decided.delete()
    with pytest.raises(RoleChangeLocked):
        RoleChange.objects.filter(pk=change.pk).update(decided_by=school.dave)
    with pytest.raises(RoleChangeLocked):
        RoleChange.objects.filter(pk=change.pk).delete()
    stored = RoleChange.objects.get(pk=change.pk)
    assert stored.status == RoleChange.Status.CONFIRMED and stored.decided_by == dora
    # The bootstrap roles of the personas are in the log too, confirmed by the system.
    boot = RoleChange.objects.get(user=school.bob, role=Role.COUNSELOR)
    assert boot.source == RoleChange.Source.SYSTEM and boot.proposed_by is None
    assert boot.status == RoleChange.Status.CONFIRMED


def test_the_log_page_is_for_the_center_and_the_committee(client: Client, school: School) -> None:
    role_change_propose(
        actor=school.dave, user=school.oscar, organization=school.club, role=Role.ADVISOR
    )
    url = reverse("accounts:roles")
    client.force_login(school.dave)
    page = client.get(url).content.decode()
    assert "提出角色调整" in page and "须由他人确认" in page and school.oscar.name in page
    client.force_login(school.erin)
    response = client.get(url)
    assert response.status_code == 200 and "提出角色调整" not in response.content.decode()
    response = client.post(
        reverse("accounts:role_change_propose"),
        {
            "username": school.olivia.username,
            "organization": school.club.pk,
            "role": Role.APPLICANT,
            "action": "grant",
        },
    )
    assert response.status_code == 403
    for outsider in (school.bob, school.alice):
        client.force_login(outsider)
        assert client.get(url).status_code == 403


def test_the_page_proposes_and_another_confirms(client: Client, school: School, dora: User) -> None:
    client.force_login(school.dave)
    response = client.post(
        reverse("accounts:role_change_propose"),
        {
            "username": school.oscar.username,
            "organization": school.committee.pk,
            "role": Role.COMMITTEE_REVIEWER,
            "action": "grant",
            "reason": "新任",
        },
    )
    assert response.status_code == 302
    change = RoleChange.objects.get(user=school.oscar, status=RoleChange.Status.PENDING)
    assert change.source == RoleChange.Source.PAGE and change.reason == "新任"
    client.force_login(dora)
    page = client.get(reverse("accounts:roles")).content.decode()
    assert reverse("accounts:role_change_confirm", args=[change.pk]) in page
    client.post(reverse("accounts:role_change_confirm", args=[change.pk]))
    assert fresh(school.oscar).has_perm("accounts.approve_as_committee", school.committee)


def test_the_command_proposes_and_another_confirms(school: School, dora: User) -> None:
    call_command(
        "role_change",
        "grant",
        by=school.dave.username,
        user=school.oscar.username,
        org=school.center.name,
        role=Role.CENTER_STAFF,
    )
    change = RoleChange.objects.get(user=school.oscar, status=RoleChange.Status.PENDING)
    assert change.source == RoleChange.Source.COMMAND
    assert not Membership.objects.filter(user=school.oscar, role=Role.CENTER_STAFF).exists()
    with pytest.raises(CommandError, match="不能确认自己提出"):
        call_command("role_change", "confirm", by=school.dave.username, id=change.pk)
    call_command("role_change", "confirm", by=dora.username, id=change.pk)
    assert fresh(school.oscar).has_perm("accounts.approve_as_center", school.center)
    assert RoleChange.objects.get(pk=change.pk).decided_by == dora


def test_postgresql_refuses_to_rewrite_or_delete_the_role_log(
    school: School, dora: User, require_postgres: None
) -> None:
    """Raw SQL, whatever the role: a pending change is decided once, then nothing changes."""
    from django.db import DatabaseError, connection, transaction

    change = role_change_propose(
        actor=school.dave,
        user=school.oscar,
        organization=school.committee,
        role=Role.COMMITTEE_REVIEWER,
    )
    role_change_confirm(change=change, actor=dora)  # the one allowed update
    for sql in (
        "UPDATE accounts_rolechange SET decided_by_id = proposed_by_id WHERE id = %s",
        "UPDATE accounts_rolechange SET status = 'pending' WHERE id = %s",
        "DELETE FROM accounts_rolechange WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="accounts_rolechange"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [change.pk])
    pending = role_change_propose(
        actor=school.dave, user=school.olivia, organization=school.center, role=Role.CENTER_STAFF
    )
    with (
        pytest.raises(DatabaseError, match="accounts_rolechange"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):  # a proposal's content never changes
        cursor.execute(
            "UPDATE accounts_rolechange SET role = 'committee_reviewer' WHERE id = %s",
            [pending.pk],
        )
    assert RoleChange.objects.get(pk=change.pk).decided_by == dora
