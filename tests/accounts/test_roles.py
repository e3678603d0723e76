"""Roles grant and revoke guardian object permissions; selectors stay within a user's scope."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Membership, User
from accounts.roles import CENTER_STAFF_GROUP
from accounts.selectors import (
    organizations_for_user,
    students_visible_to,
    user_is_school_wide,
    user_scope_classes,
    user_scope_colleges,
)
from accounts.services import role_grant, role_revoke
from bulu.exceptions import ApplicationError
from tests.conftest import School
from tests.factories import UserFactory

Role = Membership.Role


def fresh(user: User) -> User:
    # Guardian caches permissions on the user object; a fresh instance asks the database.
    return User.objects.get(pk=user.pk)


def test_it_grants_the_counselor_permissions_on_the_class_only(school: School) -> None:
    bob = fresh(school.bob)
    assert bob.has_perm("accounts.approve_as_counselor", school.class_a1)
    assert not bob.has_perm("accounts.approve_as_counselor", school.class_a2)
    assert not bob.has_perm("accounts.approve_as_counselor")
    assert not bob.has_perm("accounts.approve_as_secretary", school.branch_a)


def test_it_revokes_permissions_with_the_role(school: School) -> None:
    role_revoke(user=school.bob, organization=school.class_a1, role=Role.COUNSELOR)
    bob = fresh(school.bob)
    assert not bob.has_perm("accounts.approve_as_counselor", school.class_a1)
    assert not Membership.objects.filter(user=school.bob).exists()


def test_it_keeps_a_permission_another_role_still_grants(school: School) -> None:
    # gina is the club's applicant; make her its advisor too, then drop the applicant role.
    role_grant(user=school.gina, organization=school.club, role=Role.ADVISOR)
    role_revoke(user=school.gina, organization=school.club, role=Role.APPLICANT)
    gina = fresh(school.gina)
    assert gina.has_perm("accounts.view_org_requests", school.club)
    assert gina.has_perm("accounts.approve_as_advisor", school.club)
    assert not gina.has_perm("accounts.submit_for_org", school.club)


def test_it_refuses_a_role_on_the_wrong_kind_of_organization(school: School) -> None:
    with pytest.raises(ApplicationError, match="不能设在"):
        role_grant(user=school.bob, organization=school.club, role=Role.COUNSELOR)


def test_it_moves_a_student_between_classes(school: School) -> None:
    role_grant(user=school.alice, organization=school.class_a2, role=Role.STUDENT)
    classes = Membership.objects.filter(user=school.alice, role=Role.STUDENT)
    assert list(classes.values_list("organization", flat=True)) == [school.class_a2.pk]


def test_it_makes_center_staff_admin_users_with_the_settings_permissions(
    school: School,
) -> None:
    dave = fresh(school.dave)
    assert dave.is_staff
    assert dave.groups.filter(name=CENTER_STAFF_GROUP).exists()
    assert dave.has_perm("imports.change_activitycategory")
    assert dave.has_perm("workflow.add_window")
    assert not dave.has_perm("workflow.change_approvalrecord")
    role_revoke(user=school.dave, organization=school.center, role=Role.CENTER_STAFF)
    assert not fresh(school.dave).has_perm("imports.change_activitycategory")


def test_it_lists_the_organizations_a_user_may_act_for(school: School) -> None:
    orgs = organizations_for_user(user=school.gina, perm="accounts.submit_for_org")
    assert list(orgs) == [school.club]
    assert not organizations_for_user(user=school.alice, perm="accounts.submit_for_org").exists()


def test_it_keeps_an_outsider_out_of_another_colleges_data(school: School) -> None:
    assert set(students_visible_to(user=school.oscar)) == {school.olivia}
    assert school.alice not in students_visible_to(user=school.oscar)
    assert set(user_scope_colleges(user=school.oscar)) == {school.college_b}
    assert set(user_scope_classes(user=school.oscar)) == {school.class_b1}
    # The secretary sees the whole college; the student sees only herself.
    assert set(user_scope_classes(user=school.carol)) == {school.class_a1, school.class_a2}
    assert set(students_visible_to(user=school.alice)) == {school.alice}
    assert user_is_school_wide(user=school.dave) and not user_is_school_wide(user=school.carol)


def test_the_admin_is_read_only_for_roles(client: Client, school: School) -> None:
    admin = UserFactory.create(username="root", is_staff=True, is_superuser=True)
    newcomer = UserFactory.create(username="T5555", name="新老师")
    for person in (admin, school.dave):
        client.force_login(person)
        response = client.post(
            reverse("admin:accounts_membership_add"),
            {"user": newcomer.pk, "organization": school.class_a2.pk, "role": Role.COUNSELOR},
        )
        assert response.status_code == 403
        assert not Membership.objects.filter(user=newcomer).exists()
        membership = Membership.objects.get(user=school.bob)
        response = client.post(
            reverse("admin:accounts_membership_delete", args=[membership.pk]), {"post": "yes"}
        )
        assert response.status_code == 403
        assert fresh(school.bob).has_perm("accounts.approve_as_counselor", school.class_a1)
        # The list is still there to read.
        assert client.get(reverse("admin:accounts_membership_changelist")).status_code == 200
