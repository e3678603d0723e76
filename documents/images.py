"""Signature and seal uploads: judged by their content, re-encoded before anything keeps them."""

from __future__ import annotations

import base64
import hashlib
import struct
from dataclasses import dataclass
from io import BytesIO

from django.utils.translation import gettext as _

from bulu.exceptions import ApplicationError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_BYTES = 512 * 1024
MIN_SIDE = 32
MAX_SIDE = 2000


@dataclass(frozen=True)
class CheckedPng:
    data: bytes
    width: int
    height: int
    sha256: str


def png_check(data: bytes, *, what: str) -> CheckedPng:
    """A PNG with transparency, at most 512 KB and 2000×2000 px, re-encoded by Pillow.

    The dimensions are read from the IHDR header before any pixel is decoded (no image bomb);
    re-encoding drops text chunks and anything else the file carried besides pixels.
    """
    if not data:
        raise ApplicationError(_("%(what)s文件是空的。") % {"what": what})
    if len(data) > MAX_BYTES:
        raise ApplicationError(
            _("%(what)s文件超过 %(kb)d KB，请缩小后再上传。")
            % {"what": what, "kb": MAX_BYTES // 1024}
        )
    if not data.startswith(PNG_MAGIC) or data[12:16] != b"IHDR" or len(data) < 33:
        raise ApplicationError(
            _("%(what)s必须是 PNG 图片（按文件内容判断，不看扩展名）。") % {"what": what}
        )
    width, height = struct.unpack(">II", data[16:24])
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise ApplicationError(
            _("%(what)s的尺寸为 %(w)d×%(h)d 像素，须在 %(min)d 到 %(max)d 像素之间。")
            % {"what": what, "w": width, "h": height, "min": MIN_SIDE, "max": MAX_SIDE}
        )
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(BytesIO(data)) as probe:
            probe.verify()
        with Image.open(BytesIO(data)) as image:
            image.load()
            has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
            out = BytesIO()
            image.convert("RGBA").save(out, "PNG", optimize=True)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ApplicationError(
            _("%(what)s无法读取（文件已损坏或不是有效的 PNG 图片）。") % {"what": what}
        ) from exc
    if not has_alpha:
        raise ApplicationError(
            _("%(what)s须为透明背景的 PNG 图片（带透明通道），以免遮住表格和印章。")
            % {"what": what}
        )
    clean = out.getvalue()
    return CheckedPng(clean, width, height, hashlib.sha256(clean).hexdigest())


def png_data_uri(data: bytes | memoryview | None) -> str:
    if not data:
        return ""
    return "data:image/png;base64," + base64.b64encode(bytes(data)).decode("ascii")
