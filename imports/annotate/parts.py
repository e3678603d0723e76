"""Reading the workbook's parts: the sheets, relationships, comments paths."""

from __future__ import annotations

import posixpath
import zipfile
from dataclasses import dataclass
from typing import Any

from defusedxml import ElementTree as SafeET

from imports.annotate.marks import (
    MAX_PART_BYTES,
    NS_MAIN,
    NS_PKG_REL,
    NS_REL,
    REL_COMMENTS,
    REL_OFFICE,
    REL_STRINGS,
    REL_STYLES,
    REL_WORKSHEET,
    SHEET_NAME,
    _Refused,
)


@dataclass
class _Sheet:
    name: str
    path: str
    state: str | None
    comments_path: str | None


@dataclass
class _Book:
    sheets: list[_Sheet]
    date1904: bool
    styles_path: str | None
    strings_path: str | None

    @classmethod
    def read(cls, source: zipfile.ZipFile) -> _Book:
        root_rels = _rels(source, "_rels/.rels", "")
        workbook_path = next((t for typ, t in root_rels.values() if typ == REL_OFFICE), None)
        if workbook_path is None:
            raise _Refused("no workbook")
        workbook = _parse(source, workbook_path)
        if not workbook.tag.startswith("{" + NS_MAIN + "}"):
            raise _Refused("not a transitional workbook")  # strict OOXML is not copied
        rels = _rels(source, _rels_path(workbook_path), workbook_path)
        sheets: list[_Sheet] = []
        for element in workbook.iter(f"{{{NS_MAIN}}}sheet"):
            typ, path = rels.get(element.get(f"{{{NS_REL}}}id", ""), ("", ""))
            name = element.get("name", "")
            if not sheets and typ != REL_WORKSHEET:
                raise _Refused("first sheet is not a worksheet")  # the one roster_check read
            # An earlier round's 错误说明 is replaced (unless it is the roster sheet itself).
            if typ == REL_WORKSHEET and (name != SHEET_NAME or not sheets):
                sheets.append(
                    _Sheet(name, path, element.get("state"), _comments_path(source, path))
                )
        if not sheets:
            raise _Refused("no worksheet")
        pr = workbook.find(f"{{{NS_MAIN}}}workbookPr")
        date1904 = pr is not None and pr.get("date1904", "") in ("1", "true")
        by_type = {typ: target for typ, target in rels.values()}
        return cls(sheets, date1904, by_type.get(REL_STYLES), by_type.get(REL_STRINGS))


def _read(source: zipfile.ZipFile, path: str) -> bytes:
    if source.getinfo(path).file_size > MAX_PART_BYTES:
        raise _Refused("part too large")
    return source.read(path)


def _parse(source: zipfile.ZipFile, path: str) -> Any:
    return SafeET.fromstring(_read(source, path), forbid_dtd=True)


def _rels_path(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def _rels(source: zipfile.ZipFile, path: str, owner: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type, part path inside the zip) for internal targets."""
    if path not in source.NameToInfo:
        return {}
    found = {}
    for rel in _parse(source, path).iter(f"{{{NS_PKG_REL}}}Relationship"):
        if rel.get("TargetMode") == "External":
            continue
        target = rel.get("Target", "")
        if target.startswith("/"):
            resolved = posixpath.normpath(target.lstrip("/"))
        else:
            resolved = posixpath.normpath(posixpath.join(posixpath.dirname(owner), target))
        if resolved.startswith(".."):
            raise _Refused("relationship outside the package")
        found[rel.get("Id", "")] = (rel.get("Type", ""), resolved)
    return found


def _comments_path(source: zipfile.ZipFile, sheet_path: str) -> str | None:
    rels = _rels(source, _rels_path(sheet_path), sheet_path)
    return next((t for typ, t in rels.values() if typ == REL_COMMENTS), None)
