"""Loading the 到梦空间 settings mirror (categories, credit types, levels) from a workbook.

Sheets: 活动分类 (活动一级分类, 活动二级分类), 学分类型 (学分类型), 活动等级 (活动等级). Every
row is checked first; only a file without a single problem is written, in one transaction.
Loading the same file again changes nothing (names are the keys; order follows the file).
Names missing from the file are left as they are: switching them off is the admin's decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import IO, Any

from django.db import transaction
from django.utils.translation import gettext as _
from python_calamine import CalamineWorkbook

from bulu.exceptions import ApplicationError
from imports.models import ActivityCategory, ActivityLevel, ActivitySubcategory, CreditType
from imports.roster import check_xlsx_container, norm_text

SHEET_CATEGORIES = "活动分类"
SHEET_CREDIT_TYPES = "学分类型"
SHEET_LEVELS = "活动等级"
SHEETS: dict[str, tuple[str, ...]] = {
    SHEET_CATEGORIES: ("活动一级分类", "活动二级分类"),
    SHEET_CREDIT_TYPES: ("学分类型",),
    SHEET_LEVELS: ("活动等级",),
}
MAX_LENGTH = {"活动一级分类": 64, "活动二级分类": 64, "学分类型": 64, "活动等级": 32}
MAX_ROWS = 5000


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


def _read_sheet(
    workbook: Any, name: str, problems: list[SheetProblem]
) -> list[tuple[int, dict[str, str]]]:
    """(Excel row, {column: value}) for the non-blank rows below the sheet's header."""
    columns = SHEETS[name]
    if name not in workbook.sheet_names:
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
    rows = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
    header_index = next((i for i, r in enumerate(rows) if any(norm_text(c) for c in r)), None)
    if header_index is None:
        problems.append(SheetProblem(name, None, None, _("工作表是空的。")))
        return []
    header = [norm_text(c) for c in rows[header_index]]
    positions: dict[str, int] = {}
    for column in columns:
        if column in header:
            positions[column] = header.index(column)
        else:
            problems.append(
                SheetProblem(
                    name,
                    header_index + 1,
                    column,
                    _("表头缺少“%(column)s”列。") % {"column": column},
                )
            )
    if len(positions) < len(columns):
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
        excel_row = index + 1
        for column, value in values.items():
            if not value:
                problems.append(SheetProblem(name, excel_row, column, _("不能为空。")))
            elif len(value) > MAX_LENGTH[column]:
                problems.append(
                    SheetProblem(
                        name,
                        excel_row,
                        column,
                        _("“%(value)s”超过 %(max)s 个字。")
                        % {"value": value, "max": MAX_LENGTH[column]},
                    )
                )
        out.append((excel_row, values))
    return out


def _upsert(model: Any, lookup: dict[str, Any], order: int) -> str:
    """Create or re-activate one settings row; `model` has `order` and `is_active`."""
    obj = model.objects.filter(**lookup).first()
    if obj is None:
        model.objects.create(**lookup, order=order, is_active=True)
        return "created"
    if obj.order != order or not obj.is_active:
        obj.order = order
        obj.is_active = True
        obj.save(update_fields=["order", "is_active"])
        return "updated"
    return "unchanged"


def credit_settings_import(*, fileobj: IO[bytes]) -> SettingsImportResult:
    """Validate every row, then write all of it in one transaction; raises SettingsImportError."""
    try:
        check_xlsx_container(fileobj)
        workbook = CalamineWorkbook.from_filelike(fileobj)
    except ApplicationError as exc:
        raise SettingsImportError([SheetProblem("", None, None, exc.message)]) from exc
    except Exception as exc:
        raise SettingsImportError(
            [SheetProblem("", None, None, _("无法读取该文件，请确认是 xlsx 格式的 Excel 文件。"))]
        ) from exc

    problems: list[SheetProblem] = []
    try:
        categories = _read_sheet(workbook, SHEET_CATEGORIES, problems)
        credit_types = _read_sheet(workbook, SHEET_CREDIT_TYPES, problems)
        levels = _read_sheet(workbook, SHEET_LEVELS, problems)
    except Exception as exc:
        raise SettingsImportError(
            [SheetProblem("", None, None, _("无法读取该文件，请确认是 xlsx 格式的 Excel 文件。"))]
        ) from exc
    if problems:
        raise SettingsImportError(problems)

    result = SettingsImportResult()
    with transaction.atomic():
        cat_order: dict[str, int] = {}
        sub_order: dict[tuple[str, str], int] = {}
        per_category: dict[str, int] = {}
        for _row, values in categories:
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
        for i, name in enumerate(dict.fromkeys(v["学分类型"] for _r, v in credit_types)):
            result.count(SHEET_CREDIT_TYPES, _upsert(CreditType, {"name": name}, i))
        for i, name in enumerate(dict.fromkeys(v["活动等级"] for _r, v in levels)):
            result.count(SHEET_LEVELS, _upsert(ActivityLevel, {"name": name}, i))
    return result
