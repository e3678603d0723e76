"""Evidence files are judged by their content: decoded images, inert PDFs."""

from __future__ import annotations

import struct
import zlib

import pytest

from bulu.exceptions import ApplicationError
from bulu.uploads import evidence_kind
from tests.files import jpeg_bytes, pdf_bytes, png_bytes


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares a huge size and carries a tiny (truncated) image stream."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + chunk(b"IEND", b"")
    )


def test_it_accepts_real_images_and_a_plain_pdf() -> None:
    assert evidence_kind(png_bytes(), "a.png") == ("image/png", "png")
    assert evidence_kind(jpeg_bytes(), "a.jpg") == ("image/jpeg", "jpg")
    assert evidence_kind(pdf_bytes(pages=2), "a.pdf") == ("application/pdf", "pdf")


def test_it_refuses_an_image_over_the_pixel_limit(settings: object) -> None:
    settings.BULU_EVIDENCE_MAX_PIXELS = 1_000_000  # type: ignore[attr-defined]
    with pytest.raises(ApplicationError, match="超过 1 百万像素"):
        evidence_kind(_png_header_only(20_000, 20_000), "bomb.png")


def test_it_refuses_an_image_that_does_not_decode() -> None:
    broken = png_bytes()[:40]
    with pytest.raises(ApplicationError, match="已损坏或无法读取"):
        evidence_kind(broken, "broken.png")
    with pytest.raises(ApplicationError, match="已损坏或无法读取"):
        evidence_kind(b"\xff\xd8\xff\xe0" + b"\x00" * 64, "fake.jpg")


def test_it_refuses_a_pdf_with_javascript() -> None:
    with pytest.raises(ApplicationError, match="含有脚本或自动执行的动作"):
        evidence_kind(pdf_bytes(javascript="app.alert(1)"), "证书.pdf")


def test_it_refuses_a_pdf_that_is_not_one() -> None:
    with pytest.raises(ApplicationError, match="已损坏或无法读取"):
        evidence_kind(b"%PDF-1.4\n%fake\n", "fake.pdf")


def test_it_refuses_a_pdf_with_too_many_pages(settings: object) -> None:
    settings.BULU_EVIDENCE_MAX_PDF_PAGES = 3  # type: ignore[attr-defined]
    with pytest.raises(ApplicationError, match="超过 3 页"):
        evidence_kind(pdf_bytes(pages=4), "long.pdf")
