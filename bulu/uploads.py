"""Evidence files (certificate scans, photos, PDFs): judged by their content, never their name."""

from __future__ import annotations

from django.utils.translation import gettext as _

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
