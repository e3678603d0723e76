"""System checks: PDFs need a CJK font and HarfBuzz subsetting, or they come out as boxes
(or take seconds per page), and a public address their QR codes can point to. Checked without
importing WeasyPrint (its import is slow)."""

from __future__ import annotations

import ctypes.util
import shutil
import subprocess
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks
from django.http.request import validate_host

# Body text (宋体-like) and the signature style (楷体); fallbacks when the first is missing.
BODY_FONTS = ("AR PL UMing CN", "Noto Serif CJK SC", "Noto Sans CJK SC", "WenQuanYi Micro Hei")
SIGNATURE_FONTS = ("AR PL UKai CN",)
PACKAGES = "fonts-arphic-uming fonts-arphic-ukai fonts-noto-cjk libharfbuzz-subset0"


def cjk_families() -> set[str] | None:
    """Font families fontconfig knows for Chinese; None when fontconfig's fc-list is missing."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return None
    out = subprocess.run(  # noqa: S603  (a fixed argument list, no shell)
        [fc_list, ":lang=zh", "family"], capture_output=True, text=True, timeout=30, check=False
    ).stdout
    return {name.strip() for line in out.splitlines() for name in line.split(",")}


def harfbuzz_subset_found() -> bool:
    return ctypes.util.find_library("harfbuzz-subset") is not None


@checks.register()
def pdf_fonts_check(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[Any]:
    found: list[Any] = []
    if not harfbuzz_subset_found():
        found.append(
            checks.Error(
                "libharfbuzz-subset is missing: PDF fonts cannot be subsetted quickly "
                "(a one-page form would take seconds and be megabytes).",
                hint=f"apt-get install {PACKAGES} (or: make sysdeps)",
                id="documents.E001",
            )
        )
    families = cjk_families()
    if families is None:
        found.append(
            checks.Error(
                "fontconfig (fc-list) is missing: PDFs cannot find a Chinese font.",
                hint="apt-get install fontconfig " + PACKAGES,
                id="documents.E002",
            )
        )
        return found
    if not families & set(BODY_FONTS):
        found.append(
            checks.Error(
                "No Chinese font for PDFs: Chinese text would print as empty boxes.",
                hint=f"apt-get install {PACKAGES} (or: make sysdeps)",
                id="documents.E003",
            )
        )
    elif BODY_FONTS[0] not in families or not families & set(SIGNATURE_FONTS):
        found.append(
            checks.Warning(
                "The PDF fonts AR PL UMing / AR PL UKai are missing: forms fall back to "
                f"{sorted(families & set(BODY_FONTS))} (larger files, no signature style).",
                hint=f"apt-get install {PACKAGES} (or: make sysdeps)",
                id="documents.W001",
            )
        )
    return found


@checks.register()
def public_url_check(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[Any]:
    """Every PDF's QR code and 核验 link are built from BULU_PUBLIC_URL."""
    url = settings.BULU_PUBLIC_URL
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.hostname and not (parts.query or parts.fragment):
        return []
    return [
        checks.Error(
            f"BULU_PUBLIC_URL {url!r} is not an absolute http(s) address: the PDFs' QR codes and "
            "核验 links are built from it.",
            hint="e.g. BULU_PUBLIC_URL=https://bulu.example.edu.cn (the address users open)",
            id="documents.E004",
        )
    ]


@checks.register(deploy=True)
def public_url_host_check(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[Any]:
    """A deployment that forgot BULU_PUBLIC_URL prints QR codes no one can open."""
    host = urlsplit(settings.BULU_PUBLIC_URL).hostname
    if not host or validate_host(host, settings.ALLOWED_HOSTS):
        return []
    return [
        checks.Warning(
            f"BULU_PUBLIC_URL's host {host!r} is not in ALLOWED_HOSTS: every PDF's QR code and "
            "核验 link would point to an address this deployment does not answer.",
            hint="set BULU_PUBLIC_URL to the address users open, e.g. https://bulu.example.edu.cn",
            id="documents.W002",
        )
    ]
