"""The cadre positions list from xlsx: sheet 学生干部职务 with 单位类型, 职务, 活动一级分类, 项号.

Checked whole first (every problem named by row and column), then written in one transaction;
loading the same file again changes nothing. Positions missing from the file stay as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO

from django.db import transaction
from django.utils.translation import gettext as _

from bulu.exceptions import ApplicationError
from bulu.xlsx import (
    norm_text,
    xlsx_find_header,
    xlsx_header_positions,
    xlsx_open,
    xlsx_sheet_named,
    xlsx_sheet_rows,
)
from cadre.lists import ListProblem
from cadre.models import CadrePosition, UnitKind
from imports.models import CreditStandardItem

SHEET = "学生干部职务"
COLUMNS = ("单位类型", "职务", "活动一级分类", "项号")
UNIT_NAMES = {
    "学生会": UnitKind.STUDENT_UNION,
    "学院学生会": UnitKind.STUDENT_UNION,
    "学生组织": UnitKind.STUDENT_ORG,
    "学生社团": UnitKind.CLUB,
    "社团": UnitKind.CLUB,
    "班级": UnitKind.CLASS,
    "班委": UnitKind.CLASS,
}


class PositionsImportError(ApplicationError):
    def __init__(self, problems: list[ListProblem]) -> None:
        super().__init__(
            _("职务设置文件有 %(n)s 处问题，未导入任何内容。") % {"n": len(problems)},
            extra={"problems": problems},
        )
        self.problems = problems


@dataclass
class PositionsImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def cadre_positions_import(*, fileobj: IO[bytes]) -> PositionsImportResult:
    try:
        with xlsx_open(fileobj) as workbook:
            sheet = xlsx_sheet_named(workbook, SHEET)
            if sheet is None:
                raise PositionsImportError(
                    [ListProblem(None, None, _("缺少工作表“%(s)s”。") % {"s": SHEET})]
                )
            rows = xlsx_sheet_rows(sheet, max_rows=2000)
    except PositionsImportError:
        raise
    except ApplicationError as exc:
        raise PositionsImportError([ListProblem(None, None, exc.message)]) from exc
    header = xlsx_find_header(rows[:10], known=COLUMNS, min_known=4)
    if header is None:
        raise PositionsImportError(
            [ListProblem(None, None, _("找不到表头：%(h)s。") % {"h": " ".join(COLUMNS)})]
        )
    positions, _repeated = xlsx_header_positions(rows[header], known=COLUMNS)
    standards = {
        (s.subcategory.category.name, s.number): s
        for s in CreditStandardItem.objects.filter(is_active=True).select_related(
            "subcategory__category"
        )
    }
    problems: list[ListProblem] = []
    wanted: list[tuple[UnitKind, str, CreditStandardItem, int]] = []
    for index in range(header + 1, len(rows)):
        cells = rows[index]
        value = {c: norm_text(cells[i]) if i < len(cells) else "" for c, i in positions.items()}
        if not any(value.values()):
            continue
        line = index + 1
        kind = UNIT_NAMES.get(value["单位类型"])
        if kind is None:
            problems.append(
                ListProblem(line, "单位类型", _("请填写：%(c)s。") % {"c": "、".join(UNIT_NAMES)})
            )
        if not value["职务"]:
            problems.append(ListProblem(line, "职务", _("请填写职务名称。")))
        number = value["项号"]
        standard = standards.get((value["活动一级分类"], int(number))) if number.isdigit() else None
        if standard is None:
            problems.append(
                ListProblem(
                    line,
                    "项号",
                    _("认定标准中没有“%(c)s类别第 %(n)s 项”。")
                    % {"c": value["活动一级分类"], "n": number},
                )
            )
        if kind is not None and standard is not None and value["职务"]:
            wanted.append((kind, value["职务"][:32], standard, len(wanted)))
    if problems:
        raise PositionsImportError(problems)
    result = PositionsImportResult()
    with transaction.atomic():
        for kind, name, standard, order in wanted:
            obj, created = CadrePosition.objects.get_or_create(
                unit_kind=kind,
                name=name,
                defaults={"standard_item": standard, "order": order},
            )
            if created:
                result.created += 1
            elif obj.standard_item_id != standard.pk or obj.order != order or not obj.is_active:
                obj.standard_item, obj.order, obj.is_active = standard, order, True
                obj.save()
                result.updated += 1
            else:
                result.unchanged += 1
    return result
