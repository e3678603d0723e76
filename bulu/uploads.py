"""Evidence files (certificate scans, photos, PDFs): judged by their content, never their name."""

from __future__ import annotations

import hashlib
import io
import warnings
from collections.abc import Sequence
from typing import IO, Any, TypeVar

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bulu.exceptions import ApplicationError
from bulu.files import atomic_with_files, file_store

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
    if kind[0] == "application/pdf":
        pdf_check(data, name)
    else:
        image_check(data, name)
    return kind


def image_check(data: bytes, name: str) -> None:
    """Decode the image under a pixel limit: a 10 MB PNG may declare a billion pixels."""
    from PIL import Image

    limit = int(settings.BULU_EVIDENCE_MAX_PIXELS)

    def too_large(size: str) -> ApplicationError:
        return ApplicationError(
            _("图片“%(name)s”为 %(size)s 像素，超过 %(mp)d 百万像素的上限，请缩小后再上传。")
            % {"name": name, "size": size, "mp": limit // 1_000_000}
        )

    try:
        with warnings.catch_warnings():
            # Pillow's own bomb guard (past ~89 MP) would only warn: make it refuse.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > limit:
                    raise too_large(f"{width}×{height}")
                # JPEG decodes at a reduced scale (DCT scaling): enough to prove it is an image.
                image.draft("RGB", (1024, 1024))
                image.load()
    except ApplicationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise too_large(_("过多")) from exc
    except Exception as exc:  # Pillow raises many kinds for a broken or hostile file
        raise ApplicationError(
            _("图片“%(name)s”已损坏或无法读取，请重新拍照或导出后上传。") % {"name": name}
        ) from exc


# Catalogue and page keys that make a PDF run something when opened, or carry files or forms
# that run code: refused rather than stripped, so what the approver sees is what was uploaded.
_PDF_ACTIVE_KEYS = ("/OpenAction", "/AA", "/JavaScript", "/JS", "/Launch", "/EmbeddedFiles")


def _pdf_active(obj: Any, seen: set[int], depth: int = 0) -> str | None:
    """The first active key found in a PDF object graph (bounded walk), or None."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    if depth > 40:
        return None
    if isinstance(obj, IndirectObject):
        key = obj.idnum
        if key in seen:
            return None
        seen.add(key)
        obj = obj.get_object()
    if isinstance(obj, DictionaryObject):
        for name in _PDF_ACTIVE_KEYS:
            if name in obj:
                return name
        if obj.get("/S") in ("/JavaScript", "/Launch", "/ImportData", "/SubmitForm"):
            return str(obj.get("/S"))
        for key, value in obj.items():
            if key in ("/Parent", "/Contents", "/Font", "/XObject"):
                continue  # back-links and page content: no actions live there
            found = _pdf_active(value, seen, depth + 1)
            if found:
                return found
    elif isinstance(obj, ArrayObject):
        for value in obj:
            found = _pdf_active(value, seen, depth + 1)
            if found:
                return found
    return None


def pdf_check(data: bytes, name: str) -> None:
    """Refuse a PDF that cannot be read, is encrypted, or carries JavaScript or auto-actions."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise ApplicationError(
                _("PDF“%(name)s”有密码保护，请去除密码后再上传。") % {"name": name}
            )
        if len(reader.pages) > settings.BULU_EVIDENCE_MAX_PDF_PAGES:
            raise ApplicationError(
                _("PDF“%(name)s”超过 %(n)d 页，请只上传证明所需的页面。")
                % {"name": name, "n": settings.BULU_EVIDENCE_MAX_PDF_PAGES}
            )
        active = _pdf_active(reader.trailer["/Root"], set())
    except ApplicationError:
        raise
    except Exception as exc:  # pypdf raises many kinds for a broken file
        raise ApplicationError(
            _("PDF“%(name)s”已损坏或无法读取，请重新导出后上传。") % {"name": name}
        ) from exc
    if active:
        raise ApplicationError(
            _(
                "PDF“%(name)s”含有脚本或自动执行的动作（%(key)s），为安全起见不予接收；"
                "请用“打印为 PDF”重新生成后上传。"
            )
            % {"name": name, "key": active}
        )


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
    with atomic_with_files():
        for name, data, content_type, ext in checked:
            evidence = model(
                original_name=name[:200],
                content_type=content_type,
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                **fields,
            )
            file_store(evidence.file, f"upload.{ext}", ContentFile(data))
            evidence.save()
            stored.append(evidence)
    return stored
