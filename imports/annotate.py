"""The annotated copy of a roster: the user's own workbook with each faulty cell marked (red for
errors, yellow for warnings, a comment naming the problem in Chinese) and a last sheet 错误说明
listing every problem.

Safe by construction:
- The copy is rebuilt from an allow-list: worksheets (values, styles, column widths, row heights,
  merged cells, margins), shared strings, styles and a stock theme. Macros, external links, OLE
  objects, drawings, hyperlinks, defined names, data validations and conditional formats (both
  hold formulas), pivot caches, connections and the like are left out.
- A formula never survives: a formula cell becomes a text cell holding its formula text (shared
  formulas translated to their cell), with the quote prefix so that editing it in Excel does not
  revive it. Text starting with = + - @ tab CR or ＝ gets the quote prefix as well. The finished
  sheet is scanned for `<f>` elements and refused if one is left.
- XML with a DTD, comments, CDATA, processing instructions or unknown entities is refused (Excel
  never writes them). The parts read whole are parsed with defusedxml or expat; of a sheet, the
  elements kept around the cells are parsed with expat, and what a rewritten row takes over from
  the user's row is checked (values hold no markup, rich text is parsed with expat).

Memory-bounded and fast: python-calamine does not expose formulas and openpyxl holds the whole
workbook (a 200 MB sheet took 17 s and 700 MB), so each sheet's XML is streamed in 1 MB chunks
and copied byte for byte, except the rows that need a change (marked, holding a formula, risky
text or cell metadata), which are rewritten one by one. Memory is a few chunks plus the output.
"""

from __future__ import annotations

import bisect
import html
import io
import posixpath
import re
import zipfile
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import IO, Any
from xml.parsers import expat

from defusedxml import ElementTree as SafeET
from django.utils.translation import gettext as _
from openpyxl.formula.translate import Translator
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.writer.theme import theme_xml

from bulu.exceptions import ApplicationError
from bulu.xlsx import gc_paused, xlsx_check_container, xlsx_text_is_risky
from imports.roster import CODE_LABELS, COL_NO, Problem

AUTHOR = "二课中心名单校验"
SHEET_NAME = "错误说明"
ERROR_RGB = b"FFFFC7CE"
WARNING_RGB = b"FFFFEB9C"
CHUNK = 1 << 20
# Parts read whole (workbook, relationships, styles, a sheet's head and tail).
MAX_PART_BYTES = 16 * 1024 * 1024
# A file with more problems than this (a wrong file, or a hostile one) gets the first ones marked
# and listed, and a line saying how many more there are: 150,000 comments help nobody and cost
# about 10 s.
ANNOTATE_MAX_PROBLEMS = 50_000
# Level 1 deflates a 10k-row roster's XML in 27 ms instead of 93 ms (level 6) for a third more
# bytes (615 KB instead of 461 KB).
COMPRESS_LEVEL = 1

NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_OFFICE = NS_REL + "/officeDocument"
REL_WORKSHEET = NS_REL + "/worksheet"
REL_STYLES = NS_REL + "/styles"
REL_STRINGS = NS_REL + "/sharedStrings"
REL_COMMENTS = NS_REL + "/comments"
REL_VML = NS_REL + "/vmlDrawing"
REL_THEME = NS_REL + "/theme"
CT = "application/vnd.openxmlformats-officedocument.spreadsheetml."

# Elements kept around a sheet's cells (everything else there is dropped; see the docstring).
HEAD_KEEP = frozenset({"sheetPr", "dimension", "sheetViews", "sheetFormatPr", "cols"})
TAIL_KEEP = frozenset({"mergeCells", "phoneticPr", "printOptions", "pageMargins"})


class AnnotateError(ApplicationError):
    pass


class _Refused(Exception):
    """Something in the file that cannot be copied safely."""


def roster_annotate(
    data: bytes,
    *,
    errors: Iterable[Problem],
    warnings: Iterable[Problem],
    columns: dict[str, int],
    progress: Callable[[float], None] | None = None,
) -> bytes:
    """Return the annotated copy of `data` (an xlsx already accepted by `roster_check`).

    `progress` hears the fraction of the roster sheet copied, then 1.0.
    """
    buffer = io.BytesIO(data)
    xlsx_check_container(buffer)
    problems = _Problems.first(list(errors), list(warnings), columns)
    try:
        with gc_paused():
            return _copy(buffer, problems, progress)
    except (
        _Refused,
        zipfile.BadZipFile,
        KeyError,
        ValueError,  # defusedxml's DTDForbidden and EntitiesForbidden are ValueErrors
        SafeET.ParseError,
        expat.ExpatError,
        EOFError,
        zlib.error,
    ) as exc:
        raise AnnotateError(_("无法在该文件上标注错误（文件结构异常）。")) from exc


# --- what to mark ----------------------------------------------------------------------------


@dataclass
class _Mark:
    messages: list[str]
    error: bool


