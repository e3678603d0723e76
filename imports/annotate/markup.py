"""XML helpers: attributes, escaping, the markup checks, zip entries written in batches, a sheet
read in chunks."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import IO
from xml.parsers import expat

from bulu.xlsx import BLANKS, CONTROL_START, FORMULA_START, xlsx_text_is_risky
from imports.annotate.marks import CHUNK, MAX_PART_BYTES, _Refused

_ATTRS = rb"((?:\s+[^\s=/>]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*\s*)"
_ATTR = re.compile(rb"([^\s=/>]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_ENTITY = re.compile(rb"&(?!(?:lt|gt|amp|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);)")
_DECL = re.compile(rb"<\?xml(" + _ATTRS.replace(b"(", b"(?:", 1) + rb")\?>")
_ENCODING = re.compile(rb"encoding\s*=\s*[\"']([^\"']*)[\"']")
_TAG = re.compile(rb"<(/?)((?:[^\s<>/=!?\"':]+:)?)([^\s<>/=!?\"':]+)" + _ATTRS + rb"(/?)>")
# Any element named f, with or without a namespace prefix: what must never reach the copy.
_F_PLAIN = re.compile(rb"<f[\s/>]")
_F_PREFIXED = re.compile(rb"<[^\s<>/=!?\"']*:f[\s/>]")


def _alternatives(chars: Iterable[str]) -> bytes:
    return b"|".join(re.escape(c.encode()) for c in sorted(chars))


# How text that may read like a formula starts in XML: with a tab or line break; or, after any
# blanks, with a formula character, "_" (Excel's _x003D_ is "="), a character reference (&#61;
# is "=" too) or the end of the text (the next run may go on). Only a first look: whether the
# text is risky is decided on its decoded text.
_RISKY_LEAD = (
    rb"(?:"
    + _alternatives(CONTROL_START)
    + rb"|(?:"
    + _alternatives(BLANKS)
    + rb")*(?:&#|_|<|"
    + _alternatives(FORMULA_START)
    + rb"))"
)
# The rest of a <t> element (after "<t" and its prefix) whose text starts like that.
_T_MAYBE_RISKY = rb"(?:\s[^>]*)?>" + _RISKY_LEAD
# A character reference, or one of the five entities XML predefines (the markup check lets no
# other through).
_REFERENCE = re.compile(r"&(?:#x([0-9a-fA-F]+)|#([0-9]+)|(lt|gt|amp|quot|apos));")
_PREDEFINED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}
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


def _reference(m: re.Match[str]) -> str:
    if m[3] is not None:
        return _PREDEFINED[m[3]]
    code = int(m[1], 16) if m[1] is not None else int(m[2])
    return chr(code) if code <= 0x10FFFF else "\ufffd"


def _xml_unescape(raw: bytes) -> str:
    """Element text as an XML parser reads it: character references and the predefined entities
    resolved."""
    text = raw.decode("utf-8", "replace")
    return _REFERENCE.sub(_reference, text) if "&" in text else text


@lru_cache(maxsize=8)
def _string_patterns(p: bytes) -> tuple[re.Pattern[bytes], re.Pattern[bytes]]:
    """The <t> elements of a string item and its phonetic runs (<rPh>), with prefix `p`."""
    t = re.compile(b"<" + p + rb"t(?:\s[^>]*)?>([^<]*)</" + p + rb"t\s*>")
    phonetic = re.compile(b"<" + p + rb"rPh(?=[\s/>])[^>]*?(?:/>|>.*?</" + p + rb"rPh\s*>)", re.S)
    return t, phonetic


def _string_risky(item: bytes, p: bytes) -> bool:
    """Whether a string item (the content of <is> or <si>: plain text or rich-text runs) reads
    like a formula once decoded (`xlsx_text_is_risky` reads Excel's _xHHHH_ escapes; joining
    the runs first can only find more); phonetic guides are not part of the cell's text."""
    t, phonetic = _string_patterns(p)
    if b"rPh" in item:
        item = phonetic.sub(b"", item)
    return xlsx_text_is_risky("".join(_xml_unescape(m[1]) for m in t.finditer(item)))


def _value_risky(raw: bytes) -> bool:
    """Whether the XML text of a <v> (a formula's text result) reads like a formula."""
    return xlsx_text_is_risky(_xml_unescape(raw))


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
