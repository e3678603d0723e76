"""Loading the 到梦空间 settings mirror (categories, credit types, levels) from a workbook.

Sheets: 活动分类 (活动一级分类, 活动二级分类), 学分类型 (学分类型, optional 单条上限), 活动等级
(活动等级). Every row is checked first; only a file without a single problem is written, in one
transaction. Loading the same file again changes nothing (names are the keys; order follows the
file). Names missing from the file are left as they are: switching them off is the admin's
decision. Without a 单条上限 column the stored limits stay; with it, an empty cell means no limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any

from django.db import transaction
from django.utils.translation import gettext as _
from python_calamine import CalamineWorkbook

from bulu.exceptions import ApplicationError
from bulu.xlsx import (
    CODE_TOO_MANY_ROWS,
    norm_text,
    xlsx_header_positions,
    xlsx_open,
    xlsx_sheet_named,
    xlsx_sheet_rows,
)
from imports.models import ActivityCategory, ActivityLevel, ActivitySubcategory, CreditType
from imports.roster import parse_value

SHEET_CATEGORIES = "活动分类"
SHEET_CREDIT_TYPES = "学分类型"
SHEET_LEVELS = "活动等级"
COL_MAX_VALUE = "单条上限"
SHEETS: dict[str, tuple[str, ...]] = {
    SHEET_CATEGORIES: ("活动一级分类", "活动二级分类"),
    SHEET_CREDIT_TYPES: ("学分类型",),
    SHEET_LEVELS: ("活动等级",),
}
OPTIONAL: dict[str, tuple[str, ...]] = {SHEET_CREDIT_TYPES: (COL_MAX_VALUE,)}
MAX_LENGTH = {"活动一级分类": 64, "活动二级分类": 64, "学分类型": 64, "活动等级": 32}
MAX_ROWS = 5000
# Rows above the header that may be left empty.
HEADER_SEARCH_ROWS = 20


@dataclass(frozen=True)
class SheetProblem:
    sheet: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = _("工作表“%(sheet)s”") % {"sheet": self.sheet} if self.sheet else ""
        if self.row is not None:
            where += _("第 %(row)s 行") % {"row": self.row}
        if self.column:
            where += _("“%(column)s”列") % {"column": self.column}
        return f"{where}：{self.message}" if where else self.message


class SettingsImportError(ApplicationError):
    def __init__(self, problems: list[SheetProblem]) -> None:
        super().__init__(
            _("积分设置文件有 %(n)s 处问题，未导入任何内容。") % {"n": len(problems)},
            extra={"problems": problems},
        )
        self.problems = problems


@dataclass
class SettingsImportResult:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str, outcome: str) -> None:
        bucket: dict[str, int] = getattr(self, outcome)
        bucket[kind] = bucket.get(kind, 0) + 1


def _unreadable() -> SettingsImportError:
    return SettingsImportError(
        [SheetProblem("", None, None, _("无法读取该文件，请确认是 xlsx 格式的 Excel 文件。"))]
    )


def _read_sheet(
    workbook: CalamineWorkbook, name: str, problems: list[SheetProblem]
) -> list[tuple[int, dict[str, str]]]:
    """(Excel row, {column: value}) for the non-blank rows below the sheet's header."""
    columns = SHEETS[name]
    sheet = xlsx_sheet_named(workbook, name)
    if sheet is None:
        problems.append(
            SheetProblem(
                name,
                None,
                None,
                _("缺少工作表“%(sheet)s”（表头：%(header)s）。")
                % {"sheet": name, "header": " ".join(columns)},
            )
        )
        return []
    try:
        rows = xlsx_sheet_rows(sheet, max_rows=HEADER_SEARCH_ROWS + MAX_ROWS)
    except ApplicationError as exc:
        if exc.extra.get("code") != CODE_TOO_MANY_ROWS:
            raise
        problems.append(
            SheetProblem(name, None, None, _("超过 %(max)s 行的上限。") % {"max": MAX_ROWS})
        )
        return []
    header_index = next((i for i, r in enumerate(rows) if any(norm_text(c) for c in r)), None)
    if header_index is None:
        problems.append(SheetProblem(name, None, None, _("工作表是空的。")))
        return []
    positions, _repeated = xlsx_header_positions(
        rows[header_index], known=(*columns, *OPTIONAL.get(name, ()))
    )
    missing = [c for c in columns if c not in positions]
    for column in missing:
        problems.append(
            SheetProblem(
                name, header_index + 1, column, _("表头缺少“%(column)s”列。") % {"column": column}
            )
        )
    if missing:
        return []
    if len(rows) - header_index - 1 > MAX_ROWS:
        problems.append(
            SheetProblem(name, None, None, _("超过 %(max)s 行的上限。") % {"max": MAX_ROWS})
        )
        return []
    out: list[tuple[int, dict[str, str]]] = []
    for index in range(header_index + 1, len(rows)):
        raw = rows[index]
        values = {c: norm_text(raw[p]) if p < len(raw) else "" for c, p in positions.items()}
        if not any(values.values()):
            continue
        problems.extend(_row_problems(name, index + 1, values))
        out.append((index + 1, values))
    return out


