"""What reading and judging a roster produce (problems, rows, the report), what judging is
given (the settings mirror, the lookups), and the cell values shared by both."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from bulu.xlsx import norm_text
from imports.roster.format import _NOTES_HINTS, NOTES_RE, VALUE_MAX


class _Translations:
    """gettext_lazy messages as text, each translated once: for a file with an error in every
    row, gettext per error cost more than all the checks."""

    def __init__(self) -> None:
        self.done: dict[int, str] = {}

    def __call__(self, message: Any) -> str:
        found = self.done.get(id(message))
        if found is None:
            found = self.done[id(message)] = str(message)
        return found


CreditKey = tuple[str, str, date, str]  # 学号, 内容, 开始时间, 学分类型


@dataclass(frozen=True, slots=True)
class Problem:
    row: int | None  # Excel row number (1-based); None for the whole file
    column: str | None  # header name; None for the whole row or file
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "code": self.code, "message": self.message}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Problem:
        return cls(data.get("row"), data.get("column"), str(data["code"]), str(data["message"]))


@dataclass(slots=True)
class RosterRow:
    """One data row after normalization; a field that failed its check is None."""

    excel_row: int
    student_no: str | None
    name: str
    start: date | None
    end: date | None
    content: str
    category: str | None
    subcategory: str | None
    level: str | None
    award: str
    credit_type: str | None
    value: Decimal | None
    ok: bool = True


@dataclass
class RosterReport:
    data_rows: int = 0
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    rows: list[RosterRow] = field(default_factory=list)
    header_row: int | None = None
    # Header name -> 1-based Excel column number, as found in the file.
    columns: dict[str, int] = field(default_factory=dict)
    readable: bool = True

    @property
    def ok(self) -> bool:
        return self.readable and not self.errors

    def summary(self) -> dict[str, Any]:
        """Totals a reviewer compares with the application letter (人数、总分)."""
        good = [r for r in self.rows if r.ok]
        per_type: dict[str, Decimal] = {}
        for r in good:
            if r.credit_type is not None and r.value is not None:
                per_type[r.credit_type] = per_type.get(r.credit_type, Decimal(0)) + r.value
        return {
            "students": len({r.student_no for r in self.rows if r.student_no}),
            "valid_rows": len(good),
            "totals": {k: str(v) for k, v in sorted(per_type.items())},
        }

    def as_json(self) -> dict[str, Any]:
        """The CLI's --json object, also the stored result (plus summary and header facts)."""
        return {
            "ok": self.ok,
            "data_rows": self.data_rows,
            "errors": [p.as_dict() for p in self.errors],
            "warnings": [p.as_dict() for p in self.warnings],
        }


@dataclass
class CreditSettings:
    """The 到梦空间 settings mirror, keyed by the normalized spelling of each configured name."""

    categories: dict[str, str] = field(default_factory=dict)
    subcategories: dict[str, dict[str, str]] = field(default_factory=dict)  # by category name
    levels: dict[str, str] = field(default_factory=dict)
    credit_types: dict[str, str] = field(default_factory=dict)
    # Credit type name -> the most one record may grant (types without a limit are absent).
    maxima: dict[str, Decimal] = field(default_factory=dict)
    # 一级分类 name -> the credit types its active 认定标准 items use. Empty: no standard loaded,
    # and no pair is judged.
    standard: dict[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def from_names(
        cls,
        *,
        categories: Iterable[tuple[str, Iterable[str]]],
        levels: Iterable[str],
        credit_types: Iterable[str],
        maxima: Mapping[str, Decimal] | None = None,
        standard_pairs: Iterable[tuple[str, str]] = (),
    ) -> CreditSettings:
        result = cls()
        for cat, subs in categories:
            result.categories[norm_text(cat)] = cat
            result.subcategories[cat] = {norm_text(s): s for s in subs}
        result.levels = {norm_text(n): n for n in levels}
        result.credit_types = {norm_text(n): n for n in credit_types}
        result.maxima = dict(maxima or {})
        standard: dict[str, set[str]] = {}
        for category, credit_type in standard_pairs:
            standard.setdefault(category, set()).add(credit_type)
        result.standard = {k: frozenset(v) for k, v in standard.items()}
        return result


@dataclass
class RosterLookups:
    """Everything judging needs from the database, behind two batch callables."""

    settings: CreditSettings
    # 学号s -> {学号: registry name}; called once with every well-formed 学号 of the file.
    student_names: Callable[[Collection[str]], dict[str, str]]
    # 学号s -> {credit key: request id} of credits already recorded by approved requests.
    credited: Callable[[Collection[str]], dict[CreditKey, int]]


ProgressCallback = Callable[[float], None]

# --- values ----------------------------------------------------------------------------------

_VALUE_RE = re.compile(r"\d+(?:\.\d{1,2})?")
_CENT = Decimal("0.01")


def parse_value(value: object) -> Decimal:
    """发放学分值: a non-negative number with at most 2 decimals; raises ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int | float):
        try:
            number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        except InvalidOperation as exc:
            raise ValueError from exc
        if not number.is_finite() or number < 0 or number != number.quantize(_CENT):
            raise ValueError
    else:
        text = norm_text(value)
        if not _VALUE_RE.fullmatch(text):
            raise ValueError
        number = Decimal(text)
    if number > VALUE_MAX:
        raise ValueError
    return number.quantize(_CENT)


def is_notes_text(value: object) -> bool:
    """Whether a cell is the template's notes (or an edited copy's version of note 1)."""
    if type(value) is not str:
        return False
    for hint in _NOTES_HINTS:  # a loop, not any(): this runs for every row of the file
        if hint in value:
            break
    else:
        return False
    return NOTES_RE.search(re.sub(r"\s+", "", norm_text(value[:300]))) is not None
