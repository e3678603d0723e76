"""The one state machine shared by the three kinds of back-fill.

`BackfillRequest` is concrete; `personal`, `cadre` and `collective` extend it by multi-table
inheritance so queues, statistics, the approval log and exports span all kinds in one query.
Transition methods change state only; `bulu.workflow.services` does everything else.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition

from accounts.models import Organization
from accounts.selectors import user_scope
from bulu import limits


class Kind(models.TextChoices):
    PERSONAL = "personal", _("个人成长积分补录")
    CADRE = "cadre", _("学生干部积分补录")
    COLLECTIVE = "collective", _("集体活动积分补录")


class State(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PENDING = "pending", _("审核中")
    RETURNED = "returned", _("退回修改")
    REJECTED = "rejected", _("不予通过")
    APPROVED = "approved", _("已通过")
    EXPORTED = "exported", _("已导出")
    IMPORTED = "imported", _("已导入到梦空间")
    WITHDRAWN = "withdrawn", _("已撤回")


class StepRole(models.TextChoices):
    COUNSELOR = "counselor", _("辅导员")
    ADVISOR = "advisor", _("指导老师")
    SECRETARY = "secretary", _("团总支")
    CENTER = "center", _("二课中心")
    COMMITTEE = "committee", _("校团委")


# The guardian object permission (on the step's organization) that lets a user act at a step.
STEP_PERMISSION: dict[str, str] = {
    StepRole.COUNSELOR: "approve_as_counselor",
    StepRole.ADVISOR: "approve_as_advisor",
    StepRole.SECRETARY: "approve_as_secretary",
    StepRole.CENTER: "approve_as_center",
    StepRole.COMMITTEE: "approve_as_committee",
}


def _may_act_at_current_step(instance: models.Model, user: Any) -> bool:
    assert isinstance(instance, BackfillRequest)
    step = instance.current_step
    if step is None:
        return False
    return user_scope(user=user).has(STEP_PERMISSION[step.role], step.organization_id)


def _is_applicant(instance: models.Model, user: Any) -> bool:
    assert isinstance(instance, BackfillRequest)
    return bool(user.pk == instance.applicant_id)


def _no_decision_yet(instance: models.Model) -> bool:
    """Withdrawal from pending is allowed only before anyone decided at this submission."""
    assert isinstance(instance, BackfillRequest)
    return instance.state != State.PENDING or instance.step_index == instance.start_index


# 第四条: cadre lists 每年10月至11月; 第五条: personal notices 每年2月至3月. Collective: no rule.
REGULATION_MONTHS: dict[str, tuple[int, ...]] = {
    Kind.PERSONAL: (2, 3),
    Kind.CADRE: (10, 11),
}


def months_outside_rule(kind: str, opens_at: Any, closes_at: Any) -> list[int]:
    """The months (local time) of an open period that fall outside its kind's regulation months.

    `closes_at` is exclusive: a notice closing at 1 April 00:00 lies in February-March.
    """
    allowed = REGULATION_MONTHS.get(kind)
    if not allowed or opens_at is None or closes_at is None or closes_at <= opens_at:
        return []
    first = timezone.localtime(opens_at)
    last = timezone.localtime(closes_at - timedelta(microseconds=1))
    outside: list[int] = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        if month not in allowed and month not in outside:
            outside.append(month)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        if len(outside) == 12 - len(allowed):
            break
    return outside


def regulation_months_text(kind: str) -> str:
    """E.g. "2月至3月"; "" for a kind without a month rule."""
    allowed = REGULATION_MONTHS.get(kind)
    if not allowed:
        return ""
    return str(_("%(first)d月至%(last)d月")) % {"first": allowed[0], "last": allowed[-1]}


class SchoolYear(models.Model):
    """A 学年 of the school's calendar (data the center keeps): a cadre notice names the one it
    collects, and a term counts when it covers it (第四条「工作满一年」, see `cadre.terms`)."""

    label = models.CharField(_("学年"), max_length=16, unique=True, help_text=_("例如 2025-2026。"))
    starts_on = models.DateField(_("开学日期"), help_text=_("第一教学周的第一天。"))
    teaching_ends_on = models.DateField(
        _("教学周结束日期"), help_text=_("最后一个教学周的最后一天。")
    )
    ends_on = models.DateField(_("学年结束日期"), help_text=_("学年的最后一天（含考试周）。"))

    class Meta:
        verbose_name = _("学年")
        verbose_name_plural = _("学年")
        ordering = ["-starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(teaching_ends_on__gt=models.F("starts_on"))
                & models.Q(ends_on__gte=models.F("teaching_ends_on")),
                name="school_year_dates_in_order",
            )
        ]

    def __str__(self) -> str:
        return f"{self.label}学年"


class Window(models.Model):
    """A 补录通知: the notice the center publishes, with the dates its kind is open."""

    kind = models.CharField(_("补录类型"), max_length=16, choices=Kind.choices, db_index=True)
    title = models.CharField(_("标题"), max_length=limits.TITLE)
    body = models.TextField(_("通知内容"), max_length=limits.NOTICE_BODY, blank=True)
    opens_at = models.DateTimeField(_("开始时间"))
    closes_at = models.DateTimeField(_("截止时间"))
    grace_days = models.PositiveSmallIntegerField(
        _("退回后补交宽限天数"),
        default=0,
        help_text=_("截止后，被退回的申请仍可在此天数内重新提交。"),
    )
    is_published = models.BooleanField(_("已发布"), default=True)
    # 第四、五条 name the months; a school may set other dates, but says why (shown on the notice).
    off_season_reason = models.TextField(
        _("不在规定月份的原因"),
        max_length=limits.NOTICE_REASON,
        blank=True,
        help_text=_(
            "《办法》规定个人成长积分每年2月至3月补录（第五条）、学生干部积分每年10月至11月补录"
            "（第四条）。通知时间不在这些月份时必须填写原因，原因会显示在通知上。"
        ),
    )
    # 第四条: each October–November the center collects those who served the school year just
    # ended; a cadre notice names that year (other kinds leave it empty).
    school_year = models.ForeignKey(
        SchoolYear,
        verbose_name=_("收集学年"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="windows",
        help_text=_("学生干部补录通知必填：收集在该学年任职满一年的学生干部。"),
    )
    reminded_at = models.DateTimeField(_("截止提醒发送时间"), null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("发布人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("补录通知")
        verbose_name_plural = _("补录通知")
        ordering = ["-opens_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(closes_at__gt=models.F("opens_at")),
                name="window_closes_after_opens",
            )
        ]

    def __str__(self) -> str:
        return self.title

    def is_open(self, at: Any = None) -> bool:
        now = at or timezone.now()
        return self.is_published and self.opens_at <= now < self.closes_at

    @property
    def outside_months(self) -> bool:
        """Whether the open period leaves its kind's regulation months (then a reason is due)."""
        return bool(months_outside_rule(self.kind, self.opens_at, self.closes_at))

    @property
    def regulation_months(self) -> str:
        return regulation_months_text(self.kind)

    def months_problem(self) -> str:
        """The refusal when the period leaves the regulation months and no reason is given."""
        if not self.outside_months or self.off_season_reason.strip():
            return ""
        article = _("第五条") if self.kind == Kind.PERSONAL else _("第四条")
        return str(
            _(
                "《办法》%(article)s规定%(kind)s在每年%(months)s进行，本通知的时间不在这些月份内："
                "请填写“不在规定月份的原因”。"
            )
        ) % {"article": article, "kind": Kind(self.kind).label, "months": self.regulation_months}

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        problem = self.months_problem()
        if problem:
            raise ValidationError({"off_season_reason": problem})