def _row_problems(sheet: str, excel_row: int, values: dict[str, str]) -> list[SheetProblem]:
    problems: list[SheetProblem] = []
    for column, value in values.items():
        if column == COL_MAX_VALUE:
            if value and _max_value(value) is None:
                problems.append(
                    SheetProblem(
                        sheet,
                        excel_row,
                        column,
                        _(
                            "“%(value)s”不是有效的上限：请填写大于 0、最多两位小数的数字"
                            "（如 4 或 0.5），不要带单位；留空表示不限。"
                        )
                        % {"value": value},
                    )
                )
        elif not value:
            problems.append(SheetProblem(sheet, excel_row, column, _("不能为空。")))
        elif len(value) > MAX_LENGTH[column]:
            problems.append(
                SheetProblem(
                    sheet,
                    excel_row,
                    column,
                    _("“%(value)s”超过 %(max)s 个字。")
                    % {"value": value, "max": MAX_LENGTH[column]},
                )
            )
    return problems


def _max_value(text: str) -> Decimal | None:
    """A 单条上限: a positive number with at most two decimals (None when it is not one)."""
    try:
        value = parse_value(text)
    except ValueError:
        return None
    return value if value > 0 else None


def _upsert(model: Any, lookup: dict[str, Any], order: int, **values: Any) -> str:
    """Create or re-activate one settings row; `model` has `order` and `is_active`."""
    obj = model.objects.filter(**lookup).first()
    if obj is None:
        model.objects.create(**lookup, **values, order=order, is_active=True)
        return "created"
    wanted = {"order": order, "is_active": True, **values}
    changed = [name for name, value in wanted.items() if getattr(obj, name) != value]
    if changed:
        for name in changed:
            setattr(obj, name, wanted[name])
        obj.save(update_fields=changed)
        return "updated"
    return "unchanged"


def credit_settings_import(*, fileobj: IO[bytes]) -> SettingsImportResult:
    """Validate every row, then write all of it in one transaction; raises SettingsImportError."""
    try:
        workbook = xlsx_open(fileobj)
    except ApplicationError as exc:
        raise SettingsImportError([SheetProblem("", None, None, exc.message)]) from exc
    problems: list[SheetProblem] = []
    try:
        categories = _read_sheet(workbook, SHEET_CATEGORIES, problems)
        credit_types = _read_sheet(workbook, SHEET_CREDIT_TYPES, problems)
        levels = _read_sheet(workbook, SHEET_LEVELS, problems)
    except Exception as exc:
        raise _unreadable() from exc
    if problems:
        raise SettingsImportError(problems)

    result = SettingsImportResult()
    with transaction.atomic():
        _write_categories(categories, result)
        _write_credit_types(credit_types, result)
        for i, name in enumerate(dict.fromkeys(v["活动等级"] for _r, v in levels)):
            result.count(SHEET_LEVELS, _upsert(ActivityLevel, {"name": name}, i))
    return result


def _write_categories(rows: list[tuple[int, dict[str, str]]], result: SettingsImportResult) -> None:
    cat_order: dict[str, int] = {}
    sub_order: dict[tuple[str, str], int] = {}
    per_category: dict[str, int] = {}
    for _row, values in rows:
        cat = values["活动一级分类"]
        cat_order.setdefault(cat, len(cat_order))
        if (cat, values["活动二级分类"]) not in sub_order:
            sub_order[(cat, values["活动二级分类"])] = per_category.get(cat, 0)
            per_category[cat] = per_category.get(cat, 0) + 1
    cat_objs: dict[str, ActivityCategory] = {}
    for name, order in cat_order.items():
        result.count(SHEET_CATEGORIES, _upsert(ActivityCategory, {"name": name}, order))
        cat_objs[name] = ActivityCategory.objects.get(name=name)
    for (cat, sub), order in sub_order.items():
        outcome = _upsert(ActivitySubcategory, {"category": cat_objs[cat], "name": sub}, order)
        result.count("活动二级分类", outcome)


def _write_credit_types(
    rows: list[tuple[int, dict[str, str]]], result: SettingsImportResult
) -> None:
    """In file order; a name given twice keeps its first row. 单条上限 only when the column is."""
    first: dict[str, dict[str, str]] = {}
    for _row, values in rows:
        first.setdefault(values["学分类型"], values)
    for i, (name, values) in enumerate(first.items()):
        extra: dict[str, Any] = {}
        if COL_MAX_VALUE in values:
            extra["max_value"] = (
                _max_value(values[COL_MAX_VALUE]) if values[COL_MAX_VALUE] else None
            )
        result.count(SHEET_CREDIT_TYPES, _upsert(CreditType, {"name": name}, i, **extra))
