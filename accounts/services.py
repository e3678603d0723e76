"""Writes for accounts: roles and the guardian permissions they carry."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, remove_perm

from accounts.models import Membership, Organization, RoleChange, User
from accounts.roles import APPROVER_ROLES, CENTER_STAFF_GROUP, ROLE_ORG_KINDS, ROLE_PERMISSIONS
from accounts.selectors import user_scope_forget
from bulu import limits
from bulu.exceptions import AccessDenied, ApplicationError


def _role_check(*, organization: Organization, role: str) -> None:
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


def _system_log(
    *, user: User, organization: Organization, role: str, action: str, source: str
) -> None:
    now = timezone.now()
    RoleChange.objects.create(
        user=user,
        organization=organization,
        role=role,
        action=action,
        source=source,
        status=RoleChange.Status.CONFIRMED,
        proposed_at=now,
        decided_at=now,
    )


def role_grant(
    *, user: User, organization: Organization, role: str, log: bool = True
) -> Membership:
    """Give `user` the `role` on `organization` and the object permissions it carries.

    The bootstrap: demo seeding, fixtures and `role_change_confirm` call it. A new membership
    made here directly is logged as confirmed by the system (`log=False`: the caller logs).
    People change roles through `role_change_propose` / `role_change_confirm` only.
    """
    _role_check(organization=organization, role=role)
    with transaction.atomic():
        if role == Membership.Role.STUDENT:
            # A student belongs to exactly one class: moving classes replaces the membership.
            Membership.objects.filter(user=user, role=role).exclude(
                organization=organization
            ).delete()
        membership, created = Membership.objects.get_or_create(
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
        if created and log:
            _system_log(
                user=user,
                organization=organization,
                role=role,
                action=RoleChange.Action.GRANT,
                source=RoleChange.Source.SYSTEM,
            )
    user_scope_forget(user=user)
    return membership


def role_revoke(*, user: User, organization: Organization, role: str, log: bool = True) -> None:
    """Remove the role and every permission no other remaining role of the user still grants."""
    with transaction.atomic():
        deleted, _rows = Membership.objects.filter(
            user=user, organization=organization, role=role
        ).delete()
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
        if deleted and log:
            _system_log(
                user=user,
                organization=organization,
                role=role,
                action=RoleChange.Action.REVOKE,
                source=RoleChange.Source.SYSTEM,
            )
    user_scope_forget(user=user)


# --- role changes by people: propose, confirm, refuse ------------------------------------------


def user_may_manage_roles(*, user: User) -> bool:
    """Center staff (on an active center) and superusers propose and confirm role changes."""
    if not user.is_active:
        return False
    if user.is_superuser:
        return True
    return Membership.objects.filter(
        user_id=user.pk,
        role=Membership.Role.CENTER_STAFF,
        organization__is_active=True,
    ).exists()


def role_change_needs_second_person(*, role: str, action: str) -> bool:
    """Granting an approver role takes two people; revoking and student roles take one."""
    return action == RoleChange.Action.GRANT and role in APPROVER_ROLES


def _self_change() -> AccessDenied:
    return AccessDenied(_("不能调整自己的角色，请由其他二课中心工作人员或系统管理员办理。"))


def _manager_check(actor: User) -> None:
    if not user_may_manage_roles(user=actor):
        raise AccessDenied(_("只有二课中心工作人员或系统管理员可以调整角色。"))


def _apply(change: RoleChange) -> None:
    if change.action == RoleChange.Action.GRANT:
        role_grant(user=change.user, organization=change.organization, role=change.role, log=False)
    else:
        role_revoke(user=change.user, organization=change.organization, role=change.role, log=False)


def role_change_propose(
    *,
    actor: User,
    user: User,
    organization: Organization,
    role: str,
    action: str = RoleChange.Action.GRANT,
    source: str = RoleChange.Source.PAGE,
    reason: str = "",
) -> RoleChange:
    """Propose a role change; it takes effect now unless it needs a second person.

    Nobody changes their own roles. An approver role's grant stays pending until another person
    who may manage roles confirms it, except when the proposer is a superuser (who holds every
    permission already, so a second person would add nothing): then it takes effect at once.
    """
    _manager_check(actor)
    if actor.pk == user.pk:
        raise _self_change()
    reason = reason.strip()
    limits.texts_ensure_fit(RoleChange, {"reason": reason})
    if action not in RoleChange.Action.values:
        raise ApplicationError(_("未知的角色操作：%(action)s") % {"action": action})
    _role_check(organization=organization, role=role)
    held = Membership.objects.filter(user=user, organization=organization, role=role).exists()
    labels = {"user": str(user), "role": Membership.Role(role).label, "org": organization.name}
    if action == RoleChange.Action.GRANT and held:
        raise ApplicationError(_("%(user)s 已是“%(org)s”的%(role)s。") % labels)
    if action == RoleChange.Action.REVOKE and not held:
        raise ApplicationError(_("%(user)s 不是“%(org)s”的%(role)s，无需撤销。") % labels)
    if RoleChange.objects.filter(
        user=user,
        organization=organization,
        role=role,
        action=action,
        status=RoleChange.Status.PENDING,
    ).exists():
        raise ApplicationError(
            _("已有同样的调整等待确认：%(user)s · %(org)s · %(role)s。") % labels
        )
    two_person = role_change_needs_second_person(role=role, action=action)
    now = timezone.now()
    with transaction.atomic():
        change = RoleChange.objects.create(
            user=user,
            organization=organization,
            role=role,
            action=action,
            source=source,
            proposed_by=actor,
            proposed_at=now,
            reason=reason,
        )
        if not two_person or actor.is_superuser:
            _apply(change)
            change.status = RoleChange.Status.CONFIRMED
            change.decided_by = actor
            change.decided_at = now
            change.save()
    return change


def _lock_pending(change: RoleChange) -> RoleChange:
    locked = RoleChange.objects.select_for_update().select_related("user", "organization")
    row = locked.get(pk=change.pk)
    if row.status != RoleChange.Status.PENDING:
        raise ApplicationError(
            _("该角色调整已被处理（%(status)s），请刷新页面。")
            % {"status": row.get_status_display()}
        )
    return row


def role_change_confirm(*, change: RoleChange, actor: User) -> RoleChange:
    """A second person confirms a pending change; only then does it take effect."""
    _manager_check(actor)
    with transaction.atomic():
        row = _lock_pending(change)
        if actor.pk == row.user_id:
            raise _self_change()
        if actor.pk == row.proposed_by_id and not actor.is_superuser:
            raise AccessDenied(
                _("不能确认自己提出的角色调整，请由另一位二课中心工作人员或系统管理员确认。")
            )
        _apply(row)
        row.status = RoleChange.Status.CONFIRMED
        row.decided_by = actor
        row.decided_at = timezone.now()
        row.save()
    return row


def role_change_refuse(*, change: RoleChange, actor: User, reason: str = "") -> RoleChange:
    """Refuse a pending change (its proposer may withdraw it this way); nothing takes effect."""
    _manager_check(actor)
    reason = reason.strip()
    limits.text_ensure_fits(reason, limit=limits.ROLE_CHANGE_REASON, label=_("拒绝理由"))
    with transaction.atomic():
        row = _lock_pending(change)
        if actor.pk == row.user_id:
            raise _self_change()
        row.status = RoleChange.Status.REFUSED
        row.decided_by = actor
        row.decided_at = timezone.now()
        if reason:
            row.reason = reason
        row.save()
    return row


def role_changes_log_bulk(
    *, memberships: list[tuple[int, int, str]], source: str, actor: User | None = None
) -> None:
    """Log bulk-made student memberships (registry import, seeding) as confirmed at once."""
    now = timezone.now()
    RoleChange.objects.bulk_create(
        [
            RoleChange(
                user_id=user_id,
                organization_id=org_id,
                role=role,
                action=RoleChange.Action.GRANT,
                source=source,
                status=RoleChange.Status.CONFIRMED,
                proposed_by=actor,
                proposed_at=now,
                decided_by=actor,
                decided_at=now,
            )
            for user_id, org_id, role in memberships
        ],
        batch_size=1000,
    )


def organization_get_or_create(
    *, kind: str, name: str, parent: Organization | None = None
) -> tuple[Organization, bool]:
    return Organization.objects.get_or_create(kind=kind, name=name, parent=parent)


def college_ensure(*, name: str) -> Organization:
    """A college and its league branch come together: every college has one branch."""
    college, _created = organization_get_or_create(kind=Organization.Kind.COLLEGE, name=name)
    organization_get_or_create(kind=Organization.Kind.BRANCH, name=f"{name}团总支", parent=college)
    return college
