"""Reads for accounts, always narrowed to what the asking user may see."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from guardian.shortcuts import get_objects_for_user

from accounts.models import Membership, Organization, User

SCHOOL_WIDE_PERMS = ("accounts.approve_as_center", "accounts.approve_as_committee")


def user_is_school_wide(*, user: User) -> bool:
    """Center staff and committee reviewers see the whole school."""
    if user.is_superuser:
        return True
    return get_objects_for_user(
        user, list(SCHOOL_WIDE_PERMS), klass=Organization, any_perm=True, accept_global_perms=False
    ).exists()


def organizations_for_user(*, user: User, perm: str) -> QuerySet[Organization]:
    """Organizations on which `user` holds the object permission `perm` ("accounts.x")."""
    return get_objects_for_user(user, perm, klass=Organization, accept_global_perms=False)


def user_scope_colleges(*, user: User) -> QuerySet[Organization]:
    """Colleges whose data the user may see: all for school-wide roles, else via their roles."""
    colleges = Organization.objects.filter(kind=Organization.Kind.COLLEGE)
    if user_is_school_wide(user=user):
        return colleges
    orgs = organizations_for_user(user=user, perm="accounts.view_org_requests")
    return colleges.filter(Q(pk__in=orgs.values("parent_id")) | Q(pk__in=orgs.values("pk")))


def user_scope_classes(*, user: User) -> QuerySet[Organization]:
    """Classes whose students the user may see (counselor: own classes; secretary: the college)."""
    classes = Organization.objects.filter(kind=Organization.Kind.CLASS)
    if user_is_school_wide(user=user):
        return classes
    counselor = organizations_for_user(user=user, perm="accounts.approve_as_counselor")
    branches = organizations_for_user(user=user, perm="accounts.approve_as_secretary")
    return classes.filter(Q(pk__in=counselor) | Q(parent__in=branches.values("parent_id")))


def classes_for_password_issue(*, user: User) -> QuerySet[Organization]:
    """Classes whose students' initial passwords the user may issue.

    The class's counselor, the college's branch secretary, and registry managers (the center).
    """
    classes = Organization.objects.filter(kind=Organization.Kind.CLASS)
    if organizations_for_user(user=user, perm="accounts.manage_registry").exists():
        return classes
    counselor = organizations_for_user(user=user, perm="accounts.approve_as_counselor")
    branches = organizations_for_user(user=user, perm="accounts.approve_as_secretary")
    return classes.filter(Q(pk__in=counselor) | Q(parent__in=branches.values("parent_id")))


def students_visible_to(*, user: User) -> QuerySet[User]:
    """Students the user may see; a student sees only themself."""
    memberships = Membership.objects.filter(
        role=Membership.Role.STUDENT, organization__in=user_scope_classes(user=user)
    )
    return User.objects.filter(
        Q(pk=user.pk, memberships__role=Membership.Role.STUDENT)
        | Q(pk__in=memberships.values("user_id"))
    ).distinct()


def user_roles(*, user: User) -> list[Membership]:
    return list(Membership.objects.filter(user=user).select_related("organization__parent"))


def student_class(*, user: User) -> Organization | None:
    m = (
        Membership.objects.filter(user=user, role=Membership.Role.STUDENT)
        .select_related("organization__parent")
        .first()
    )
    return m.organization if m else None
