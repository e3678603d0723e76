"""Evidence files (certificate scans, photos, PDFs): judged by their content, never their name."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import IO, Any, TypeVar

from django.core.files.base import ContentFile
from django.db import models, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bulu.exceptions import ApplicationError

EVIDENCE_MAX_BYTES = 10 * 1024 * 1024
# Leading bytes -> (content type, extension stored).
EVIDENCE_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"%PDF-", "application/pdf", "pdf"),
)


def evidence_kind(data: bytes, name: str) -> tuple[str, str]:
    """(content type, extension) of an evidence file, or ApplicationError naming the file."""
    if len(data) > EVIDENCE_MAX_BYTES:
        raise ApplicationError(
            _("文件“%(name)s”超过 %(mb)d MB，请压缩后再上传。")
            % {"name": name, "mb": EVIDENCE_MAX_BYTES // (1024 * 1024)}
        )
    if not data:
        raise ApplicationError(_("文件“%(name)s”是空的。") % {"name": name})
    kind = next(
        ((ct, ext) for magic, ct, ext in EVIDENCE_SIGNATURES if data.startswith(magic)), None
    )
    if kind is None:
        raise ApplicationError(
            _("文件“%(name)s”不是 JPG、PNG 或 PDF（按文件内容判断），请重新选择。") % {"name": name}
        )
    return kind


def evidence_path(instance: Any, filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    folder = (
        "evidence"
        if instance._meta.app_label == "personal"
        else f"{instance._meta.app_label}-evidence"
    )
    return f"{folder}/{instance.request_id}/{instance.sha256[:16]}.{ext}"


class EvidenceFile(models.Model):
    """What every kind's evidence row has; the kind adds its `request` (and more)."""

    file = models.FileField(gettext_lazy("文件"), upload_to=evidence_path)
    original_name = models.CharField(gettext_lazy("原文件名"), max_length=200)
    content_type = models.CharField(gettext_lazy("类型"), max_length=64)
    size = models.PositiveIntegerField(gettext_lazy("大小"))
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(gettext_lazy("上传时间"), auto_now_add=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.original_name

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


E = TypeVar("E", bound=EvidenceFile)


def evidence_store(
    model: type[E], uploads: Sequence[tuple[str, IO[bytes]]], **fields: Any
) -> list[E]:
    """Check every file first (one bad file stores none and says which), then store them all."""
    checked = []
    for name, upload in uploads:
        data = upload.read(EVIDENCE_MAX_BYTES + 1)
        checked.append((name, data, *evidence_kind(data, name)))
    stored = []
    with transaction.atomic():
        for name, data, content_type, ext in checked:
            evidence = model(
                original_name=name[:200],
                content_type=content_type,
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                **fields,
            )
            evidence.file.save(f"upload.{ext}", ContentFile(data), save=False)
            evidence.save()
            stored.append(evidence)
    return stored
