"""Printable forms: the PDFs rendered for a request, and the images they carry.

Signature and seal images are kept as an append-only history (a new upload supersedes, nothing is
overwritten): a decision is shown with the image that was current when it was made, so a
signature uploaded later never appears under an older decision.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from bulu.workflow.models import BackfillRequest

# Units whose seal the forms show: 团总支 (盖章), 二课中心 and 校团委 (签章).
SEAL_ORG_KINDS = (
    Organization.Kind.BRANCH,
    Organization.Kind.CENTER,
    Organization.Kind.COMMITTEE,
)


class SignatureImage(models.Model):
    """An approver's signature (PNG with transparency); `png` is empty when it was removed."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("用户"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    png = models.BinaryField(_("图片"), null=True, blank=True, editable=False)
    width = models.PositiveIntegerField(_("宽"), default=0)
    height = models.PositiveIntegerField(_("高"), default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(_("上传时间"), db_index=True)

    class Meta:
        verbose_name = _("签名图片")
        verbose_name_plural = _("签名图片")
        ordering = ["user", "-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "created_at"])]

    def __str__(self) -> str:
        return f"{self.user} · {self.created_at:%Y-%m-%d %H:%M}"


class SealImage(models.Model):
    """The seal of a 团总支, the center or the committee (PNG with transparency)."""

    organization = models.ForeignKey(
        Organization,
        verbose_name=_("组织"),
        on_delete=models.CASCADE,
        related_name="+",
        limit_choices_to={"kind__in": SEAL_ORG_KINDS},
    )
    png = models.BinaryField(_("图片"), null=True, blank=True, editable=False)
    width = models.PositiveIntegerField(_("宽"), default=0)
    height = models.PositiveIntegerField(_("高"), default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("上传人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("上传时间"), db_index=True)

    class Meta:
        verbose_name = _("印章图片")
        verbose_name_plural = _("印章图片")
        ordering = ["organization", "-created_at", "-pk"]
        indexes = [models.Index(fields=["organization", "created_at"])]

    def __str__(self) -> str:
        return f"{self.organization} · {self.created_at:%Y-%m-%d %H:%M}"


def document_path(instance: RequestDocument, filename: str) -> str:
    return f"documents/{instance.request_id}/{filename}"


class RequestDocument(models.Model):
    """The latest PDF of one form of a request, reused while its HTML is unchanged."""

    request = models.ForeignKey(
        BackfillRequest,
        verbose_name=_("申请"),
        on_delete=models.CASCADE,
        related_name="documents",
    )
    form_key = models.CharField(_("表单"), max_length=32)
    # The verification code printed on it (request, number of log records, HMAC).
    code = models.CharField(_("验证码"), max_length=64, db_index=True)
    log_count = models.PositiveIntegerField(_("审批记录条数"))
    # SHA-256 of the HTML it was rendered from: any change to what it shows changes this.
    html_sha256 = models.CharField(max_length=64)
    file = models.FileField(_("文件"), upload_to=document_path, max_length=200)
    size = models.PositiveIntegerField(_("大小"), default=0)
    pages = models.PositiveIntegerField(_("页数"), default=0)
    render_seconds = models.FloatField(_("生成耗时（秒）"), default=0)
    created_at = models.DateTimeField(_("生成时间"), auto_now=True)

    class Meta:
        verbose_name = _("申请文件（PDF）")
        verbose_name_plural = _("申请文件（PDF）")
        ordering = ["request", "form_key"]
        constraints = [
            models.UniqueConstraint(fields=["request", "form_key"], name="document_one_per_form")
        ]

    def __str__(self) -> str:
        return f"#{self.request_id} {self.form_key}"