@dataclass
class _Problems:
    errors: list[Problem]
    warnings: list[Problem]
    columns: dict[str, int]  # header name -> 1-based column
    labels: dict[str, str] = field(default_factory=dict)
    left_out: int = 0  # problems beyond ANNOTATE_MAX_PROBLEMS, neither marked nor listed

    @classmethod
    def first(
        cls, errors: list[Problem], warnings: list[Problem], columns: dict[str, int]
    ) -> _Problems:
        """The first ANNOTATE_MAX_PROBLEMS problems, errors before warnings."""
        kept_errors = errors[:ANNOTATE_MAX_PROBLEMS]
        kept_warnings = warnings[: ANNOTATE_MAX_PROBLEMS - len(kept_errors)]
        left_out = len(errors) + len(warnings) - len(kept_errors) - len(kept_warnings)
        return cls(kept_errors, kept_warnings, columns, left_out=left_out)

    def marks(self) -> dict[int, dict[int, _Mark]]:
        """Row -> column -> what to say there. Problems without a column sit on the 学号 cell;
        a cell collects every problem reported on it and is red if any of them is an error."""
        first_col = min(self.columns.values(), default=1)
        no_col = self.columns.get(COL_NO, first_col)
        marks: dict[int, dict[int, _Mark]] = {}
        for problems, is_error in ((self.errors, True), (self.warnings, False)):
            for p in problems:
                if p.row is None:
                    continue
                col = no_col if p.column is None else self.columns.get(p.column, first_col)
                mark = marks.setdefault(p.row, {}).setdefault(col, _Mark([], is_error))
                mark.messages.append(f"【{self.label(p.code)}】{p.message}")
                mark.error = mark.error or is_error
        return marks

    def label(self, code: str) -> str:
        """The Chinese name of a code (translated once per code: gettext per problem costs
        more than the rest of writing a comment)."""
        found = self.labels.get(code)
        if found is None:
            found = self.labels[code] = str(CODE_LABELS.get(code, code))
        return found


# --- XML helpers -----------------------------------------------------------------------------

