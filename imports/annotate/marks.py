"""What the annotated copy marks: the limits, the error types, and each cell's problems."""

from __future__ import annotations

from dataclasses import dataclass, field

from bulu.exceptions import ApplicationError
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