class BackfillRequest(ConcurrentTransitionMixin, models.Model):
    kind = models.CharField(_("补录类型"), max_length=16, choices=Kind.choices, db_index=True)
    title = models.CharField(_("标题"), max_length=limits.TITLE)
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("申请人"),
        on_delete=models.PROTECT,
        related_name="backfill_requests",
    )
    applicant_org = models.ForeignKey(
        Organization,
        verbose_name=_("申请单位/班级"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    college = models.ForeignKey(
        Organization,
        verbose_name=_("二级学院"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    window = models.ForeignKey(
        Window,
        verbose_name=_("补录通知"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="requests",
    )
    state = FSMField(
        _("状态"),
        max_length=16,
        choices=State.choices,
        default=State.DRAFT,
        protected=True,
        db_index=True,
    )
    step_index = models.PositiveSmallIntegerField(_("当前步骤"), default=0)
    # The step the current submission started at: 1 when the applicant signed step 1 by filing.
    start_index = models.PositiveSmallIntegerField(_("起始步骤"), default=0)
    current_step = models.ForeignKey(
        "RouteStep",
        verbose_name=_("当前审核环节"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The current step's organization and role, copied here (services keep them in step) so
    # 我的待办 is one range scan of an index over the few organizations a user acts for.
    waiting_org = models.ForeignKey(
        Organization,
        verbose_name=_("等待审核的组织"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    waiting_role = models.CharField(_("等待审核的环节"), max_length=16, blank=True)
    version = models.PositiveIntegerField(_("版本"), default=0)
    # Counts (re)submissions: the four-eyes rule holds within one submission's decisions.
    submission = models.PositiveSmallIntegerField(_("提交次数"), default=0)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True, db_index=True)
    decided_at = models.DateTimeField(_("办结时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("补录申请")
        verbose_name_plural = _("补录申请")
        ordering = ["-submitted_at", "-pk"]
        indexes = [
            models.Index(fields=["state", "current_step"]),
            models.Index(fields=["kind", "state"]),
            models.Index(fields=["college", "state"]),
            models.Index(
                fields=["waiting_org", "waiting_role", "updated_at"],
                condition=models.Q(state="pending"),
                name="todo_queue",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    # Django's generated get_FOO_display() hashes every choice label, translating all of them
    # on each call (eleven translations per list row); these translate the one shown.
    def get_state_display(self) -> str:  # type: ignore[no-redef]  # replaces the generated one
        return str(State(self.state).label) if self.state in State.values else self.state

    def get_kind_display(self) -> str:  # type: ignore[no-redef]
        return str(Kind(self.kind).label) if self.kind in Kind.values else self.kind

    @property
    def route(self) -> list[RouteStep]:
        return list(self.route_steps.all())

    # --- transitions: state only; the services guard, log, notify ---------------------------

    @transition(field=state, source=State.DRAFT, target=State.PENDING, permission=_is_applicant)
    def submit(self) -> None:
        self.step_index = 0
        self.submission += 1

    @transition(field=state, source=State.RETURNED, target=State.PENDING, permission=_is_applicant)
    def resubmit(self) -> None:
        self.step_index = 0
        self.submission += 1

    @transition(
        field=state,
        source=State.PENDING,
        target=RETURN_VALUE(State.PENDING, State.APPROVED),
        permission=_may_act_at_current_step,
    )
    def approve(self, *, is_last: bool) -> str:
        if is_last:
            return State.APPROVED
        self.step_index += 1
        return State.PENDING

    @transition(
        field=state,
        source=State.PENDING,
        target=State.RETURNED,
        permission=_may_act_at_current_step,
    )
    def return_for_changes(self) -> None:
        pass

    @transition(
        field=state,
        source=State.PENDING,
        target=State.REJECTED,
        permission=_may_act_at_current_step,
    )
    def reject(self) -> None:
        pass

    @transition(
        field=state,
        source=[State.DRAFT, State.RETURNED, State.PENDING],
        target=State.WITHDRAWN,
        conditions=[_no_decision_yet],
        permission=_is_applicant,
    )
    def withdraw(self) -> None:
        pass

    @transition(field=state, source=State.APPROVED, target=State.EXPORTED)
    def mark_exported(self) -> None:
        pass

    @transition(field=state, source=State.EXPORTED, target=State.APPROVED)
    def unmark_exported(self) -> None:
        pass

    @transition(field=state, source=State.EXPORTED, target=State.IMPORTED)
    def confirm_imported(self) -> None:
        pass


class RequestTally(models.Model):
    """How many submitted requests there are per kind, state, college and notice.

    Kept by the workflow services in the same transaction as every state change, so the
    overview's counts never rescan the requests table (`rebuild_tallies` recomputes them).
    College and notice are plain ids (0 for none): NULLs would break the uniqueness.
    """

    kind = models.CharField(max_length=16, choices=Kind.choices)
    state = models.CharField(max_length=16, choices=State.choices)
    college_key = models.PositiveIntegerField(default=0)
    window_key = models.PositiveIntegerField(default=0)
    n = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("申请计数")
        verbose_name_plural = _("申请计数")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "state", "college_key", "window_key"], name="tally_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}/{self.state}: {self.n}"


class RouteStep(models.Model):
    """One step of a request's route, fixed when the request is (re)submitted."""

    request = models.ForeignKey(
        BackfillRequest, on_delete=models.CASCADE, related_name="route_steps"
    )
    index = models.PositiveSmallIntegerField(_("序号"))
    role = models.CharField(_("环节"), max_length=16, choices=StepRole.choices)
    organization = models.ForeignKey(
        Organization, verbose_name=_("负责组织"), on_delete=models.PROTECT, related_name="+"
    )
    label = models.CharField(_("说明"), max_length=64)

    class Meta:
        verbose_name = _("审核环节")
        verbose_name_plural = _("审核环节")
        ordering = ["request_id", "index"]
        constraints = [
            models.UniqueConstraint(fields=["request", "index"], name="route_step_unique_index")
        ]
        indexes = [models.Index(fields=["organization", "role"])]

    def __str__(self) -> str:
        return f"{self.index + 1}. {self.label}（{self.organization}）"


class Decision(models.TextChoices):
    SUBMIT = "submit", _("提交")
    RESUBMIT = "resubmit", _("重新提交")
    APPROVE = "approve", _("审核通过")
    RETURN = "return", _("退回修改")
    REJECT = "reject", _("不予通过")
    WITHDRAW = "withdraw", _("撤回")
    EXPORT = "export", _("导出")
    EXPORT_CANCEL = "export_cancel", _("撤销导出")
    IMPORT = "import", _("确认已导入")


class ImmutableError(Exception):
    pass


class ApprovalRecordQuerySet(models.QuerySet["ApprovalRecord"]):
    """Refuses the set-wise writes that would bypass `ApprovalRecord.save`/`delete`.

    It is also the base manager's queryset, so Django's deletion collector cannot fast-delete
    records either (requests protect their records anyway: `on_delete=PROTECT`). On PostgreSQL
    a trigger refuses UPDATE and DELETE of the table itself (`bulu.dbguards.append_only`).
    """

    def update(self, **kwargs: Any) -> int:
        raise ImmutableError("approval records are never updated")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ImmutableError("approval records are never deleted")

    def _raw_delete(self, using: Any) -> int:
        raise ImmutableError("approval records are never deleted")


class ApprovalRecord(models.Model):
    """One decision. The application only ever inserts rows here.

    `hash` seals the record's content and `prev_hash` (the request's previous record's hash):
    see `bulu.workflow.ledger`.
    """

    request = models.ForeignKey(
        BackfillRequest, verbose_name=_("申请"), on_delete=models.PROTECT, related_name="log"
    )
    step_index = models.PositiveSmallIntegerField(_("步骤"), null=True, blank=True)
    step_role = models.CharField(_("环节"), max_length=16, blank=True)
    step_label = models.CharField(_("环节说明"), max_length=64, blank=True)
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("组织"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    decision = models.CharField(_("决定"), max_length=16, choices=Decision.choices)
    opinion = models.TextField(_("意见"), max_length=limits.OPINION, blank=True)
    from_state = models.CharField(_("原状态"), max_length=16, choices=State.choices)
    to_state = models.CharField(_("新状态"), max_length=16, choices=State.choices)
    submission = models.PositiveSmallIntegerField(_("第几次提交"), default=0)
    # What the decider saw beyond the request itself, as its kind reports it (e.g. which roster
    # version a collective request's approver decided on).
    context = models.JSONField(_("审核时所见"), default=dict, blank=True)
    created_at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    prev_hash = models.CharField(
        _("上一条记录的校验值"),
        max_length=64,
        blank=True,
        default="",
        db_default="",
        editable=False,
    )
    hash = models.CharField(
        _("校验值"), max_length=64, blank=True, default="", db_default="", editable=False
    )

    objects = ApprovalRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("审批记录")
        verbose_name_plural = _("审批记录")
        base_manager_name = "objects"
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["request", "actor", "submission"])]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} · {self.actor}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ImmutableError("approval records are never updated")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ImmutableError("approval records are never deleted")


class Notification(models.Model):
    """An in-app message (消息); e-mail goes out alongside it."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("接收人"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    request = models.ForeignKey(
        BackfillRequest,
        verbose_name=_("申请"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    text = models.CharField(_("内容"), max_length=300)
    url = models.CharField(_("链接"), max_length=200, blank=True)
    # A 待办: "this waits for you". Marked done for everyone once the request moves on.
    is_todo = models.BooleanField(_("待办"), default=False)
    done_at = models.DateTimeField(_("已处理时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("消息")
        verbose_name_plural = _("消息")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["recipient", "read_at"]),
            models.Index(fields=["request", "is_todo", "done_at"]),
        ]

    def __str__(self) -> str:
        return self.text


class OwnerGapAlert(models.Model):
    """The center was told that `organization` has nobody for `role` (told once per gap).

    Deleted when someone gets the role there, so a later gap is reported again.
    """

    organization = models.ForeignKey(
        Organization, verbose_name=_("组织"), on_delete=models.CASCADE, related_name="+"
    )
    role = models.CharField(_("环节"), max_length=16, choices=StepRole.choices)
    notified_at = models.DateTimeField(_("通知时间"), default=timezone.now)

    class Meta:
        verbose_name = _("缺少审核人提醒")
        verbose_name_plural = _("缺少审核人提醒")
        constraints = [
            models.UniqueConstraint(fields=["organization", "role"], name="owner_gap_once")
        ]

    def __str__(self) -> str:
        return f"{self.organization} · {self.get_role_display()}"
