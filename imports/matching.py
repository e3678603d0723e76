"""How two texts of a credit are compared (第五条 possible double claims): no Django, no models,
so the roster check (imports.roster) uses it as well as imports.duplicates."""

from __future__ import annotations

import unicodedata

__all__ = ["match_no", "match_text"]


def match_text(value: str | None) -> str:
    """What two texts are compared by: NFKC (full-width → half-width), case folded, without
    whitespace, punctuation or symbols (「校园歌手大赛（决赛）」 = 「校园歌手大赛 决赛」)."""
    text = unicodedata.normalize("NFKC", value or "").casefold()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] not in "PZSC")


def match_no(value: str | None) -> str:
    return unicodedata.normalize("NFKC", value or "").strip()