_ATTRS = rb"((?:\s+[^\s=/>]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*\s*)"
_ATTR = re.compile(rb"([^\s=/>]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_ENTITY = re.compile(rb"&(?!(?:lt|gt|amp|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);)")
_DECL = re.compile(rb"<\?xml(" + _ATTRS.replace(b"(", b"(?:", 1) + rb")\?>")
_ENCODING = re.compile(rb"encoding\s*=\s*[\"']([^\"']*)[\"']")
_TAG = re.compile(rb"<(/?)((?:[^\s<>/=!?\"':]+:)?)([^\s<>/=!?\"':]+)" + _ATTRS + rb"(/?)>")
# Any element named f, with or without a namespace prefix: what must never reach the copy.
_F_PLAIN = re.compile(rb"<f[\s/>]")
_F_PREFIXED = re.compile(rb"<[^\s<>/=!?\"']*:f[\s/>]")
# Text Excel would turn into a formula when the cell is edited (as stored in XML).
_RISKY_START = re.compile(rb"(?:[=+\-@\t\r]|\xef\xbc\x9d|_x000[9dD]_|&#(?:0*9|0*13|x0*9|x0*[dD]);)")
_CONTROL_CHAR = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|_(?=x[0-9a-fA-F]{4}_)")


def _attrs(raw: bytes) -> dict[bytes, bytes]:
    return {m[1]: m[2] if m[2] is not None else m[3] for m in _ATTR.finditer(raw)}


def _esc(text: str) -> bytes:
    """Text for an XML element or attribute; characters XML cannot hold in Excel's _xHHHH_ form
    (a literal "_x0041_" is kept as typed by escaping its underscore)."""
    text = (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )
    if "_x" in text or _CONTROL_CHAR.search(text):
        text = _CONTROL.sub(lambda m: f"_x{ord(m[0]):04X}_", text)
    return text.encode()


def _no_dtd(*args: object) -> None:
    raise _Refused("DTD")


def _check_xml(fragment: bytes) -> None:
    """Well-formed (prefixes need no declaration: expat runs without namespaces here)."""
    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _no_dtd
    parser.Parse(b"<x>" + fragment + b"</x>", True)


def _check_markup(segment: bytes) -> None:
    """Plain element markup only: no DTD, comment, CDATA, processing instruction or entity."""
    if b"<!" in segment or b"<?" in segment or _ENTITY.search(segment):
        raise _Refused("markup")


def _check_no_formula(segment: bytes) -> None:
    if _F_PLAIN.search(segment) or _F_PREFIXED.search(segment):
        raise _Refused("formula left")


def _split_decl(head: bytes) -> bytes:
    """The part after the XML declaration; anything but UTF-8 is refused (our scanning is
    byte-wise)."""
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _Refused("UTF-16")
    decl = _DECL.match(head)
    if decl is None:
        return head
    encoding = _ENCODING.search(decl[1])
    if encoding is not None and encoding[1].lower().replace(b"-", b"") != b"utf8":
        raise _Refused("encoding")
    return head[decl.end() :]


def _top_level(fragment: bytes) -> list[tuple[str, bytes]]:
    """(local name, bytes) of each element at the top of `fragment`, stopping at a closing tag
    of the parent; text between them is dropped."""
    out: list[tuple[str, bytes]] = []
    depth = 0
    start = 0
    for m in _TAG.finditer(fragment):
        closing, self_closing = m[1] == b"/", m[5] == b"/"
        if closing:
            if depth == 0:
                break
            depth -= 1
            if depth == 0:
                out.append((_local(fragment, start), fragment[start : m.end()]))
        elif self_closing:
            if depth == 0:
                out.append((m[3].decode(), m[0]))
        else:
            if depth == 0:
                start = m.start()
            depth += 1
    return out


def _local(fragment: bytes, start: int) -> str:
    m = _TAG.match(fragment, start)
    return m[3].decode() if m else ""


class _Batched:
    """Collects small writes into ~1 MB ones: deflating many small pieces is slow."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> None:
        self.parts.append(data)
        self.size += len(data)
        if self.size >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if self.parts:
            self.out.write(b"".join(self.parts))
            self.parts.clear()
            self.size = 0


@contextmanager
def _entry(target: zipfile.ZipFile, name: str) -> Iterator[_Batched]:
    """A part of the copy, written in batches."""
    with target.open(name, "w") as raw:
        batched = _Batched(raw)
        yield batched
        batched.flush()


class _Chunks:
    """A zip entry read in chunks; `read_all` caps what may be held at once."""

    def __init__(self, stream: IO[bytes], size: int, progress: Callable[[float], None] | None):
        self.stream = stream
        self.size = max(size, 1)
        self.done = 0
        self.progress = progress

    def next(self) -> bytes:
        chunk = self.stream.read(CHUNK)
        self.done += len(chunk)
        if self.progress is not None and chunk:
            self.progress(min(self.done / self.size, 1.0) * 0.9)
        return chunk

    def read_all(self, buf: bytes) -> bytes:
        parts = [buf]
        held = len(buf)
        while chunk := self.next():
            held += len(chunk)
            if held > MAX_PART_BYTES:
                raise _Refused("part too large")
            parts.append(chunk)
        return b"".join(parts)

    def until(self, buf: bytes, pattern: re.Pattern[bytes]) -> tuple[bytes, re.Match[bytes]]:
        """Read on until `pattern` is found in the buffer (which may not exceed a part)."""
        searched = 0
        while (m := pattern.search(buf, max(searched - 64, 0))) is None:
            searched = len(buf)
            chunk = self.next()
            if not chunk or len(buf) > MAX_PART_BYTES:
                raise _Refused("structure")
            buf += chunk
        return buf, m


# --- the package -----------------------------------------------------------------------------


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


# --- comments --------------------------------------------------------------------------------


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


# --- styles ----------------------------------------------------------------------------------

_DEFAULT_STYLES = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="'
    + NS_MAIN.encode()
    + b'"><fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    b'<fills count="2"><fill><patternFill patternType="none"/></fill>'
    b'<fill><patternFill patternType="gray125"/></fill></fills>'
    b'<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    b'<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    b'<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
    b'<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    b"</styleSheet>"
)


@dataclass
class _Block:
    """One list of styles.xml (fonts, fills, cellXfs): its span, start tag and items."""

    start: int
    end: int
    tag: bytes
    items: list[bytes]


def _set_attr(element: bytes, name: bytes, value: bytes | None) -> bytes:
    """`element` with attribute `name` of its start tag set to `value` (removed if None)."""
    m = re.match(rb"<[^\s/>]+" + _ATTRS + rb"/?>", element)
    if m is None:
        raise _Refused("style")
    tag = re.sub(rb"\s" + re.escape(name) + rb"\s*=\s*(?:\"[^\"]*\"|'[^']*')", b"", m[0])
    if value is not None:
        cut = len(tag) - (2 if tag.endswith(b"/>") else 1)
        tag = tag[:cut] + b" " + name + b'="' + value + b'"' + tag[cut:]
    return tag + element[m.end() :]


class _Styles:
    """The user's styles.xml plus the cell formats our marks need; the user's own formats keep
    their index, ours are clones appended to cellXfs (fill, quote prefix or bold changed)."""

    def __init__(self, xml: bytes | None) -> None:
        if (xml is None or not self._load(xml)) and not self._load(_DEFAULT_STYLES):
            raise _Refused("styles")
        p = self.p
        self.our_fills = {
            i
            for i, fill in enumerate(self.fills.items)
            if b"solid" in fill and (ERROR_RGB in fill.upper() or WARNING_RGB in fill.upper())
        }
        self.fill_ids: dict[str, bytes] = {}
        for kind, rgb in (("error", ERROR_RGB), ("warning", WARNING_RGB)):
            self.fill_ids[kind] = b"%d" % len(self.fills.items)
            self.fills.items.append(
                b'<%sfill><%spatternFill patternType="solid"><%sfgColor rgb="%s"/>'
                b'<%sbgColor indexed="64"/></%spatternFill></%sfill>' % (p, p, p, rgb, p, p, p)
            )
        self.bold_font = b"%d" % len(self.fonts.items)
        font = self.fonts.items[0]
        tag_end = font.index(b">") + 1
        if font[tag_end - 2 : tag_end] == b"/>":
            font = font[: tag_end - 2] + b"></%sfont>" % p
            tag_end -= 1
        self.fonts.items.append(font[:tag_end] + b"<%sb/>" % p + font[tag_end:])
        self.cache: dict[tuple[int, str | None, bool, bool], int] = {}

    def _load(self, xml: bytes) -> bool:
        """Find the three lists we extend; False when the file lacks one of them."""
        body = _split_decl(xml)
        _check_markup(body)
        _check_xml(body)
        root = re.search(rb"<((?:[^\s<>/=!?\"':]+:)?)styleSheet[\s>]", xml)
        if root is None:
            raise _Refused("styles")
        self.p = root[1]
        self.xml = xml
        blocks = [self._block(name, item) for name, item in _STYLE_LISTS]
        if any(b is None or not b.items for b in blocks):
            return False
        self.fonts, self.fills, self.xfs = (b for b in blocks if b is not None)
        return True

    def _block(self, name: bytes, item: bytes) -> _Block | None:
        p = self.p
        m = re.search(b"<" + p + name + _ATTRS + b">(.*?)</" + p + name + rb"\s*>", self.xml, re.S)
        if m is None:
            return None
        items = [
            x[0]
            for x in re.finditer(
                b"<" + p + item + rb"(?=[\s/>])" + _ATTRS + b"(?:/>|>.*?</" + p + item + rb"\s*>)",
                m[2],
                re.S,
            )
        ]
        tag = m[0][: m[0].index(b">") + 1]
        return _Block(m.start(), m.end(), tag, items)

    def cell(self, base: int, mark: str | None, *, quote: bool = False, bold: bool = False) -> int:
        """The format for a cell of format `base`: mark "error"/"warning" (fill), "clear" (drop
        our old fill), None (unchanged); with the quote prefix; bold."""
        key = (base, mark, quote, bold)
        found = self.cache.get(key)
        if found is not None:
            return found
        if not 0 <= base < len(self.xfs.items):
            base = 0
        xf = self.xfs.items[base]
        fill = _attrs(xf[: xf.index(b">")]).get(b"fillId", b"0")
        changed = False
        if mark in ("error", "warning"):
            xf = _set_attr(_set_attr(xf, b"fillId", self.fill_ids[mark]), b"applyFill", b"1")
            changed = True
        elif mark == "clear" and fill.isdigit() and int(fill) in self.our_fills:
            xf = _set_attr(_set_attr(xf, b"fillId", b"0"), b"applyFill", None)
            changed = True
        if quote:
            xf = _set_attr(xf, b"quotePrefix", b"1")
            changed = True
        if bold:
            xf = _set_attr(_set_attr(xf, b"fontId", self.bold_font), b"applyFont", b"1")
            changed = True
        if changed:
            self.xfs.items.append(xf)
            found = len(self.xfs.items) - 1
        else:
            found = base
        self.cache[key] = found
        return found

    def render(self) -> bytes:
        parts = []
        last = 0
        for block, name in sorted(
            ((self.fonts, b"fonts"), (self.fills, b"fills"), (self.xfs, b"cellXfs")),
            key=lambda pair: pair[0].start,
        ):
            tag = _set_attr(block.tag, b"count", b"%d" % len(block.items))
            parts += [self.xml[last : block.start], tag, *block.items, b"</%s%s>" % (self.p, name)]
            last = block.end
        parts.append(self.xml[last:])
        return b"".join(parts)


_STYLE_LISTS = ((b"fonts", b"font"), (b"fills", b"fill"), (b"cellXfs", b"xf"))


# --- shared strings --------------------------------------------------------------------------

_T_RISKY = rb"(?:\s[^>]*)?>(?:[=+\-@\t\r]|\xef\xbc\x9d|_x000[9dD]_|&#(?:0*9|0*13|x0*9|x0*[dD]);)"


def _copy_strings(source: zipfile.ZipFile, target: zipfile.ZipFile, path: str) -> set[int]:
    """Copy sharedStrings.xml as it is (after the markup check); return the indices of strings
    that start like a formula, so the cells using them get the quote prefix."""
    risky: set[int] = set()
    with source.open(path) as stream, target.open("xl/sharedStrings.xml", "w") as out:
        chunks = _Chunks(stream, source.getinfo(path).file_size, None)
        buf, root = chunks.until(chunks.next(), re.compile(rb"<((?:[^\s<>/=!?\"':]+:)?)sst[\s/>]"))
        p = root[1]
        head = _split_decl(buf[: root.start()])
        _check_markup(head)
        out.write(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n')
        buf = buf[root.start() :]
        si_start = re.compile(b"<" + p + rb"si[\s/>]")
        t_risky = re.compile(b"<" + p + b"t" + _T_RISKY)
        end = b"</" + p + b"si>"
        seen = 0
        while True:
            chunk = chunks.next()
            if chunk:
                buf += chunk
                cut = buf.rfind(end)
                if cut < 0:
                    continue
                cut += len(end)
            else:
                cut = len(buf)
            segment, buf = buf[:cut], buf[cut:]
            _check_markup(segment)
            last = 0
            for m in t_risky.finditer(segment):
                seen += len(si_start.findall(segment, last, m.start()))
                last = m.start()
                risky.add(seen - 1)
            seen += len(si_start.findall(segment, last))
            out.write(segment)
            if not chunk:
                break
    return risky


# --- a worksheet -----------------------------------------------------------------------------


@dataclass
class _SheetPlan:
    """What to do to one worksheet."""

    marks: dict[int, dict[int, _Mark]] = field(default_factory=dict)
    # Cells whose comment we wrote last time: their red or yellow fill goes.
    cleared: set[tuple[int, int]] = field(default_factory=set)
    legacy_rel: str | None = None  # relationship id of the comments' drawing


class _SheetCopier:
    """Streams one worksheet's XML to the copy, rewriting only the rows that need it."""

    def __init__(
        self, *, styles: _Styles, plan: _SheetPlan, risky_strings: set[int], out: IO[bytes]
    ) -> None:
        self.styles = styles
        self.plan = plan
        self.risky_strings = risky_strings
        self.out = out
        # Rows to rewrite whatever they hold; marked ones missing from the sheet are added.
        self.pending = deque(sorted(set(plan.marks) | {row for row, _col in plan.cleared}))
        self.care_rows = set(self.pending)
        self.shared: dict[bytes, tuple[str, str]] = {}  # shared formula id -> (text, origin)
        self.last_row = 0
        self.rel_prefix: bytes | None = None

    def write(self, data: bytes) -> None:
        _check_no_formula(data)
        self.out.write(data)

    def run(self, chunks: _Chunks) -> None:
        buf, root = chunks.until(chunks.next(), _WORKSHEET)
        self._prefix(root[1])
        _check_markup(_split_decl(buf[: root.start()]))
        buf, data = chunks.until(buf, self.sheet_data)
        head = buf[root.end() : data.start()]
        _check_markup(head)
        self.rel_prefix = _rel_prefix(root[0])
        self.write(_DECLARATION + root[0] + _kept(head, HEAD_KEEP) + self.t(b"<~sheetData>"))
        rest = buf[data.end() :]
        if data[2] != b"/":
            rest = self._rows_stream(chunks, rest)
        self.write(self._synthetic_rows(None) + self.t(b"</~sheetData>"))
        tail = chunks.read_all(rest)
        _check_markup(tail)
        self.write(_kept(tail, TAIL_KEEP) + self._legacy_drawing() + self.t(b"</~worksheet>"))

    def t(self, template: bytes) -> bytes:
        """`template` with ~ standing for the sheet's namespace prefix (usually none)."""
        return template.replace(b"~", self.p)

    def _prefix(self, p: bytes) -> None:
        self.p = p
        t = self.t
        self.sheet_data = re.compile(t(b"<~sheetData") + _ATTRS + rb"(/?)>")
        self.sheet_data_end = re.compile(t(b"</~sheetData") + rb"\s*>")
        self.row_start = t(b"<~row")
        self.row_end = t(b"</~row>")
        self.row_r = re.compile(t(b'<~row r="') + rb'(\d+)"')
        self.row_any = re.compile(t(b"<~row") + _ATTRS + rb"(/?)>")
        self.cell = _Element(t(b"~c"))
        self.v = _Element(t(b"~v"))
        self.inline = _Element(t(b"~is"))
        self.t_risky = re.compile(t(b"<~t") + _T_RISKY)
        self.plain_text = re.compile(t(b"<~t") + _ATTRS + t(b">[^<]*</~t>"))
        self.tpl_row = t(b"<~row%s>%s</~row>")
        self.tpl_text = t(b'<~c r="%s" s="%d" t="inlineStr"><~is><~t xml:space="preserve">%s</~t>')
        self.tpl_text += t(b"</~is></~c>")
        self.tpl_inline = t(b'<~c r="%s" s="%d" t="inlineStr"><~is>%s</~is></~c>')
        self.tpl_value = t(b'<~c r="%s" s="%d" t="%s"><~v>%s</~v></~c>')
        self.tpl_empty = t(b'<~c r="%s" s="%d"/>')
        self.sst_ref: re.Pattern[bytes] | None = None
        if self.risky_strings and len(self.risky_strings) <= 500:
            numbers = b"|".join(b"%d" % i for i in sorted(self.risky_strings))
            self.sst_ref = re.compile(t(b"<~v>(?:") + numbers + t(b")</~v>"))

    def _legacy_drawing(self) -> bytes:
        """The link to the comments' drawing (the r prefix as the sheet declares it)."""
        if self.plan.legacy_rel is None:
            return b""
        rel = self.plan.legacy_rel.encode()
        if self.rel_prefix is not None:
            return self.t(b'<~legacyDrawing %s:id="%s"/>') % (self.rel_prefix, rel)
        return self.t(b'<~legacyDrawing xmlns:r="%s" r:id="%s"/>') % (NS_REL.encode(), rel)

    # rows

    def _rows_stream(self, chunks: _Chunks, buf: bytes) -> bytes:
        """Copy the rows of <sheetData> chunk by chunk; return what follows its end."""
        searched = 0
        while True:
            end = self.sheet_data_end.search(buf, max(searched - 64, 0))
            if end is not None:
                self._rows(buf[: end.start()])
                return buf[end.end() :]
            cut = buf.rfind(self.row_end)
            if cut >= 0:
                cut += len(self.row_end)
                self._rows(buf[:cut])
                buf = buf[cut:]
            searched = len(buf)
            chunk = chunks.next()
            if not chunk:
                raise _Refused("sheetData not closed")
            buf += chunk

    def _rows(self, segment: bytes) -> None:
        """Copy a run of whole <row> elements, rewriting the ones that need it."""
        _check_markup(segment)
        index = self._row_index(segment)
        care = {i for i, (_pos, num) in enumerate(index) if num in self.care_rows}
        care |= self._rows_with_risks(segment, [pos for pos, _num in index])
        out: list[bytes] = []
        copied = 0
        for i, (pos, num) in enumerate(index):
            if self.pending and self.pending[0] <= num:
                out += [segment[copied:pos], self._synthetic_rows(num)]
                copied = pos
            if i in care:
                end = self._row_end(segment, pos)
                out += [segment[copied:pos], self._rewrite_row(segment[pos:end], num)]
                copied = end
            self.last_row = num
        out.append(segment[copied:])
        self.write(b"".join(out))

    def _row_index(self, segment: bytes) -> list[tuple[int, int]]:
        """(offset, Excel row) of each row; `r` is optional, so count when it is missing."""
        fast = [(m.start(), int(m[1])) for m in self.row_r.finditer(segment)]
        if len(fast) == segment.count(self.row_start):
            return fast
        index = []
        last = self.last_row
        for m in self.row_any.finditer(segment):
            r = _attrs(m[1]).get(b"r", b"")
            last = int(r) if r.isdigit() else last + 1
            index.append((m.start(), last))
        return index

    def _rows_with_risks(self, segment: bytes, starts: list[int]) -> set[int]:
        """Rows holding a formula, text that reads like one, a formula-string cell or cell
        metadata (it points at parts the copy leaves out)."""
        patterns = [_F_PLAIN, _F_PREFIXED, _CELL_META, _STR_TYPE, self.t_risky]
        if self.risky_strings:
            if self.sst_ref is None:
                return set(range(len(starts)))
            patterns.append(self.sst_ref)
        rows = {
            bisect.bisect_right(starts, m.start()) - 1
            for pattern in patterns
            for m in pattern.finditer(segment)
        }
        rows.discard(-1)
        return rows

    def _row_end(self, segment: bytes, pos: int) -> int:
        tag = self.row_any.match(segment, pos)
        if tag is None:
            raise _Refused("row")
        if tag[2] == b"/":
            return tag.end()
        end = segment.find(self.row_end[:-1], tag.end())
        close = segment.find(b">", end)
        if end < 0 or close < 0:
            raise _Refused("row")
        return close + 1

    def _synthetic_rows(self, before: int | None) -> bytes:
        """Marked rows the sheet does not have, up to `before` (which exists: not added)."""
        out = []
        while self.pending and (before is None or self.pending[0] <= before):
            num = self.pending.popleft()
            if num != before:
                out.append(self.tpl_row % (b' r="%d"' % num, self._cells(num, [])))
        return b"".join(out)

    def _rewrite_row(self, row: bytes, num: int) -> bytes:
        """The row rebuilt from its cells. What is copied into it (values, inline text) is
        checked piece by piece, so the new row is well-formed without parsing it again."""
        tag = self.row_any.match(row)
        if tag is None or row.count(self.row_start) != 1:
            raise _Refused("row")  # a row inside a row: not a sheet Excel wrote
        # `spans` is a hint that added cells could contradict.
        attrs = _SPANS.sub(b"", tag[1])
        body = b"" if tag[2] == b"/" else row[tag.end() :]
        return self.tpl_row % (attrs, self._cells(num, self._parse_cells(body)))

    def _parse_cells(self, body: bytes) -> list[tuple[int, dict[bytes, bytes], bytes]]:
        """(column, attributes, content) of each cell; `r` is optional here too."""
        cells = []
        col = 0
        for raw_attrs, content in self.cell.each(body):
            attrs = _attrs(raw_attrs)
            ref = _REF.fullmatch(attrs.get(b"r", b"").decode("ascii", "replace"))
            col = column_index_from_string(ref[1].upper()) if ref else col + 1
            cells.append((col, attrs, content))
        return cells

    def _cells(self, num: int, cells: list[tuple[int, dict[bytes, bytes], bytes]]) -> bytes:
        """The row's cells as written: marked, formula-free, plus empty marked cells."""
        marks = self.plan.marks.get(num, {})
        out: list[tuple[int, bytes]] = []
        for col, attrs, content in cells:
            out.append((col, self._cell(num, col, attrs, content, self._mark_kind(num, col))))
        present = {col for col, _xml in out}
        for col, mark in marks.items():
            if col not in present:
                style = self.styles.cell(0, "error" if mark.error else "warning")
                out.append((col, self.tpl_empty % (b"%s%d" % (_letter(col), num), style)))
        out.sort(key=lambda pair: pair[0])
        return b"".join(xml for _col, xml in out)

    def _mark_kind(self, num: int, col: int) -> str | None:
        mark = self.plan.marks.get(num, {}).get(col)
        if mark is not None:
            return "error" if mark.error else "warning"
        return "clear" if (num, col) in self.plan.cleared else None

    def _cell(
        self, num: int, col: int, attrs: dict[bytes, bytes], content: bytes, mark: str | None
    ) -> bytes:
        """One cell, formula-free: a formula becomes its text; metadata links are dropped."""
        ref = b"%s%d" % (_letter(col), num)
        given = attrs.get(b"s", b"0")
        base = int(given) if given.isdigit() else 0
        kind = attrs.get(b"t", b"n")
        formula = self._formula(content, ref)
        if formula is not None:
            return self.tpl_text % (ref, self.styles.cell(base, mark, quote=True), b"=" + formula)
        value = self.v.first(content)
        if value is not None and b"<" in value:
            raise _Refused("markup in a value")
        if kind == b"inlineStr":
            inner = self.inline.first(content) or b""
            if not self.plain_text.fullmatch(inner):
                _check_xml(inner)  # rich text: runs with their own formatting
            quote = self.t_risky.search(inner) is not None
            return self.tpl_inline % (ref, self.styles.cell(base, mark, quote=quote), inner)
        if value is None:
            return self.tpl_empty % (ref, self.styles.cell(base, mark))
        if kind == b"str":  # a formula's text result: plain text now
            quote = _RISKY_START.match(value) is not None
            return self.tpl_text % (ref, self.styles.cell(base, mark, quote=quote), value)
        quote = kind == b"s" and value.strip().isdigit() and int(value) in self.risky_strings
        return self.tpl_value % (ref, self.styles.cell(base, mark, quote=quote), kind, value)

    def _formula(self, content: bytes, ref: bytes) -> bytes | None:
        """The formula text of a cell, escaped as in XML; None when it has none."""
        f = _F_START.search(content)
        if f is None:
            return None
        attrs = _attrs(f[2])
        text = b""
        if f[3] != b"/":
            end = content.find(b"</" + f[1] + b"f", f.end())
            if end < 0:
                raise _Refused("formula")
            text = content[f.end() : end]
            if b"<" in text:
                raise _Refused("markup in a formula")
        si = attrs.get(b"si")
        if attrs.get(b"t") != b"shared" or si is None:
            return text or None
        if text:  # the first cell of a shared formula holds its text for the others
            self.shared[si] = (_unescape(text), ref.decode())
            return text
        if si not in self.shared:
            return None
        master, origin = self.shared[si]
        try:
            translated = Translator("=" + master, origin=origin).translate_formula(ref.decode())
        except Exception:  # a reference moved off the sheet: show the first cell's text
            translated = "=" + master
        return _esc(translated[1:])


_DECLARATION = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_WORKSHEET = re.compile(rb"<((?:[^\s<>/=!?\"':]+:)?)worksheet" + _ATTRS + rb">")
_SPANS = re.compile(rb"\sspans\s*=\s*(?:\"[^\"]*\"|'[^']*')")
_CELL_META = re.compile(rb" [vc]m\s*=")
_STR_TYPE = re.compile(rb" t=[\"']str[\"']")
_F_START = re.compile(rb"<((?:[^\s<>/=!?\"':]+:)?)f(?=[\s/>])" + _ATTRS + rb"(/?)>")


class _Element:
    """Finds elements of one name (prefix included) in a fragment without a lazy regex over
    their content, which was slow for long text: the end tag is found with bytes.find."""

    def __init__(self, name: bytes) -> None:
        self.start = re.compile(b"<" + name + rb"(?=[\s/>])" + _ATTRS + rb"(/?)>")
        self.end = b"</" + name
        self.end_re = re.compile(b"</" + name + rb"\s*>")

    def each(self, fragment: bytes) -> Iterator[tuple[bytes, bytes]]:
        """(attributes, content) of each element, in order; elements do not nest."""
        pos = 0
        while (m := self.start.search(fragment, pos)) is not None:
            if m[2] == b"/":
                yield m[1], b""
                pos = m.end()
                continue
            end = self.end_re.search(fragment, m.end())
            if end is None:
                raise _Refused("element not closed")
            yield m[1], fragment[m.end() : end.start()]
            pos = end.end()

    def first(self, fragment: bytes) -> bytes | None:
        """The content of the first element (b"" if empty), None if there is none."""
        m = self.start.search(fragment)
        if m is None:
            return None
        if m[2] == b"/":
            return b""
        end = fragment.find(self.end, m.end())
        if end < 0:
            raise _Refused("element not closed")
        return fragment[m.end() : end]


def _rel_prefix(root_tag: bytes) -> bytes | None:
    """The prefix the sheet declares for relationship ids (r: in every file Excel writes)."""
    m = re.search(
        rb"xmlns:([^\s=]+)\s*=\s*[\"']" + re.escape(NS_REL.encode()) + rb"[\"']", root_tag
    )
    return m[1] if m else None


def _kept(fragment: bytes, keep: frozenset[str]) -> bytes:
    """The top-level elements of `fragment` named in `keep`, each checked with expat."""
    kept = [element for local, element in _top_level(fragment) if local in keep]
    for element in kept:
        _check_xml(element)
    return b"".join(kept)


def _unescape(text: bytes) -> str:
    """XML text as a string (expat-checked, so only the predefined and numeric references)."""
    return html.unescape(text.decode())


# --- the 错误说明 sheet ---------------------------------------------------------------------


def _write_explanation(
    target: zipfile.ZipFile, path: str, problems: _Problems, styles: _Styles
) -> None:
    """错误说明: one line per problem (level, row, column, Chinese label, message)."""
    bold = styles.cell(0, None, bold=True)
    risky = styles.cell(0, None, quote=True)
    with _entry(target, path) as out:
        out.write(
            b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="'
            + NS_MAIN.encode()
            + b'"><sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2"'
            b' activePane="bottomLeft" state="frozen"/></sheetView></sheetViews><cols>'
            + b"".join(
                b'<col min="%d" max="%d" width="%d" customWidth="1"/>' % (i, i, w)
                for i, w in enumerate((8, 8, 22, 22, 90), start=1)
            )
            + b"</cols><sheetData>"
        )
        header = [_("级别"), _("行"), _("列"), _("代码"), _("说明")]
        out.write(
            b'<row r="1">%s</row>'
            % b"".join(
                _text_cell(b"%s1" % _letter(i), bold, _esc(h)) for i, h in enumerate(header, 1)
            )
        )
        line = 1
        for level, row, column, label, message in _explanation_lines(problems):
            line += 1
            cells = [_text_cell(b"A%d" % line, 0, level)]
            if row is not None:
                cells.append(b'<c r="B%d"><v>%d</v></c>' % (line, row))
            if column:
                cells.append(_text_cell(b"C%d" % line, 0, column))
            cells.append(_text_cell(b"D%d" % line, 0, label))
            style = risky if xlsx_text_is_risky(message) else 0
            cells.append(_text_cell(b"E%d" % line, style, _esc(message)))
            out.write(b'<row r="%d">%s</row>' % (line, b"".join(cells)))
        if problems.left_out:
            line += 1
            more = _(
                "另有 %(n)s 处问题未在本文件中逐一列出和标注（问题太多）。"
                "请先按以上说明修改，重新上传后再看其余问题。"
            ) % {"n": problems.left_out}
            out.write(b'<row r="%d">%s</row>' % (line, _text_cell(b"E%d" % line, 0, _esc(more))))
        if line == 1:
            out.write(b'<row r="2">%s</row>' % _text_cell(b"E2", 0, _esc(_("未发现问题。"))))
        out.write(b"</sheetData></worksheet>")


def _explanation_lines(
    problems: _Problems,
) -> Iterator[tuple[bytes, int | None, bytes, bytes, str]]:
    """(level, row, column, label, message) with the repeated parts escaped once."""
    columns: dict[str, bytes] = {}
    labels: dict[str, bytes] = {}
    for items, level in ((problems.errors, _("错误")), (problems.warnings, _("提醒"))):
        level_text = _esc(level)
        for p in items:
            column = columns.get(p.column or "")
            if column is None:
                text = p.column or ""
                if p.column and p.column in problems.columns:
                    text = f"{p.column}（{get_column_letter(problems.columns[p.column])} 列）"
                column = columns[p.column or ""] = _esc(text)
            label = labels.get(p.code)
            if label is None:
                label = labels[p.code] = _esc(problems.label(p.code))
            yield level_text, p.row, column, label, p.message


def _text_cell(ref: bytes, style: int, text: bytes) -> bytes:
    """An inline-string cell of 错误说明 (`text` already escaped)."""
    style_attr = b' s="%d"' % style if style else b""
    return b'<c r="%s"%s t="inlineStr"><is><t xml:space="preserve">%s</t></is></c>' % (
        ref,
        style_attr,
        text,
    )


# --- the package around the sheets -----------------------------------------------------------


def _copy(
    buffer: io.BytesIO, problems: _Problems, progress: Callable[[float], None] | None
) -> bytes:
    out = io.BytesIO()
    with (
        zipfile.ZipFile(buffer) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL) as target,
    ):
        book = _Book.read(source)
        styles = _Styles(_read(source, book.styles_path) if book.styles_path else None)
        risky = _copy_strings(source, target, book.strings_path) if book.strings_path else set()
        commented: list[int] = []
        for index, sheet in enumerate(book.sheets, start=1):
            plan, comments = _plan(source, sheet, problems if index == 1 else None)
            if comments:
                plan.legacy_rel = "rId2"
                commented.append(index)
                _write_comments(target, index, comments)
            info = source.getinfo(sheet.path)
            with (
                source.open(sheet.path) as stream,
                target.open(f"xl/worksheets/sheet{index}.xml", "w") as sheet_out,
            ):
                chunks = _Chunks(stream, info.file_size, progress if index == 1 else None)
                _SheetCopier(styles=styles, plan=plan, risky_strings=risky, out=sheet_out).run(
                    chunks
                )
        explanation = len(book.sheets) + 1
        _write_explanation(target, f"xl/worksheets/sheet{explanation}.xml", problems, styles)
        target.writestr("xl/styles.xml", styles.render())
        target.writestr("xl/theme/theme1.xml", theme_xml.encode())
        names = [(s.name, s.state if i else None) for i, s in enumerate(book.sheets)]
        taken = {name for name, _state in names}
        names.append((SHEET_NAME if SHEET_NAME not in taken else SHEET_NAME + "（本次）", None))
        _write_package(target, names, book.date1904, bool(book.strings_path), commented)
    if progress is not None:
        progress(1.0)
    return out.getvalue()


