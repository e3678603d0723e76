"""集体活动积分补录 (第二章): a unit applies for every participant of one activity.

One request holds the four attachments of 第三条: the letter (申请书, 附件2), the form (申请单,
附件3), the roster (人员信息, 附件4, an `imports.RosterUpload` whose rows are stored as
`imports.RosterEntry`) and, in case (二), the explanation (情况说明, 附件5).
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _

from bulu import limits
from bulu.workflow.models import BackfillRequest
from imports.models import CreditStandardItem, CreditType, RosterUpload


class CollectiveRequest(BackfillRequest):
    class Case(models.TextChoices):
        # 第二条 (一) and (二); nothing else may be back-filled collectively.
        UNPUBLISHED = "unpublished", _("（一）活动已完结，但到梦空间未发布该活动，积分未发放")
        UNFINISHED = (
            "unfinished",
            _("（二）活动已在到梦空间发布，因发布者操作原因未完结，积分未能正常发放"),
        )

    case = models.CharField(_("补录情形"), max_length=16, choices=Case.choices, blank=True)
    # 申请书 (附件2)
    activity_name = models.CharField(_("活动名称"), max_length=limits.NAME, blank=True)
    standard_item = models.ForeignKey(
        CreditStandardItem,
        verbose_name=_("认定标准条目"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    points_per_person = models.DecimalField(
        _("每人分值"), max_digits=7, decimal_places=2, null=True, blank=True
    )
    declared_participants = models.PositiveIntegerField(_("参与人数"), null=True, blank=True)
    declared_total = models.DecimalField(
        _("共计分值"), max_digits=9, decimal_places=2, null=True, blank=True
    )
    # 申请单 (附件3)
    contact_phone = models.CharField(_("联系电话"), max_length=limits.PHONE, blank=True)
    activity_start = models.DateField(_("活动开始日期"), null=True, blank=True)
    activity_end = models.DateField(_("活动结束日期"), null=True, blank=True)
    location = models.CharField(_("活动地点"), max_length=limits.NAME, blank=True)
    credit_details = models.TextField(_("积分明细"), max_length=limits.LONG_TEXT, blank=True)
    reason = models.TextField(_("申请理由"), max_length=limits.LONG_TEXT, blank=True)
    # 情况说明 (附件5), case (二) only
    cause = models.TextField(_("原因分析"), max_length=limits.LONG_TEXT, blank=True)
    correct_procedure = models.TextField(
        _("正常的流程/方法"), max_length=limits.LONG_TEXT, blank=True
    )
    prevention = models.TextField(_("今后如何避免"), max_length=limits.LONG_TEXT, blank=True)
    summary = models.TextField(_("活动总结"), max_length=limits.LONG_TEXT, blank=True)
    # 人员信息 (附件4): the current roster; earlier versions stay in RosterUpload.
    roster = models.ForeignKey(
        RosterUpload,
        verbose_name=_("人员名单"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    roster_version = models.PositiveSmallIntegerField(_("名单版本"), default=0)

    class Meta:
        verbose_name = _("集体活动积分补录申请")
        verbose_name_plural = _("集体活动积分补录申请")

    def get_edit_url(self) -> str:
        from django.urls import reverse

        return reverse("collective:edit", args=[self.pk])

    @property
    def needs_explanation(self) -> bool:
        return self.case == self.Case.UNFINISHED

    @property
    def computed_total(self) -> Decimal | None:
        if self.points_per_person is None or self.declared_participants is None:
            return None
        return self.points_per_person * self.declared_participants


class LetterLine(models.Model):
    """A further credit type the letter (附件2) grants beside its main one (the standard item's,
    on the request itself): counted and totalled on its own, never summed with another type."""

    request = models.ForeignKey(
        CollectiveRequest, on_delete=models.CASCADE, related_name="extra_lines"
    )
    credit_type = models.ForeignKey(
        CreditType, verbose_name=_("学分类型"), on_delete=models.PROTECT, related_name="+"
    )
    points_per_person = models.DecimalField(
        _("每人分值"), max_digits=7, decimal_places=2, null=True, blank=True
    )
    declared_participants = models.PositiveIntegerField(_("参与人数"), null=True, blank=True)
    declared_total = models.DecimalField(
        _("共计分值"), max_digits=9, decimal_places=2, null=True, blank=True
    )
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("申请书学分类型")
        verbose_name_plural = _("申请书学分类型")
        ordering = ["request", "order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["request", "credit_type"], name="letter_line_type_once")
        ]

    def __str__(self) -> str:
        return f"{self.credit_type.name} {self.points_per_person or ''}"


class LetterTier(models.Model):
    """One award tier of the letter (一等奖 3 分、二等奖 2 分、参与 0.5 分): a roster row whose
    奖项内容 names it gets its points. No credit type means the letter's main type."""

    request = models.ForeignKey(CollectiveRequest, on_delete=models.CASCADE, related_name="tiers")
    credit_type = models.ForeignKey(
        CreditType,
        verbose_name=_("学分类型"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    award = models.CharField(_("奖项档次"), max_length=limits.AWARD_TIER)
    points = models.DecimalField(_("分值"), max_digits=7, decimal_places=2)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("奖项档次")
        verbose_name_plural = _("奖项档次")
        ordering = ["request", "order", "pk"]

    def __str__(self) -> str:
        return f"{self.award} {self.points}"
