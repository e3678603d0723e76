"""Text hygiene shared by everything the app writes (PDFs, workbooks)."""

from __future__ import annotations

import re

# C0 controls and DEL, except tab, newline and carriage return (a newline typed in a browser is
# CRLF); U+FFFE/U+FFFF are not characters at all. None of them means anything in a form or a
# 到梦空间 row, and some break XML.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


def strip_controls(text: str) -> str:
    """The text without control characters (tab and newlines kept)."""
    return CONTROL_CHARS.sub("", text) if CONTROL_CHARS.search(text) else text
