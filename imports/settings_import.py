"""Loading the 到梦空间 settings mirror (categories, credit types, levels) from a workbook.

Sheets: 活动分类 (活动一级分类, 活动二级分类), 学分类型 (学分类型, optional 单条上限), 活动等级
(活动等级). Every row is checked first; only a file without a single problem is written, in one
transaction. Loading the same file again changes nothing (names are the keys; order follows the
file). Names missing from the file are left as they are: switching them off is the admin's
decision. Without a 单条上限 column the stored limits stay; with it, an empty cell means no limit.

An optional sheet 认定标准 loads the standard's items: 活动一级分类, 活动二级分类, 项号,
项目名称, 学分类型, 分值, and optionally 活动等级, 奖项 and 单位 (计分单位: 每项, 每次, 每小时,
每天, 每学期, 每学年, 每篇). An item is "<一级分类>类别第 <项号> 项". Without a 单位 column
stored units stay and new items count 每项; with it, an empty cell means 每项.
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
from imports.models import (
    UNIT_NOUNS,
    ActivityCategory,
    ActivityLevel,
    ActivitySubcategory,
    CreditStandardItem,
    CreditType,
)
from imports.roster import parse_value

SHEET_CATEGORIES = "活动分类"
SHEET_CREDIT_TYPES = "学分类型"
SHEET_LEVELS = "活动等级"
SHEET_STANDARD = "认定标准"
COL_MAX_VALUE = "单条上限"
COL_UNIT = "单位"
SHEETS: dict[str, tuple[str, ...]] = {
    SHEET_CATEGORIES: ("活动一级分类", "活动二级分类"),
    SHEET_CREDIT_TYPES: ("学分类型",),
    SHEET_LEVELS: ("活动等级",),
    SHEET_STANDARD: ("活动一级分类", "活动二级分类", "项号", "项目名称", "学分类型", "分值"),
}
# Sheets a file may leave out.
OPTIONAL_SHEETS = frozenset({SHEET_STANDARD})
OPTIONAL: dict[str, tuple[str, ...]] = {
    SHEET_CREDIT_TYPES: (COL_MAX_VALUE,),
    SHEET_STANDARD: ("活动等级", "奖项", COL_UNIT),
}
# Cells that may be empty (the column itself may be missing too).
MAY_BE_EMPTY = frozenset({COL_MAX_VALUE, COL_UNIT, "奖项"})
MAX_LENGTH = {
    "活动一级分类": 64,
    "活动二级分类": 64,
    "学分类型": 64,
    "活动等级": 32,
    "项目名称": 200,
    "奖项": 100,
    "项号": 5,
    "分值": 12,
    COL_UNIT: 8,
}
Unit = CreditStandardItem.Unit
# 单位 cells: the choice's label (每小时) or its noun (小时); empty is 每项.
UNIT_NAMES: dict[str, str] = {
    "": Unit.ITEM,
    "项": Unit.ITEM,
    "日": Unit.DAY,
    "每日": Unit.DAY,
    "年": Unit.SCHOOL_YEAR,
    "每年": Unit.SCHOOL_YEAR,
    "时": Unit.HOUR,
    **{str(label): value for value, label in Unit.choices},
    **{str(noun): value for value, noun in UNIT_NOUNS.items()},
}
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
    if sheet is None and name in OPTIONAL_SHEETS:
        return []
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
        if sheet == SHEET_STANDARD and value and column in ("项号", "分值", COL_UNIT):
            message = _standard_cell_problem(column, value)
            if message:
                problems.append(SheetProblem(sheet, excel_row, column, message))
        elif not value and (
            column in MAY_BE_EMPTY or (sheet == SHEET_STANDARD and column == "活动等级")
        ):
            continue
        elif column == COL_MAX_VALUE:
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


def _standard_cell_problem(column: str, value: str) -> str:
    """What is wrong with a 项号, 分值 or 单位 cell of the 认定标准 sheet ("" when nothing)."""
    if column == "项号":
        if not value.isascii() or not value.isdigit() or not 0 < int(value) < 32768:
            return _("“%(value)s”不是有效的项号：请填写正整数，如 3。") % {"value": value}
    elif column == "分值":
        try:
            parse_value(value)
        except ValueError:
            return _(
                "“%(value)s”不是有效的分值：请填写不小于 0、最多两位小数的数字（如 1 或 0.5），"
                "不要带单位；按小时等计分的条目填每单位的分值，单位写在“单位”列。"
            ) % {"value": value}
    elif column == COL_UNIT and value not in UNIT_NAMES:
        return _("“%(value)s”不是可用的单位，请填写：%(choices)s（留空表示每项）。") % {
            "value": value,
            "choices": "、".join(str(label) for _v, label in Unit.choices),
        }
    return ""


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
        standard = _read_sheet(workbook, SHEET_STANDARD, problems)
    except Exception as exc:
        raise _unreadable() from exc
    if not problems:
        problems.extend(_standard_problems(standard, categories, credit_types, levels))
    if problems:
        raise SettingsImportError(problems)

    result = SettingsImportResult()
    with transaction.atomic():
        _write_categories(categories, result)
        _write_credit_types(credit_types, result)
        for i, name in enumerate(dict.fromkeys(v["活动等级"] for _r, v in levels)):
            result.count(SHEET_LEVELS, _upsert(ActivityLevel, {"name": name}, i))
        _write_standard(standard, result)
    return result


def _standard_problems(
    rows: list[tuple[int, dict[str, str]]],
    categories: list[tuple[int, dict[str, str]]],
    credit_types: list[tuple[int, dict[str, str]]],
    levels: list[tuple[int, dict[str, str]]],
) -> list[SheetProblem]:
    """Names the standard uses exist (in this file or already stored); an item appears once."""
    pairs = {(v["活动一级分类"], v["活动二级分类"]) for _r, v in categories}
    pairs.update(ActivitySubcategory.objects.values_list("category__name", "name"))
    type_names = {v["学分类型"] for _r, v in credit_types}
    type_names.update(CreditType.objects.values_list("name", flat=True))
    level_names = {v["活动等级"] for _r, v in levels}
    level_names.update(ActivityLevel.objects.values_list("name", flat=True))
    problems: list[SheetProblem] = []
    seen: dict[tuple[str, int], int] = {}
    for row, v in rows:
        cat, sub = v["活动一级分类"], v["活动二级分类"]
        if (cat, sub) not in pairs:
            problems.append(
                SheetProblem(
                    SHEET_STANDARD,
                    row,
                    "活动二级分类",
                    _("“%(cat)s / %(sub)s”不在活动分类中。") % {"cat": cat, "sub": sub},
                )
            )
        if v["学分类型"] not in type_names:
            problems.append(
                SheetProblem(
                    SHEET_STANDARD,
                    row,
                    "学分类型",
                    _("“%(value)s”不在学分类型中。") % {"value": v["学分类型"]},
                )
            )
        level = v.get("活动等级", "")
        if level and level not in level_names:
            problems.append(
                SheetProblem(
                    SHEET_STANDARD,
                    row,
                    "活动等级",
                    _("“%(value)s”不在活动等级中。") % {"value": level},
                )
            )
        key = (cat, int(v["项号"]))
        if key in seen:
            problems.append(
                SheetProblem(
                    SHEET_STANDARD,
                    row,
                    "项号",
                    _("“%(cat)s类别第 %(n)s 项”已在第 %(row)s 行出现。")
                    % {"cat": cat, "n": key[1], "row": seen[key]},
                )
            )
        seen.setdefault(key, row)
        stored = CreditStandardItem.objects.filter(
            subcategory__category__name=cat, number=key[1]
        ).count()
        if stored > 1:
            problems.append(
                SheetProblem(
                    SHEET_STANDARD,
                    row,
                    "项号",
                    _("系统中已有 %(n)s 条“%(cat)s类别第 %(number)s 项”，请先在后台合并。")
                    % {"n": stored, "cat": cat, "number": key[1]},
                )
            )
    return problems


def _write_standard(rows: list[tuple[int, dict[str, str]]], result: SettingsImportResult) -> None:
    """One item per "<一级分类>类别第 X 项"; 单位 only when the column is (else kept / 每项)."""
    for _row, v in rows:
        values: dict[str, Any] = {
            "subcategory": ActivitySubcategory.objects.get(
                category__name=v["活动一级分类"], name=v["活动二级分类"]
            ),
            "name": v["项目名称"],
            "level": ActivityLevel.objects.get(name=v["活动等级"]) if v.get("活动等级") else None,
            "award": v.get("奖项", ""),
            "credit_type": CreditType.objects.get(name=v["学分类型"]),
            "points": parse_value(v["分值"]),
            "is_active": True,
        }
        if COL_UNIT in v:
            values["unit"] = UNIT_NAMES[v[COL_UNIT]]
        obj = CreditStandardItem.objects.filter(
            subcategory__category__name=v["活动一级分类"], number=int(v["项号"])
        ).first()
        if obj is None:
            CreditStandardItem.objects.create(number=int(v["项号"]), **values)
            result.count(SHEET_STANDARD, "created")
            continue
        changed = [name for name, value in values.items() if getattr(obj, name) != value]
        for name in changed:
            setattr(obj, name, values[name])
        if changed:
            obj.save(update_fields=changed)
        result.count(SHEET_STANDARD, "updated" if changed else "unchanged")


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
