"""The styles part with the marking fills added, and the shared strings copied with risky text
quoted."""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass

from imports.annotate.marks import ERROR_RGB, NS_MAIN, WARNING_RGB, _Refused
from imports.annotate.markup import (
    _ATTRS,
    _T_MAYBE_RISKY,
    _attrs,
    _check_markup,
    _check_xml,
    _Chunks,
    _split_decl,
    _string_risky,
)

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


def _copy_strings(source: zipfile.ZipFile, target: zipfile.ZipFile, path: str) -> set[int]:
    """Copy sharedStrings.xml as it is (after the markup check); return the indices of strings
    that read like a formula once decoded, so the cells using them get the quote prefix."""
    risky: set[int] = set()
    with source.open(path) as stream, target.open("xl/sharedStrings.xml", "w") as out:
        chunks = _Chunks(stream, source.getinfo(path).file_size, None)
        buf, root = chunks.until(chunks.next(), re.compile(rb"<((?:[^\s<>/=!?\"':]+:)?)sst[\s/>]"))
        p = root[1]
        head = _split_decl(buf[: root.start()])
        _check_markup(head)
        out.write(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n')
        buf = buf[root.start() :]
        strings = _StringItems(p)
        end = b"</" + p + b"si>"
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
            risky |= strings.risky(segment)
            out.write(segment)
            if not chunk:
                break
    return risky


class _StringItems:
    """Counts the <si> items of sharedStrings.xml segment by segment (each segment ends with a
    whole item) and finds the risky ones: a quick look for text that may start like a formula,
    then the decoded text of just those items."""

    def __init__(self, p: bytes) -> None:
        self.p = p
        self.open = b"<" + p + b"si"
        self.start = re.compile(self.open + rb"[\s/>]")
        self.end = b"</" + p + b"si>"
        self.maybe = re.compile(b"<" + p + b"t" + _T_MAYBE_RISKY)
        self.seen = 0  # items started so far

    def risky(self, segment: bytes) -> set[int]:
        found: set[int] = set()
        last = 0
        decided = -1
        for m in self.maybe.finditer(segment):
            self.seen += len(self.start.findall(segment, last, m.start()))
            last = m.start()
            index = self.seen - 1
            if index < 0 or index == decided:
                continue
            decided = index
            if _string_risky(self._item(segment, m.start()), self.p):
                found.add(index)
        self.seen += len(self.start.findall(segment, last))
        return found

    def _item(self, segment: bytes, inside: int) -> bytes:
        """The content of the item holding position `inside` (b"" outside any)."""
        start = segment.rfind(self.open, 0, inside)
        close = segment.find(self.end, inside)
        if start < 0 or close < 0:
            return b""
        return segment[segment.find(b">", start) + 1 : close]
