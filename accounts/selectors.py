"""Reads for accounts, always narrowed to what the asking user may see.

`user_scope` answers "which organizations may this user act for, with which permission" from one
query over the user's direct object permissions, kept on the user instance for the rest of the
request. Every other question here (and `bulu.workflow`'s "may act at this step") is a set
look-up in it, instead of one django-guardian call per check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.http import Http404

from accounts.models import (
    Membership,
    Organization,
    OrganizationUserObjectPermission,
    RoleChange,
    User,
)

SCHOOL_WIDE_CODENAMES = ("approve_as_center", "approve_as_committee")
_SCOPE_ATTR = "_bulu_scope"


@dataclass(frozen=True)
class Scope:
    """The organizations a user holds each object permission on (codename -> ids)."""

    user_id: int | None
    superuser: bool = False
    by_codename: dict[str, frozenset[int]] = field(default_factory=dict)

    def org_ids(self, codename: str) -> frozenset[int]:
        return self.by_codename.get(_codename(codename), frozenset())

    def has(self, codename: str, org_id: int | None) -> bool:
        return org_id is not None and org_id in self.org_ids(codename)

    @property
    def school_wide(self) -> bool:
        return self.superuser or any(self.org_ids(c) for c in SCHOOL_WIDE_CODENAMES)


def _codename(perm: str) -> str:
    return perm.split(".", 1)[1] if "." in perm else perm


def user_scope(*, user: User) -> Scope:
    """One query; cached on the instance (role services drop the cache when roles change)."""
    cached = getattr(user, _SCOPE_ATTR, None)
    if isinstance(cached, Scope):
        return cached
    if not user.is_authenticated or not user.is_active:
        scope = Scope(user_id=None)
    else:
        grouped: dict[str, set[int]] = {}
        for codename, org_id in OrganizationUserObjectPermission.objects.filter(
            user_id=user.pk
        ).values_list("permission__codename", "content_object_id"):
            grouped.setdefault(codename, set()).add(org_id)
        scope = Scope(
            user_id=user.pk,
            superuser=user.is_superuser,
            by_codename={k: frozenset(v) for k, v in grouped.items()},
        )
    setattr(user, _SCOPE_ATTR, scope)
    return scope


def user_is_center(user: User) -> bool:
    """二课中心 staff (or a superuser): the school-wide desk's pages and actions."""
    return bool(
        user.is_active and (user_scope(user=user).org_ids("approve_as_center") or user.is_superuser)
    )


def user_scope_forget(*, user: User) -> None:
    for attr in (_SCOPE_ATTR, "_bulu_roles"):
        if hasattr(user, attr):
            delattr(user, attr)


def user_is_school_wide(*, user: User) -> bool:
    """Center staff and committee reviewers see the whole school."""
    return user_scope(user=user).school_wide


def organizations_for_user(*, user: User, perm: str) -> QuerySet[Organization]:
    """Organizations on which `user` holds the object permission `perm` ("accounts.x")."""
    return Organization.objects.filter(pk__in=sorted(user_scope(user=user).org_ids(perm)))


def organizations_acted_for(
    *, user: User, codenames: Sequence[str], kinds: Sequence[str]
) -> QuerySet[Organization]:
    """Active organizations of `kinds` on which `user` holds any of `codenames`."""
    scope = user_scope(user=user)
    ids: set[int] = set()
    for codename in codenames:
        ids |= scope.org_ids(codename)
    return Organization.objects.filter(
        pk__in=sorted(ids), kind__in=kinds, is_active=True
    ).select_related("parent")


def user_scope_colleges(*, user: User) -> QuerySet[Organization]:
    """Colleges whose data the user may see: all for school-wide roles, else via their roles."""
    colleges = Organization.objects.filter(kind=Organization.Kind.COLLEGE)
    scope = user_scope(user=user)
    if scope.school_wide:
        return colleges
    orgs = sorted(scope.org_ids("view_org_requests"))
    return colleges.filter(
        Q(pk__in=orgs) | Q(pk__in=Organization.objects.filter(pk__in=orgs).values("parent_id"))
    )


def _classes_of(scope: Scope) -> QuerySet[Organization]:
    classes = Organization.objects.filter(kind=Organization.Kind.CLASS)
    branches = Organization.objects.filter(pk__in=sorted(scope.org_ids("approve_as_secretary")))
    return classes.filter(
        Q(pk__in=sorted(scope.org_ids("approve_as_counselor")))
        | Q(parent__in=branches.values("parent_id"))
    )


def user_scope_classes(*, user: User) -> QuerySet[Organization]:
    """Classes whose students the user may see (counselor: own classes; secretary: the college)."""
    scope = user_scope(user=user)
    if scope.school_wide:
        return Organization.objects.filter(kind=Organization.Kind.CLASS)
    return _classes_of(scope)


def classes_for_password_issue(*, user: User) -> QuerySet[Organization]:
    """Classes whose students' initial passwords the user may issue.

    The class's counselor, the college's branch secretary, and registry managers (the center).
    """
    scope = user_scope(user=user)
    if scope.org_ids("manage_registry"):
        return Organization.objects.filter(kind=Organization.Kind.CLASS)
    return _classes_of(scope)


def user_may_issue_passwords(*, user: User) -> bool:
    scope = user_scope(user=user)
    return bool(
        scope.org_ids("manage_registry")
        or scope.org_ids("approve_as_counselor")
        or scope.org_ids("approve_as_secretary")
    )


def students_visible_to(*, user: User) -> QuerySet[User]:
    """Students the user may see; a student sees only themself."""
    memberships = Membership.objects.filter(
        role=Membership.Role.STUDENT, organization__in=user_scope_classes(user=user)
    )
    return User.objects.filter(
        Q(pk=user.pk, memberships__role=Membership.Role.STUDENT)
        | Q(pk__in=memberships.values("user_id"))
    ).distinct()


def user_role_codes(*, user: User) -> frozenset[str]:
    """The roles the user holds anywhere (one query; cached like the scope)."""
    cached = getattr(user, "_bulu_roles", None)
    if isinstance(cached, frozenset):
        return cached
    roles = frozenset(
        Membership.objects.filter(user_id=user.pk).values_list("role", flat=True).distinct()
    )
    user._bulu_roles = roles  # type: ignore[attr-defined]
    return roles


def student_class(*, user: User) -> Organization | None:
    m = (
        Membership.objects.filter(user=user, role=Membership.Role.STUDENT)
        .select_related("organization__parent")
        .first()
    )
    return m.organization if m else None


# --- the roles' log ------------------------------------------------------------------------------


def user_may_see_role_changes(*, user: User) -> bool:
    """The center and the committee (and superusers) read the roles' log."""
    return user.is_authenticated and user.is_active and user_scope(user=user).school_wide


def role_changes_visible_to(*, user: User) -> QuerySet[RoleChange]:
    """The whole log for the center and the committee; nothing for anyone else."""
    qs = RoleChange.objects.select_related("user", "organization", "proposed_by", "decided_by")
    if not user_may_see_role_changes(user=user):
        return qs.none()
    return qs.order_by("-proposed_at", "-pk")


def role_changes_pending(*, user: User) -> QuerySet[RoleChange]:
    return role_changes_visible_to(user=user).filter(status=RoleChange.Status.PENDING)


def role_change_get_for_user(*, user: User, pk: int) -> RoleChange:
    try:
        return role_changes_visible_to(user=user).get(pk=pk)
    except RoleChange.DoesNotExist as exc:
        raise Http404 from exc