def _plan(
    source: zipfile.ZipFile, sheet: _Sheet, problems: _Problems | None
) -> tuple[_SheetPlan, list[_Comment]]:
    """The marks of a sheet and the comments it ends up with: the user's own comments stay
    (unless we mark that cell), ours from an earlier round go (their cells lose our fill)."""
    plan = _SheetPlan(marks=problems.marks() if problems is not None else {})
    comments = []
    for c in _read_comments(source, sheet.comments_path):
        if c.author == AUTHOR:
            plan.cleared.add((c.row, c.col))
        elif c.col not in plan.marks.get(c.row, {}):
            comments.append(c)
    for row, cols in plan.marks.items():
        for col, mark in cols.items():
            comments.append(
                _Comment(
                    row,
                    col,
                    AUTHOR,
                    "\n".join(mark.messages),
                    320,
                    min(60 + 40 * len(mark.messages), 400),
                )
            )
    return plan, comments


def _write_package(
    target: zipfile.ZipFile,
    sheets: list[tuple[str, str | None]],
    date1904: bool,
    strings: bool,
    commented: list[int],
) -> None:
    count = len(sheets)
    sheet_xml = b"".join(
        b'<sheet name="%s" sheetId="%d"%s r:id="rId%d"/>'
        % (
            _esc(name),
            i,
            b' state="%s"' % _esc(state) if state in ("hidden", "veryHidden") else b"",
            i,
        )
        for i, (name, state) in enumerate(sheets, start=1)
    )
    target.writestr(
        "xl/workbook.xml",
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="'
        + NS_MAIN.encode()
        + b'" xmlns:r="'
        + NS_REL.encode()
        + b'">'
        + (b'<workbookPr date1904="1"/>' if date1904 else b"")
        + b'<bookViews><workbookView activeTab="0"/></bookViews><sheets>'
        + sheet_xml
        + b"</sheets></workbook>",
    )
    rels = [(f"rId{i}", REL_WORKSHEET, f"worksheets/sheet{i}.xml") for i in range(1, count + 1)]
    rels.append((f"rId{count + 1}", REL_STYLES, "styles.xml"))
    rels.append((f"rId{count + 2}", REL_THEME, "theme/theme1.xml"))
    if strings:
        rels.append((f"rId{count + 3}", REL_STRINGS, "sharedStrings.xml"))
    target.writestr("xl/_rels/workbook.xml.rels", _rels_xml(rels))
    target.writestr("_rels/.rels", _rels_xml([("rId1", REL_OFFICE, "xl/workbook.xml")]))
    for i in commented:
        target.writestr(
            f"xl/worksheets/_rels/sheet{i}.xml.rels",
            _rels_xml(
                [
                    ("rId1", REL_COMMENTS, f"../comments{i}.xml"),
                    ("rId2", REL_VML, f"../drawings/vmlDrawing{i}.vml"),
                ]
            ),
        )
    overrides = [("/xl/workbook.xml", CT + "sheet.main+xml"), ("/xl/styles.xml", CT + "styles+xml")]
    overrides.append(
        ("/xl/theme/theme1.xml", "application/vnd.openxmlformats-officedocument.theme+xml")
    )
    overrides += [
        (f"/xl/worksheets/sheet{i}.xml", CT + "worksheet+xml") for i in range(1, count + 1)
    ]
    if strings:
        overrides.append(("/xl/sharedStrings.xml", CT + "sharedStrings+xml"))
    overrides += [(f"/xl/comments{i}.xml", CT + "comments+xml") for i in commented]
    target.writestr(
        "[Content_Types].xml",
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        b'<Default Extension="rels"'
        b' ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        b'<Default Extension="xml" ContentType="application/xml"/>'
        b'<Default Extension="vml"'
        b' ContentType="application/vnd.openxmlformats-officedocument.vmlDrawing"/>'
        + b"".join(
            b'<Override PartName="%s" ContentType="%s"/>' % (name.encode(), ct.encode())
            for name, ct in overrides
        )
        + b"</Types>",
    )


def _rels_xml(rels: list[tuple[str, str, str]]) -> bytes:
    return (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="'
        + NS_PKG_REL.encode()
        + b'">'
        + b"".join(
            b'<Relationship Id="%s" Type="%s" Target="%s"/>' % (i.encode(), t.encode(), p.encode())
            for i, t, p in rels
        )
        + b"</Relationships>"
    )
