"""The annotated copy as a whole: `roster_annotate`, the package around the sheets."""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Callable, Iterable
from xml.parsers import expat

from defusedxml import ElementTree as SafeET
from django.utils.translation import gettext as _
from openpyxl.writer.theme import theme_xml

from bulu.xlsx import gc_paused, xlsx_check_container
from imports.annotate.comments import _Comment, _read_comments, _write_comments
from imports.annotate.explanation import _write_explanation
from imports.annotate.marks import (
    AUTHOR,
    COMPRESS_LEVEL,
    CT,
    NS_MAIN,
    NS_PKG_REL,
    NS_REL,
    REL_COMMENTS,
    REL_OFFICE,
    REL_STRINGS,
    REL_STYLES,
    REL_THEME,
    REL_VML,
    REL_WORKSHEET,
    SHEET_NAME,
    AnnotateError,
    _Problems,
    _Refused,
)
from imports.annotate.markup import _Chunks, _esc
from imports.annotate.parts import _Book, _read, _Sheet
from imports.annotate.sheet import _SheetCopier, _SheetPlan
from imports.annotate.styles import _copy_strings, _Styles
from imports.roster import Problem


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
