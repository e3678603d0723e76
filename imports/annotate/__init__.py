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
  revive it. Text that reads like a formula (`bulu.xlsx.xlsx_text_is_risky`: = + - @ ＝, tab,
  CR, LF, blanks before them) gets the quote prefix as well, decided on the decoded text: a
  character reference (&#61;, &#x3D;) or Excel's _x003D_ is "=" too. The user's XML is copied
  as it is. The finished sheet is scanned for `<f>` elements and refused if one is left.
- XML with a DTD, comments, CDATA, processing instructions or unknown entities is refused (Excel
  never writes them). The parts read whole are parsed with defusedxml or expat; of a sheet, the
  elements kept around the cells are parsed with expat, and what a rewritten row takes over from
  the user's row is checked (values hold no markup, rich text is parsed with expat).

Memory-bounded and fast: python-calamine does not expose formulas and openpyxl holds the whole
workbook (a 200 MB sheet took 17 s and 700 MB), so each sheet's XML is streamed in 1 MB chunks
and copied byte for byte, except the rows that need a change (marked, holding a formula, risky
text or cell metadata), which are rewritten one by one. Memory is a few chunks plus the output.

The package: `marks` (limits, errors, what each cell says), `markup` (XML helpers and checks),
`parts` (the workbook's parts), `comments`, `styles` (and the shared strings), `sheet` (one
worksheet copied), `explanation` (the 错误说明 sheet), `package` (`roster_annotate`,
the whole copy).
"""

from __future__ import annotations

from imports.annotate.marks import (
    ANNOTATE_MAX_PROBLEMS,
    AUTHOR,
    CHUNK,
    COMPRESS_LEVEL,
    CT,
    ERROR_RGB,
    HEAD_KEEP,
    MAX_PART_BYTES,
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
    TAIL_KEEP,
    WARNING_RGB,
    AnnotateError,
)
from imports.annotate.package import roster_annotate

__all__ = [
    "ANNOTATE_MAX_PROBLEMS",
    "AUTHOR",
    "CHUNK",
    "COMPRESS_LEVEL",
    "CT",
    "ERROR_RGB",
    "HEAD_KEEP",
    "MAX_PART_BYTES",
    "NS_MAIN",
    "NS_PKG_REL",
    "NS_REL",
    "REL_COMMENTS",
    "REL_OFFICE",
    "REL_STRINGS",
    "REL_STYLES",
    "REL_THEME",
    "REL_VML",
    "REL_WORKSHEET",
    "SHEET_NAME",
    "TAIL_KEEP",
    "WARNING_RGB",
    "AnnotateError",
    "roster_annotate",
]
