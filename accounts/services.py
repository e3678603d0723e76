"""Writes for accounts: roles and the guardian permissions they carry."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.db import transaction
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, remove_perm

from accounts.models import Membership, Organization, User
from accounts.roles import CENTER_STAFF_GROUP, ROLE_ORG_KINDS, ROLE_PERMISSIONS
from accounts.selectors import user_scope_forget
from bulu.exceptions import ApplicationError


def role_grant(*, user: User, organization: Organization, role: str) -> Membership:
    """Give `user` the `role` on `organization` and the object permissions it carries."""
    allowed = ROLE_ORG_KINDS.get(role)
    if allowed is None:
        raise ApplicationError(_("未知角色：%(role)s") % {"role": role})
    if organization.kind not in allowed:
        raise ApplicationError(
            _("角色“%(role)s”不能设在“%(org)s”（%(kind)s）上。")
            % {
                "role": Membership.Role(role).label,
                "org": organization.name,
                "kind": organization.get_kind_display(),
            }
        )
    with transaction.atomic():
        if role == Membership.Role.STUDENT:
            # A student belongs to exactly one class: moving classes replaces the membership.
            Membership.objects.filter(user=user, role=role).exclude(
                organization=organization
            ).delete()
        membership, _created = Membership.objects.get_or_create(
            user=user, organization=organization, role=role
        )
        for codename in ROLE_PERMISSIONS[role]:
            assign_perm(f"accounts.{codename}", user, organization)
        if role == Membership.Role.CENTER_STAFF:
            # Center staff maintain the settings mirror and notices in the admin.
            group, _created = Group.objects.get_or_create(name=CENTER_STAFF_GROUP)
            user.groups.add(group)
            if not user.is_staff:
                user.is_staff = True
                user.save(update_fields=["is_staff"])
    user_scope_forget(user=user)
    return membership


def role_revoke(*, user: User, organization: Organization, role: str) -> None:
    """Remove the role and every permission no other remaining role of the user still grants."""
    with transaction.atomic():
        Membership.objects.filter(user=user, organization=organization, role=role).delete()
        still_granted: set[str] = set()
        for other in Membership.objects.filter(user=user, organization=organization):
            still_granted.update(ROLE_PERMISSIONS[other.role])
        for codename in ROLE_PERMISSIONS.get(role, ()):
            if codename not in still_granted:
                remove_perm(f"accounts.{codename}", user, organization)
        center_left = not Membership.objects.filter(
            user=user, role=Membership.Role.CENTER_STAFF
        ).exists()
        if role == Membership.Role.CENTER_STAFF and center_left:
            # The admin access came with the role and goes with it (a superuser keeps theirs).
            user.groups.remove(*Group.objects.filter(name=CENTER_STAFF_GROUP))
            if user.is_staff and not user.is_superuser:
                user.is_staff = False
                user.save(update_fields=["is_staff"])
    user_scope_forget(user=user)


def organization_get_or_create(
    *, kind: str, name: str, parent: Organization | None = None
) -> tuple[Organization, bool]:
    return Organization.objects.get_or_create(kind=kind, name=name, parent=parent)


def college_ensure(*, name: str) -> Organization:
    """A college and its league branch come together: every college has one branch."""
    college, _created = organization_get_or_create(kind=Organization.Kind.COLLEGE, name=name)
    organization_get_or_create(kind=Organization.Kind.BRANCH, name=f"{name}团总支", parent=college)
    return college
