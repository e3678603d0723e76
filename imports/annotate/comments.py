"""The cell comments: the user's own, read back, and ours written with their VML shapes."""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from functools import cache
from xml.parsers import expat

from openpyxl.utils import column_index_from_string, get_column_letter

from imports.annotate.marks import CHUNK, NS_MAIN
from imports.annotate.markup import _entry, _esc, _no_dtd


@dataclass
class _Comment:
    row: int
    col: int
    author: str
    text: str
    width: int = 144
    height: int = 79


_REF = re.compile(r"([A-Za-z]{1,3})([0-9]{1,7})")


def _read_comments(source: zipfile.ZipFile, path: str | None) -> list[_Comment]:
    """The sheet's legacy comments as plain text, read with expat (no DTD) as a stream."""
    if path is None or path not in source.NameToInfo:
        return []
    authors: list[str] = []
    comments: list[_Comment] = []
    stack: list[str] = []
    text: list[str] = []
    current: dict[str, str] = {}

    def start(name: str, attrs: dict[str, str]) -> None:
        local = name.rpartition(" ")[2]
        stack.append(local)
        if local == "comment":
            current.clear()
            current.update(attrs)
            text.clear()
        elif local == "author":
            text.clear()

    def end(name: str) -> None:
        local = stack.pop()
        if local == "author":
            authors.append("".join(text))
        elif local == "comment":
            ref = _REF.fullmatch(current.get("ref", "").split(":")[0])
            author_id = current.get("authorId", "0")
            if ref is not None:
                author = (
                    authors[int(author_id)]
                    if author_id.isdigit() and int(author_id) < len(authors)
                    else ""
                )
                comments.append(
                    _Comment(
                        int(ref[2]), column_index_from_string(ref[1].upper()), author, "".join(text)
                    )
                )

    def chars(data: str) -> None:
        if stack and stack[-1] in ("t", "author") and "rPh" not in stack:
            text.append(data)

    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartDoctypeDeclHandler = _no_dtd
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    with source.open(path) as stream:
        while chunk := stream.read(CHUNK):
            parser.Parse(chunk, False)
    parser.Parse(b"", True)
    return comments


def _write_comments(target: zipfile.ZipFile, index: int, comments: list[_Comment]) -> None:
    """commentsN.xml and the VML drawing Excel needs to show them (the shapes openpyxl writes)."""
    comments = sorted(comments, key=lambda c: (c.row, c.col))
    authors = list(dict.fromkeys(c.author for c in comments))
    author_id = {a: i for i, a in enumerate(authors)}
    with _entry(target, f"xl/comments{index}.xml") as out:
        out.write(
            b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            b'<comments xmlns="'
            + NS_MAIN.encode()
            + b'"><authors>'
            + b"".join(b"<author>" + _esc(a) + b"</author>" for a in authors)
            + b"</authors><commentList>"
        )
        for c in comments:
            out.write(
                b'<comment ref="%s%d" authorId="%d"><text><t xml:space="preserve">'
                % (_letter(c.col), c.row, author_id[c.author])
                + _esc(c.text)
                + b"</t></text></comment>"
            )
        out.write(b"</commentList></comments>")
    with _entry(target, f"xl/drawings/vmlDrawing{index}.vml") as out:
        out.write(_VML_HEAD)
        for shape_id, c in enumerate(comments, start=1026):
            out.write(
                _VML_SHAPE
                % {
                    b"id": b"%d" % shape_id,
                    b"width": b"%d" % c.width,
                    b"height": b"%d" % c.height,
                    b"row": b"%d" % (c.row - 1),
                    b"col": b"%d" % (c.col - 1),
                }
            )
        out.write(b"</xml>")


_VML_HEAD = (
    b'<xml xmlns:v="urn:schemas-microsoft-com:vml"'
    b' xmlns:o="urn:schemas-microsoft-com:office:office"'
    b' xmlns:x="urn:schemas-microsoft-com:office:excel">'
    b'<o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="1"/></o:shapelayout>'
    b'<v:shapetype id="_x0000_t202" coordsize="21600,21600" o:spt="202"'
    b' path="m,l,21600r21600,l21600,xe"><v:stroke joinstyle="miter"/>'
    b'<v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>'
)
_VML_SHAPE = (
    b'<v:shape id="_x0000_s%(id)s" type="#_x0000_t202" style="position:absolute;'
    b" margin-left:59.25pt;margin-top:1.5pt;width:%(width)spx;height:%(height)spx;z-index:1;"
    b'visibility:hidden" fillcolor="#ffffe1" o:insetmode="auto"><v:fill color2="#ffffe1"/>'
    b'<v:shadow color="black" obscured="t"/><v:path o:connecttype="none"/>'
    b'<v:textbox style="mso-direction-alt:auto"><div style="text-align:left"/></v:textbox>'
    b'<x:ClientData ObjectType="Note"><x:MoveWithCells/><x:SizeWithCells/>'
    b"<x:AutoFill>False</x:AutoFill><x:Row>%(row)s</x:Row><x:Column>%(col)s</x:Column>"
    b"</x:ClientData></v:shape>"
)


@cache
def _letter(col: int) -> bytes:
    return get_column_letter(col).encode()
