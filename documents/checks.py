"""System checks: PDFs need a CJK font and HarfBuzz subsetting, or they come out as boxes
(or take seconds per page). Checked without importing WeasyPrint (its import is slow)."""

from __future__ import annotations

import ctypes.util
import shutil
import subprocess
from collections.abc import Sequence
from typing import Any

from django.core import checks

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
