"""Export batches: the 到梦空间 import sheets the center builds from approved credit records.

A record belongs to at most one live batch: `ExportItem` rows are never deleted, a cancelled
batch only switches its items off (`active=False`), and a partial unique constraint on the
record among active items lets the database refuse a second claim.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from bulu import limits
from credits.models import CreditRecord


def _file_upload_to(instance: ExportFile, filename: str) -> str:
    return f"exports/{instance.batch_id}/{filename}"


def _bundle_upload_to(instance: ExportBatch, filename: str) -> str:
    return f"exports/{instance.pk}/{filename}"


class ExportBatch(models.Model):
    class State(models.TextChoices):
        CREATED = "created", _("已生成")
        DOWNLOADED = "downloaded", _("已下载")
        IMPORTED = "imported", _("已确认导入")
        CANCELLED = "cancelled", _("已撤销")

    LIVE_STATES = (State.CREATED, State.DOWNLOADED)

    state = models.CharField(
        _("状态"), max_length=16, choices=State.choices, default=State.CREATED, db_index=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("导出人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("导出时间"), auto_now_add=True)
    # What the staff member chose, as shown labels (kept even if a notice is renamed later).
    filters = models.JSONField(_("筛选条件"), default=dict, blank=True)
    rows = models.PositiveIntegerField(_("记录数"), default=0)
    requests = models.PositiveIntegerField(_("涉及申请数"), default=0)
    # [[credit type, records, total value], ...]
    totals = models.JSONField(_("按学分类型合计"), default=list, blank=True)
    rows_per_file = models.PositiveIntegerField(_("每个文件的行数上限"), default=0)
    # The zip of all files when the batch has more than one; empty otherwise.
    bundle = models.FileField(_("压缩包"), upload_to=_bundle_upload_to, blank=True)
    bundle_sha256 = models.CharField(_("压缩包 SHA-256"), max_length=64, blank=True)
    download_count = models.PositiveIntegerField(_("下载次数"), default=0)
    first_downloaded_at = models.DateTimeField(_("首次下载时间"), null=True, blank=True)
    first_downloaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("首次下载人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    confirmed_at = models.DateTimeField(_("确认导入时间"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("确认导入人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    cancelled_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("撤销人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    cancel_reason = models.CharField(_("撤销原因"), max_length=limits.NOTE, blank=True)

    class Meta:
        verbose_name = _("导出批次")
        verbose_name_plural = _("导出批次")
        ordering = ["-pk"]

    def __str__(self) -> str:
        return str(_("导出批次 #%(n)s") % {"n": self.pk})

    def get_state_display(self) -> str:  # type: ignore[no-redef]  # one translation, not all
        return str(self.State(self.state).label)

    @property
    def is_live(self) -> bool:
        return self.state in self.LIVE_STATES


class ExportFile(models.Model):
    """One workbook of a batch (a batch over the row limit has several, same layout)."""

    batch = models.ForeignKey(ExportBatch, on_delete=models.CASCADE, related_name="files")
    index = models.PositiveSmallIntegerField(_("序号"))
    file = models.FileField(_("文件"), upload_to=_file_upload_to)
    name = models.CharField(_("文件名"), max_length=120)
    rows = models.PositiveIntegerField(_("记录数"))
    size = models.PositiveIntegerField(_("大小（字节）"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)

    class Meta:
        verbose_name = _("导出文件")
        verbose_name_plural = _("导出文件")
        ordering = ["batch", "index"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "index"], name="export_file_once_per_index")
        ]

    def __str__(self) -> str:
        return self.name


class ExportItem(models.Model):
    """A credit record in a batch. Never deleted; a cancelled batch's items become inactive."""

    # Indexed by (batch, record) below; no separate index on the batch alone.
    batch = models.ForeignKey(
        ExportBatch, on_delete=models.PROTECT, related_name="items", db_index=False
    )
    record = models.ForeignKey(CreditRecord, on_delete=models.PROTECT, related_name="+")
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("导出记录")
        verbose_name_plural = _("导出记录")
        constraints = [
            # The rule "one live batch per record", kept by the database itself: of two staff
            # exporting the same record at the same moment, the second insert finds it taken.
            models.UniqueConstraint(
                fields=["record"],
                condition=models.Q(active=True),
                name="export_record_in_one_live_batch",
            )
        ]
        indexes = [models.Index(fields=["batch", "record"], name="export_item_batch_record")]

    def __str__(self) -> str:
        return f"{self.batch_id}:{self.record_id}"


class ExportDownload(models.Model):
    """Who downloaded which file of a batch, and when (any number of times)."""

    batch = models.ForeignKey(ExportBatch, on_delete=models.CASCADE, related_name="downloads")
    file = models.ForeignKey(
        ExportFile, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("下载时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("下载记录")
        verbose_name_plural = _("下载记录")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.batch_id} · {self.user_id} · {self.at}"
