"""到梦空间: its settings mirror and the credit records that end up in its import sheet."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bulu import limits
from bulu.workflow.models import BackfillRequest

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class SettingEntry(models.Model):
    """What every entry of the 到梦空间 settings mirror has: a name, a position, an on/off."""

    order = models.PositiveSmallIntegerField(_("排序"), default=0)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        abstract = True
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return str(getattr(self, "name", ""))


class ActivityCategory(SettingEntry):
    """活动一级分类, as configured in 到梦空间's admin."""

    name = models.CharField(_("活动一级分类"), max_length=64, unique=True)

    class Meta(SettingEntry.Meta):
        verbose_name = _("活动一级分类")
        verbose_name_plural = _("活动一级分类")


class ActivitySubcategory(SettingEntry):
    """活动二级分类, always under one 一级分类."""

    category = models.ForeignKey(
        ActivityCategory,
        verbose_name=_("活动一级分类"),
        on_delete=models.CASCADE,
        related_name="subcategories",
    )
    name = models.CharField(_("活动二级分类"), max_length=64)

    class Meta(SettingEntry.Meta):
        verbose_name = _("活动二级分类")
        verbose_name_plural = _("活动二级分类")
        ordering = ["category", "order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["category", "name"], name="subcategory_unique")
        ]

    def __str__(self) -> str:
        return f"{self.category.name} / {self.name}"


class ActivityLevel(SettingEntry):
    """活动等级: 国家级, 省级, 市级, 校级, 院系级 …"""

    name = models.CharField(_("活动等级"), max_length=32, unique=True)

    class Meta(SettingEntry.Meta):
        verbose_name = _("活动等级")
        verbose_name_plural = _("活动等级")


class CreditType(SettingEntry):
    """学分类型, e.g. 文体活动学分, 工作成长积分, 志愿者工时."""

    name = models.CharField(_("学分类型"), max_length=64, unique=True)
    # The most one roster row may grant in this type; a larger 发放学分值 is an error.
    max_value = models.DecimalField(
        _("单条记录上限"),
        max_digits=7,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("一条记录最多可发放的学分值；留空表示不限。"),
    )

    class Meta(SettingEntry.Meta):
        verbose_name = _("学分类型")
        verbose_name_plural = _("学分类型")


