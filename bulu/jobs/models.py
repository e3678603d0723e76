"""The outbox: background work recorded in the same transaction as the change that asks for it.

A row is written inside the caller's transaction; after commit it is handed to the broker. If the
broker is down the row stays pending and the sweeper (`jobs.sweep`, on the beat) hands it over
once the broker is back. A delivery carries the row's current token: a message from an earlier
hand-over (a redelivery after the sweeper moved on) finds another token and does nothing, so a
job is never done twice.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Job(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("等待执行")
        RUNNING = "running", _("执行中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("已失败")

    LIVE = (State.PENDING, State.RUNNING)

    name = models.CharField(_("任务"), max_length=64)
    args = models.JSONField(_("参数"), default=list)
    # One pending job per key (e.g. "render:12"): asking twice before it ran queues it once; a
    # request while it runs queues one more run (what it works on may have changed).
    key = models.CharField(_("去重键"), max_length=128, blank=True, default="")
    state = models.CharField(
        _("状态"), max_length=16, choices=State.choices, default=State.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(_("执行次数"), default=0)
    max_attempts = models.PositiveSmallIntegerField(_("最多执行次数"), default=3)
    token = models.UUIDField(_("投递标识"), default=uuid.uuid4)
    available_at = models.DateTimeField(_("可执行时间"), default=timezone.now)
    published_at = models.DateTimeField(_("投递时间"), null=True, blank=True)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    # Touched every few seconds while a worker runs the job: a stopped heart is a dead worker.
    heartbeat_at = models.DateTimeField(_("心跳时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    error = models.TextField(_("错误"), blank=True, default="")
    # A failed job asked for again (by its owner or the center): the new run is another row.
    retried_at = models.DateTimeField(_("重试时间"), null=True, blank=True)
    retried_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("重试人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("后台任务")
        verbose_name_plural = _("后台任务")
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["key"],
                condition=Q(state="pending") & ~Q(key=""),
                name="one_pending_job_per_key",
            )
        ]
        indexes = [models.Index(fields=["state", "available_at"], name="jobs_due")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.name} · {self.state}"
