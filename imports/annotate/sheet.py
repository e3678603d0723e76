"""One worksheet copied: streamed byte for byte except the rows that need a change."""

from __future__ import annotations

import bisect
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from openpyxl.formula.translate import Translator
from openpyxl.utils import column_index_from_string

from imports.annotate.comments import _REF, _letter
from imports.annotate.marks import HEAD_KEEP, NS_REL, TAIL_KEEP, _Mark, _Refused
from imports.annotate.markup import (
    _ATTRS,
    _F_PLAIN,
    _F_PREFIXED,
    _T_MAYBE_RISKY,
    _attrs,
    _check_markup,
    _check_no_formula,
    _check_xml,
    _Chunks,
    _esc,
    _split_decl,
    _string_risky,
    _top_level,
    _value_risky,
    _xml_unescape,
)
from imports.annotate.styles import _Styles


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
        # Rows whose text may read like a formula: each such cell is decided on its decoded text.
        self.t_maybe_risky = re.compile(t(b"<~t") + _T_MAYBE_RISKY)
        self.inline_open = t(b"<~is")
        self.inline_close = t(b"</~is>")
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
        patterns = [_F_PLAIN, _F_PREFIXED, _CELL_META, _STR_TYPE]
        if self.risky_strings:
            if self.sst_ref is None:
                return set(range(len(starts)))
            patterns.append(self.sst_ref)
        positions = [m.start() for pattern in patterns for m in pattern.finditer(segment)]
        positions += self._risky_inline(segment)
        rows = {bisect.bisect_right(starts, pos) - 1 for pos in positions}
        rows.discard(-1)
        return rows

    def _risky_inline(self, segment: bytes) -> list[int]:
        """Where inline strings that read like a formula once decoded are: text that only may
        (" 张三", "&#24352;") leaves its row to be copied as it is."""
        found = []
        decided = -1  # the <is> last decided: its other runs need no second look
        for m in self.t_maybe_risky.finditer(segment):
            begin = segment.rfind(self.inline_open, 0, m.start())
            if 0 <= begin == decided:
                continue
            decided = begin
            end = segment.find(self.inline_close, m.start())
            if begin < 0 or end < 0 or segment.find(self.inline_close, begin, m.start()) >= 0:
                found.append(m.start())  # not inside an inline string: rewrite the row to see
            elif _string_risky(segment[segment.find(b">", begin) + 1 : end], self.p):
                found.append(m.start())
        return found

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
            quote = self.t_maybe_risky.search(inner) is not None and _string_risky(inner, self.p)
            return self.tpl_inline % (ref, self.styles.cell(base, mark, quote=quote), inner)
        if value is None:
            return self.tpl_empty % (ref, self.styles.cell(base, mark))
        if kind == b"str":  # a formula's text result: plain text now
            quote = _value_risky(value)
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
            self.shared[si] = (_xml_unescape(text), ref.decode())
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