class CreditStandardItem(models.Model):
    """One item of 《第二课堂成绩单成绩认定标准（2023年版）》: "<一级分类> 类别第 X 项".

    `points` are per `unit`: an item "（每小时）" grants its points for every hour, so a claim is
    quantity × points; the default `ITEM` grants them once for the whole item.
    """

    class Unit(models.TextChoices):
        ITEM = "item", _("每项")
        TIME = "time", _("每次")
        HOUR = "hour", _("每小时")
        DAY = "day", _("每天")
        TERM = "term", _("每学期")
        SCHOOL_YEAR = "school_year", _("每学年")
        ARTICLE = "article", _("每篇")

    subcategory = models.ForeignKey(
        ActivitySubcategory,
        verbose_name=_("活动分类"),
        on_delete=models.PROTECT,
        related_name="standard_items",
    )
    number = models.PositiveSmallIntegerField(_("项号"))
    name = models.CharField(_("项目名称"), max_length=200)
    level = models.ForeignKey(
        ActivityLevel,
        verbose_name=_("活动等级"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    award = models.CharField(_("奖项"), max_length=100, blank=True)
    credit_type = models.ForeignKey(
        CreditType, verbose_name=_("学分类型"), on_delete=models.PROTECT, related_name="+"
    )
    points = models.DecimalField(
        _("分值"), max_digits=7, decimal_places=2, help_text=_("按计分单位计：每单位的分值。")
    )
    unit = models.CharField(
        _("计分单位"),
        max_length=16,
        choices=Unit.choices,
        default=Unit.ITEM,
        help_text=_("“每项”按整条计一次分；其余按数量计分（如每小时：小时数 × 分值）。"),
    )
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("认定标准条目")
        verbose_name_plural = _("认定标准条目")
        ordering = ["subcategory__category__order", "number", "pk"]

    def __str__(self) -> str:
        level = f" · {self.level.name}" if self.level else ""
        award = f" · {self.award}" if self.award else ""
        return (
            f"{self.subcategory.category.name}类别第 {self.number} 项 {self.name}{level}{award}"
            f"（{self.points_text} {self.credit_type.name}）"
        )

    @property
    def per_unit(self) -> bool:
        """True when the claim is quantity × points (每小时, 每天 …), not the points once."""
        return self.unit != self.Unit.ITEM

    @property
    def quantity_noun(self) -> str:
        """What the quantity counts: 小时, 天, 次 … ("" for a whole item)."""
        return str(UNIT_NOUNS.get(self.unit, ""))

    @property
    def points_text(self) -> str:
        """E.g. "1.00" or "每小时 1.00"."""
        return f"{self.get_unit_display()} {self.points}" if self.per_unit else str(self.points)

    def claim_text(self, quantity: Decimal | None) -> str:
        """E.g. "6 小时 × 1.00" for a per-unit item ("" when there is nothing to multiply)."""
        if not self.per_unit or quantity is None:
            return ""
        return f"{quantity_text(quantity)} {self.quantity_noun} × {self.points}"


UNIT_NOUNS: dict[str, StrOrPromise] = {
    CreditStandardItem.Unit.TIME: _("次"),
    CreditStandardItem.Unit.HOUR: _("小时"),
    CreditStandardItem.Unit.DAY: _("天"),
    CreditStandardItem.Unit.TERM: _("学期"),
    CreditStandardItem.Unit.SCHOOL_YEAR: _("学年"),
    CreditStandardItem.Unit.ARTICLE: _("篇"),
}
# Units a fraction makes sense for (1.5 小时); the others count whole times.
FRACTION_UNITS = frozenset({CreditStandardItem.Unit.HOUR, CreditStandardItem.Unit.DAY})


def quantity_text(value: Decimal) -> str:
    """6.00 -> "6", 1.50 -> "1.5"."""
    text = format(Decimal(value).quantize(Decimal("0.01")), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _roster_upload_to(instance: RosterUpload, filename: str) -> str:
    # Stored under a random name: the user's file name is kept in `original_name` only.
    return f"rosters/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.xlsx"


def _roster_annotated_to(instance: RosterUpload, filename: str) -> str:
    return f"rosters/annotated/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.xlsx"


class RosterUpload(models.Model):
    """One uploaded 附件4 roster and the stored result of validating it."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("校验中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("校验失败")
        UNREADABLE = "unreadable", _("无法读取")

    FINISHED = (Status.DONE, Status.UNREADABLE)

    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("上传人"),
        on_delete=models.PROTECT,
        related_name="roster_uploads",
    )
    file = models.FileField(_("文件"), upload_to=_roster_upload_to, max_length=255)
    original_name = models.CharField(_("原文件名"), max_length=255)
    size = models.PositiveIntegerField(_("大小（字节）"))
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    # Which registry/settings state the stored result was judged against (see services).
    fingerprint = models.CharField(_("名册与设置版本"), max_length=64, blank=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    progress = models.PositiveSmallIntegerField(_("进度"), default=0)
    data_rows = models.PositiveIntegerField(_("数据行数"), default=0)
    error_count = models.PositiveIntegerField(_("错误数"), default=0)
    warning_count = models.PositiveIntegerField(_("提醒数"), default=0)
    result = models.JSONField(_("校验结果"), null=True, blank=True)
    annotated = models.FileField(
        _("标注文件"), upload_to=_roster_annotated_to, max_length=255, null=True, blank=True
    )
    attempts = models.PositiveSmallIntegerField(_("执行次数"), default=0)
    # A roster uploaded into a request (a collective's 人员信息) belongs to it: it is kept as long
    # as the request (never purged) and its rows are stored as RosterEntry once it is clean.
    request = models.ForeignKey(
        BackfillRequest,
        verbose_name=_("所属申请"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="roster_uploads",
    )
    version = models.PositiveSmallIntegerField(_("名单版本"), default=0)
    # The request's roster now (a newer upload replaces it while the request is editable).
    is_current = models.BooleanField(_("当前名单"), default=False)
    reused_from = models.ForeignKey(
        "self",
        verbose_name=_("复用结果自"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    started_at = models.DateTimeField(_("开始校验时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("人员名单上传")
        verbose_name_plural = _("人员名单上传")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["sha256", "fingerprint", "status"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.original_name}"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def ok(self) -> bool:
        return self.status == self.Status.DONE and self.error_count == 0


class RosterEntry(models.Model):
    """One participant row of a roster that belongs to a request (what becomes a credit)."""

    upload = models.ForeignKey(
        RosterUpload, verbose_name=_("名单"), on_delete=models.CASCADE, related_name="entries"
    )
    excel_row = models.PositiveIntegerField(_("行号"))
    student_no = models.CharField(_("学号"), max_length=32)
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("学生"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    name = models.CharField(_("姓名"), max_length=64)
    start_date = models.DateField(_("开始时间"))
    end_date = models.DateField(_("结束时间"), null=True, blank=True)
    content = models.CharField(_("内容"), max_length=200)
    category = models.CharField(_("活动一级分类"), max_length=64)
    subcategory = models.CharField(_("活动二级分类"), max_length=64)
    level = models.CharField(_("活动等级"), max_length=32)
    award = models.CharField(_("奖项内容"), max_length=200, blank=True)
    credit_type = models.CharField(_("学分类型"), max_length=64)
    value = models.DecimalField(_("发放学分值"), max_digits=7, decimal_places=2, null=True)
    # Problems found against other requests (double claims): [{code, message, request}].
    flags = models.JSONField(_("提醒"), default=list, blank=True)
    has_flags = models.BooleanField(_("有提醒"), default=False)
    # A reviewer (the center) may leave a flagged row out of the credits, with a reason.
    excluded = models.BooleanField(_("不予发放"), default=False)
    excluded_reason = models.CharField(_("不予发放原因"), max_length=limits.NOTE, blank=True)

    class Meta:
        verbose_name = _("名单行")
        verbose_name_plural = _("名单行")
        ordering = ["upload", "excel_row"]
        constraints = [
            models.UniqueConstraint(fields=["upload", "excel_row"], name="roster_entry_row_once")
        ]
        indexes = [
            models.Index(fields=["student_no", "content", "start_date", "credit_type"]),
            models.Index(fields=["upload", "has_flags"]),
        ]

    def __str__(self) -> str:
        return f"{self.student_no} {self.name} · {self.content}"
