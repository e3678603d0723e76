"""个人成长积分补录: a student's own activities and certificates."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from bulu import limits
from bulu.uploads import EvidenceFile

# Migrations name the upload path by this module: it stays importable from here.
from bulu.uploads import evidence_path as evidence_path
from bulu.workflow.models import BackfillRequest
from credits.models import CreditRecord
from imports.models import (
    ActivityCategory,
    ActivityLevel,
    ActivitySubcategory,
    CreditStandardItem,
    CreditType,
)


class PersonalRequest(BackfillRequest):
    class Meta:
        verbose_name = _("个人积分补录申请")
        verbose_name_plural = _("个人积分补录申请")


class PersonalItem(models.Model):
    request = models.ForeignKey(
        PersonalRequest, verbose_name=_("申请"), on_delete=models.CASCADE, related_name="items"
    )
    content = models.CharField(_("内容"), max_length=limits.NAME)
    start_date = models.DateField(_("开始时间"))
    end_date = models.DateField(_("结束时间"), null=True, blank=True)
    category = models.ForeignKey(
        ActivityCategory, verbose_name=_("活动一级分类"), on_delete=models.PROTECT, related_name="+"
    )
    subcategory = models.ForeignKey(
        ActivitySubcategory,
        verbose_name=_("活动二级分类"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    level = models.ForeignKey(
        ActivityLevel, verbose_name=_("活动等级"), on_delete=models.PROTECT, related_name="+"
    )
    awards = models.CharField(
        _("奖项内容"), max_length=limits.NAME, blank=True, help_text=_("多个奖项用“、”隔开")
    )
    credit_type = models.ForeignKey(
        CreditType, verbose_name=_("学分类型"), on_delete=models.PROTECT, related_name="+"
    )
    claimed_value = models.DecimalField(_("申请学分值"), max_digits=7, decimal_places=2)
    # For a per-unit standard item (每小时, 每天 …): how many units; the claim is at most
    # quantity × the item's points. Empty for a whole item or no item.
    quantity = models.DecimalField(_("数量"), max_digits=7, decimal_places=2, null=True, blank=True)
    standard_item = models.ForeignKey(
        CreditStandardItem,
        verbose_name=_("对应认定标准"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # 第六条: the student also files each item online in 到梦空间.
    online_applied = models.BooleanField(_("已在到梦空间线上申请"), default=False)
    online_applied_on = models.DateField(_("线上申请日期"), null=True, blank=True)
    # Set by the center when it recognizes the credit.
    recognized_value = models.DecimalField(
        _("认定学分值"), max_digits=7, decimal_places=2, null=True, blank=True
    )
    recognition_reason = models.CharField(_("认定说明"), max_length=limits.NOTE, blank=True)
    delivery = models.CharField(
        _("发放方式"),
        max_length=16,
        choices=CreditRecord.Delivery.choices,
        default=CreditRecord.Delivery.BATCH,
    )
    order = models.PositiveSmallIntegerField(_("序号"), default=0)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("补录事项")
        verbose_name_plural = _("补录事项")
        ordering = ["request_id", "order", "pk"]

    def __str__(self) -> str:
        return self.content

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        errors: dict[str, str] = {}
        if (
            self.subcategory_id
            and self.category_id
            and (self.subcategory.category_id != self.category_id)
        ):
            errors["subcategory"] = str(_("所选二级分类不属于该一级分类。"))
        if self.end_date and self.start_date and self.end_date < self.start_date:
            errors["end_date"] = str(_("结束时间不能早于开始时间。"))
        if self.claimed_value is not None and self.claimed_value < 0:
            errors["claimed_value"] = str(_("学分值不能为负数。"))
        if errors:
            raise ValidationError(errors)

    @property
    def claim_text(self) -> str:
        """E.g. "6 小时 × 1.00" when the item counts units of its standard item, else ""."""
        standard = self.standard_item
        return standard.claim_text(self.quantity) if standard is not None else ""

    @property
    def final_value(self) -> object:
        return self.recognized_value if self.recognized_value is not None else self.claimed_value


class Evidence(EvidenceFile):
    """A certificate scan, photo or PDF. Uploaded with its item's form; until the item is saved
    it is kept "staged" (no item yet), so a form shown again for a typo loses no upload."""

    request = models.ForeignKey(
        PersonalRequest, verbose_name=_("申请"), on_delete=models.CASCADE, related_name="+"
    )
    item = models.ForeignKey(
        PersonalItem,
        verbose_name=_("事项"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="evidence",
    )

    class Meta:
        verbose_name = _("证明材料")
        verbose_name_plural = _("证明材料")
        ordering = ["item_id", "pk"]
