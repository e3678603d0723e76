"""Credit records: what every kind produces on final approval, exports send and statistics read."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from bulu.workflow.models import BackfillRequest


class CreditRecord(models.Model):
    """One row of the 到梦空间 import sheet (附件4): one student, one credit.

    The texts are snapshots: the sheet must carry exactly what was approved even if the settings
    mirror is renamed later.
    """

    class Delivery(models.TextChoices):
        BATCH = "batch", _("名单导入")
        IN_PLATFORM = "in_platform", _("到梦空间内审核通过")

    request = models.ForeignKey(
        BackfillRequest,
        verbose_name=_("申请"),
        on_delete=models.PROTECT,
        related_name="credit_records",
    )
    # Stable key of the source line inside its request (e.g. "item:17"): a credit is created once.
    source_key = models.CharField(_("来源"), max_length=64)
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("学生"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_records",
    )
    student_no = models.CharField(_("学号"), max_length=32, db_index=True)
    student_name = models.CharField(_("姓名"), max_length=64)
    start_date = models.DateField(_("开始时间"))
    end_date = models.DateField(_("结束时间"), null=True, blank=True)
    content = models.CharField(_("内容"), max_length=200)
    category = models.CharField(_("活动一级分类"), max_length=64)
    subcategory = models.CharField(_("活动二级分类"), max_length=64)
    level = models.CharField(_("活动等级"), max_length=32)
    award = models.CharField(_("奖项内容"), max_length=200, blank=True)
    credit_type = models.CharField(_("学分类型"), max_length=64)
    value = models.DecimalField(_("发放学分值"), max_digits=7, decimal_places=2, null=True)
    delivery = models.CharField(
        _("发放方式"), max_length=16, choices=Delivery.choices, default=Delivery.BATCH
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("成长记录")
        verbose_name_plural = _("成长记录")
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["request", "source_key"], name="credit_once_per_source")
        ]
        indexes = [models.Index(fields=["student_no", "content", "start_date", "credit_type"])]
        # Created by the imports app; moved here without touching the table (or its index names).
        db_table = "imports_creditrecord"

    def __str__(self) -> str:
        return f"{self.student_no} {self.student_name} · {self.content}"
