"""Users, organizations and role memberships.

Roles grant django-guardian object permissions on the organization they belong to; the grants
are made and revoked by `accounts.services` only, so `user.has_perm("accounts.<perm>", org)` is
the one question the rest of the app asks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bulu import limits
from bulu.exceptions import ApplicationError


class User(AbstractUser):
    """username is the 学号 (students) or 工号 (staff)."""

    class Gender(models.TextChoices):
        MALE = "男", _("男")
        FEMALE = "女", _("女")

    username = models.CharField(
        _("学号/工号"),
        max_length=32,
        unique=True,
        error_messages={"unique": _("该学号/工号已存在。")},
    )
    name = models.CharField(_("姓名"), max_length=64, default="", blank=True)
    phone = models.CharField(_("联系电话"), max_length=32, default="", blank=True)
    gender = models.CharField(
        _("性别"), max_length=2, choices=Gender.choices, blank=True, default=""
    )
    major = models.CharField(_("专业"), max_length=64, blank=True, default="")
    grade = models.CharField(_("年级"), max_length=16, blank=True, default="")
    must_change_password = models.BooleanField(
        _("须修改密码"), default=False, help_text=_("使用初始密码登录后须先修改密码。")
    )
    # Set when the account's personal data was removed after the retention period (privacy).
    anonymized_at = models.DateTimeField(_("匿名化时间"), null=True, blank=True, editable=False)

    REQUIRED_FIELDS = ["name"]

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")
        swappable = "AUTH_USER_MODEL"

    def __str__(self) -> str:
        return f"{self.name}（{self.username}）" if self.name else self.username

    def get_full_name(self) -> str:
        return self.name or self.username

    def get_short_name(self) -> str:
        return self.name or self.username


class Organization(models.Model):
    class Kind(models.TextChoices):
        SCHOOL = "school", _("学校")
        COLLEGE = "college", _("二级学院")
        BRANCH = "branch", _("团总支")
        CLASS = "class", _("班级")
        STUDENT_ORG = "student_org", _("学生组织")
        CLUB = "club", _("学生社团")
        CENTER = "center", _("二课中心")
        COMMITTEE = "committee", _("校团委")

    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices, db_index=True)
    name = models.CharField(_("名称"), max_length=128)
    # College for branches and classes, college or none (school level) for organizations and clubs.
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级组织"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("组织")
        verbose_name_plural = _("组织")
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "parent", "name"], name="org_unique_name"),
            models.UniqueConstraint(
                fields=["parent"], condition=Q(kind="branch"), name="org_one_branch_per_college"
            ),
        ]
        permissions = [
            ("view_org_requests", _("查看本组织的补录申请")),
            ("submit_for_org", _("以本组织名义提交申请")),
            ("approve_as_counselor", _("以辅导员身份审核")),
            ("approve_as_advisor", _("以指导老师身份审核")),
            ("approve_as_secretary", _("以团总支书记身份审核")),
            ("approve_as_center", _("以二课中心身份审核")),
            ("approve_as_committee", _("以校团委身份审核")),
            ("manage_registry", _("管理学生名册与积分设置")),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def college(self) -> Organization | None:
        """The college this organization belongs to (itself for a college)."""
        if self.kind == self.Kind.COLLEGE:
            return self
        if self.parent_id and self.parent and self.parent.kind == self.Kind.COLLEGE:
            return self.parent
        return None


class Membership(models.Model):
    class Role(models.TextChoices):
        STUDENT = "student", _("学生")
        COUNSELOR = "counselor", _("辅导员")
        ADVISOR = "advisor", _("指导老师")
        SECRETARY = "secretary", _("团总支书记")
        APPLICANT = "applicant", _("申请人（学生干部）")
        CENTER_STAFF = "center_staff", _("二课中心工作人员")
        COMMITTEE_REVIEWER = "committee_reviewer", _("校团委审核人")

    user = models.ForeignKey(
        User, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="memberships"
    )
    organization = models.ForeignKey(
        Organization, verbose_name=_("组织"), on_delete=models.PROTECT, related_name="memberships"
    )
    role = models.CharField(_("角色"), max_length=24, choices=Role.choices, db_index=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("角色")
        verbose_name_plural = _("角色")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organization", "role"], name="membership_unique"
            ),
            models.UniqueConstraint(
                fields=["user"], condition=Q(role="student"), name="membership_one_class"
            ),
        ]
        indexes = [models.Index(fields=["organization", "role"])]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.organization}"


class RoleChangeQuerySet(models.QuerySet["RoleChange"]):
    """Append-only: rows are added (bulk or one by one) and decided once through `save()`."""

    def update(self, **kwargs: object) -> int:
        raise RoleChangeLocked(str(_("角色变更记录不能批量修改。")))

    def delete(self) -> tuple[int, dict[str, int]]:
        raise RoleChangeLocked(str(_("角色变更记录不能删除。")))


class RoleChangeLocked(ApplicationError):
    """A write that would change history: a decided row, a deletion, a bulk update."""


class RoleChange(models.Model):
    """One proposed, confirmed or refused change of a role (the roles' append-only log).

    A pending row may be decided once (confirmed or refused); after that nothing changes.
    `proposed_by` is empty for the system (demo seeding, tests' bootstrap, registry imports run
    without a named person); `decided_by` is empty when the system confirmed it.
    """

    class Action(models.TextChoices):
        GRANT = "grant", _("授予")
        REVOKE = "revoke", _("撤销")

    class Status(models.TextChoices):
        PENDING = "pending", _("待确认")
        CONFIRMED = "confirmed", _("已生效")
        REFUSED = "refused", _("已拒绝")

    class Source(models.TextChoices):
        PAGE = "page", _("角色管理页面")
        COMMAND = "command", _("管理命令")
        IMPORT = "import", _("名册导入")
        SYSTEM = "system", _("系统初始化")

    user = models.ForeignKey(
        User, verbose_name=_("对象用户"), on_delete=models.PROTECT, related_name="role_changes"
    )
    organization = models.ForeignKey(
        Organization, verbose_name=_("组织"), on_delete=models.PROTECT, related_name="+"
    )
    role = models.CharField(_("角色"), max_length=24, choices=Membership.Role.choices)
    action = models.CharField(_("操作"), max_length=8, choices=Action.choices)
    status = models.CharField(
        _("状态"), max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    source = models.CharField(_("来源"), max_length=12, choices=Source.choices)
    proposed_by = models.ForeignKey(
        User,
        verbose_name=_("提出人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    proposed_at = models.DateTimeField(_("提出时间"), default=timezone.now)
    decided_by = models.ForeignKey(
        User,
        verbose_name=_("确认/拒绝人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("确认/拒绝时间"), null=True, blank=True)
    reason = models.CharField(
        _("说明"), max_length=limits.ROLE_CHANGE_REASON, blank=True, default=""
    )

    objects = RoleChangeQuerySet.as_manager()

    # Set once, when a pending row is decided; every other field never changes.
    DECISION_FIELDS = ("status", "decided_by", "decided_at", "reason")

    class Meta:
        verbose_name = _("角色变更记录")
        verbose_name_plural = _("角色变更记录")
        ordering = ["-proposed_at", "-pk"]
        constraints = [
            # Two open proposals for the same change would let one confirmation count twice.
            models.UniqueConstraint(
                fields=["user", "organization", "role", "action"],
                condition=Q(status="pending"),
                name="rolechange_one_pending",
            ),
        ]

    def __str__(self) -> str:
        action, role = self.get_action_display(), self.get_role_display()
        return f"{action} {self.user} · {role} · {self.organization}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            stored = type(self).objects.filter(pk=self.pk).values().first()
            if stored is not None:
                self._check_decision(stored)
                kwargs["update_fields"] = [
                    f
                    for f in self.DECISION_FIELDS
                    if f in (kwargs.get("update_fields") or self.DECISION_FIELDS)
                ]
        super().save(*args, **kwargs)

    def _check_decision(self, stored: Mapping[str, Any]) -> None:
        if stored["status"] != self.Status.PENDING:
            raise RoleChangeLocked(str(_("该角色变更已处理，记录不能再修改。")))
        for field in self._meta.concrete_fields:
            if field.name in self.DECISION_FIELDS:
                continue
            if stored[field.attname] != getattr(self, field.attname):
                raise RoleChangeLocked(
                    str(_("角色变更记录的“%(field)s”不能修改。")) % {"field": field.verbose_name}
                )

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise RoleChangeLocked(str(_("角色变更记录不能删除。")))


# Direct foreign-key object permissions (django-guardian): an indexed join instead of comparing
# `object_pk` as text, which keeps approver queues fast over large tables.
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase  # noqa: E402


class OrganizationUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Organization, on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        verbose_name = _("组织用户权限")
        verbose_name_plural = _("组织用户权限")


class OrganizationGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Organization, on_delete=models.CASCADE)

    class Meta(GroupObjectPermissionBase.Meta):
        verbose_name = _("组织组权限")
        verbose_name_plural = _("组织组权限")
