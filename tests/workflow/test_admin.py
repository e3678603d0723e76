"""The admin keeps the site's rules: drafts stay private, roles change through the roles page."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from accounts.models import Membership, RoleChange, User
from accounts.roles import CENTER_STAFF_GROUP
from personal import services
from personal.models import PersonalRequest
from tests.conftest import School


def test_nobody_but_the_author_sees_a_draft_in_the_admin(
    client: Client, school: School, draft: PersonalRequest
) -> None:
    root = User.objects.create_superuser(username="root", password="x", name="管理员")
    for person, pages in (
        (school.dave, ["admin:workflow_backfillrequest"]),
        (root, ["admin:workflow_backfillrequest", "admin:personal_personalrequest"]),
    ):
        client.force_login(person)
        for name in pages:
            listing = client.get(reverse(f"{name}_changelist"))
            assert listing.status_code == 200 and draft.title not in listing.content.decode()
            # A hidden object is "doesn't exist": the admin sends the user back to its index.
            assert client.get(reverse(f"{name}_change", args=[draft.pk])).status_code == 302
    services.personal_request_submit(request=draft, actor=school.alice)
    listing = client.get(reverse("admin:personal_personalrequest_changelist"))
    assert draft.title in listing.content.decode()


def test_roles_changed_on_the_roles_page_grant_and_take_the_permissions(
    client: Client, school: School
) -> None:
    admin = User.objects.create_superuser(username="root", password="x", name="管理员")
    helper = User.objects.create(username="T5555", name="助理")
    client.force_login(school.dave)
    response = client.post(
        reverse("accounts:role_change_propose"),
        {
            "username": helper.username,
            "organization": school.center.pk,
            "role": Membership.Role.CENTER_STAFF,
            "action": "grant",
        },
    )
    assert response.status_code == 302
    # Proposed, not granted: a second person confirms.
    assert not User.objects.get(pk=helper.pk).has_perm("accounts.approve_as_center", school.center)
    change = RoleChange.objects.get(user=helper, status=RoleChange.Status.PENDING)
    client.force_login(admin)
    response = client.post(reverse("accounts:role_change_confirm", args=[change.pk]))
    assert response.status_code == 302
    helper = User.objects.get(pk=helper.pk)
    assert helper.is_staff and helper.groups.filter(name=CENTER_STAFF_GROUP).exists()
    assert helper.has_perm("accounts.approve_as_center", school.center)
    # Revoking takes one person (it grants nothing).
    client.force_login(school.dave)
    response = client.post(
        reverse("accounts:role_change_propose"),
        {
            "username": helper.username,
            "organization": school.center.pk,
            "role": Membership.Role.CENTER_STAFF,
            "action": "revoke",
        },
    )
    assert response.status_code == 302
    helper = User.objects.get(pk=helper.pk)
    # The last center role took the admin access with it.
    assert not helper.is_staff
    assert not helper.groups.filter(name=CENTER_STAFF_GROUP).exists()
    assert not helper.has_perm("accounts.approve_as_center", school.center)
    assert Group.objects.filter(name=CENTER_STAFF_GROUP).exists()
