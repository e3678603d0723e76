"""认定标准 items counted per unit (每小时, 每天 …): the optional 认定标准 sheet, its 单位
column, the admin and the demo mirror."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from accounts.models import User
from imports.demo import demo_seed_credit_settings
from imports.models import CreditStandardItem, quantity_text
from imports.settings_import import SettingsImportError, credit_settings_import

Unit = CreditStandardItem.Unit
HEADER: list[Any] = [
    "活动一级分类",
    "活动二级分类",
    "项号",
    "项目名称",
    "活动等级",
    "奖项",
    "学分类型",
    "分值",
]
ROWS: list[list[Any]] = [
    ["志愿公益", "志愿服务", 1, "参加志愿服务（每小时）", None, None, "志愿者工时", 1],
    ["文体活动", "文体活动", 2, "校园歌手大赛获奖", "校级", "一等奖", "文体活动学分", "2"],
]


def workbook(standard: list[list[Any]] | None) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    sheets: dict[str, list[list[Any]]] = {
        "活动分类": [
            ["活动一级分类", "活动二级分类"],
            ["文体活动", "文体活动"],
            ["志愿公益", "志愿服务"],
        ],
        "学分类型": [["学分类型"], ["文体活动学分"], ["志愿者工时"]],
        "活动等级": [["活动等级"], ["校级"], ["院系级"]],
    }
    if standard is not None:
        sheets["认定标准"] = standard
    for name, rows in sheets.items():
        ws = book.create_sheet(name)
        for values in rows:
            ws.append(values)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def load(data: bytes) -> Any:
    return credit_settings_import(fileobj=io.BytesIO(data))


def item(number: int) -> CreditStandardItem:
    return CreditStandardItem.objects.select_related("level", "credit_type").get(number=number)


def test_it_reads_the_unit_column_of_the_standard_sheet(db: None) -> None:
    rows = [[*HEADER, "单位"], [*ROWS[0], "每小时"], [*ROWS[1], None]]
    result = load(workbook(rows))
    assert result.created["认定标准"] == 2
    volunteering, singing = item(1), item(2)
    assert volunteering.unit == Unit.HOUR and volunteering.per_unit
    assert volunteering.points == Decimal("1.00") and volunteering.level is None
    assert volunteering.claim_text(Decimal(6)) == "6 小时 × 1.00"
    # (Names are read as NFKC text, as every name of the mirror: full-width brackets become ASCII.)
    assert str(volunteering) == "志愿公益类别第 1 项 参加志愿服务(每小时)（每小时 1.00 志愿者工时）"
    # An empty 单位 cell is the default: the points once for the whole item.
    assert singing.unit == Unit.ITEM and not singing.per_unit
    assert singing.level is not None and singing.level.name == "校级"
    assert singing.award == "一等奖" and singing.claim_text(Decimal(6)) == ""
    # Loading the same file again changes nothing.
    again = load(workbook(rows))
    assert again.unchanged["认定标准"] == 2 and "认定标准" not in again.updated


@pytest.mark.parametrize(
    ("cell", "unit"),
    [("小时", Unit.HOUR), ("每天", Unit.DAY), ("次", Unit.TIME), ("每学年", Unit.SCHOOL_YEAR)],
)
def test_it_accepts_the_unit_as_label_or_noun(db: None, cell: str, unit: str) -> None:
    load(workbook([[*HEADER, "单位"], [*ROWS[0], cell]]))
    assert item(1).unit == unit


def test_a_standard_sheet_without_the_unit_column_keeps_working(db: None) -> None:
    result = load(workbook([HEADER, *ROWS]))
    assert result.created["认定标准"] == 2
    assert {i.unit for i in CreditStandardItem.objects.all()} == {Unit.ITEM}
    # A unit set in the admin stays when a file without the column is loaded again.
    CreditStandardItem.objects.filter(number=1).update(unit=Unit.HOUR)
    result = load(workbook([HEADER, [*ROWS[0][:7], "1.5"], ROWS[1]]))
    assert result.updated == {"认定标准": 1}
    assert item(1).unit == Unit.HOUR and item(1).points == Decimal("1.50")


def test_a_file_without_the_standard_sheet_keeps_working(db: None) -> None:
    result = load(workbook(None))
    assert "认定标准" not in result.created and CreditStandardItem.objects.count() == 0


def test_a_bad_unit_and_unknown_names_are_reported_and_nothing_is_written(db: None) -> None:
    rows: list[list[Any]] = [
        [*HEADER, "单位"],
        [*ROWS[0], "每分钟"],
        ["志愿公益", "无此分类", 3, "x", "省级", None, "志愿者工时", "-1", None],
        [*ROWS[1], None],
    ]
    with pytest.raises(SettingsImportError) as caught:
        load(workbook(rows))
    found = {(p.sheet, p.row, p.column) for p in caught.value.problems}
    assert found == {("认定标准", 2, "单位"), ("认定标准", 3, "分值")}
    unit_problem = next(p for p in caught.value.problems if p.column == "单位")
    assert str(unit_problem).startswith("工作表“认定标准”第 2 行“单位”列：“每分钟”不是可用的单位")
    assert "每小时" in str(unit_problem)
    # Cells fixed: the names are checked against the settings, still nothing written.
    rows[1][-1], rows[2][7] = "每小时", "1"
    with pytest.raises(SettingsImportError) as caught:
        load(workbook(rows))
    assert {(p.row, p.column) for p in caught.value.problems} == {
        (3, "活动二级分类"),
        (3, "活动等级"),
    }
    assert CreditStandardItem.objects.count() == 0


def test_the_command_loads_the_standard_with_units(db: None, tmp_path: Path) -> None:
    path = tmp_path / "settings.xlsx"
    path.write_bytes(workbook([[*HEADER, "单位"], [*ROWS[0], "每小时"]]))
    out = io.StringIO()
    call_command("import_settings", str(path), stdout=out)
    assert "认定标准：新增 1" in out.getvalue()
    assert item(1).unit == Unit.HOUR


def test_the_demo_volunteering_item_counts_hours(db: None) -> None:
    demo_seed_credit_settings()
    volunteering = CreditStandardItem.objects.get(name="参加志愿服务（每小时）")
    assert volunteering.unit == Unit.HOUR
    assert CreditStandardItem.objects.get(name="无偿献血").unit == Unit.ITEM


def test_the_admin_shows_and_edits_the_unit(db: None, client: Client) -> None:
    admin = User.objects.create_superuser(username="root", password="pw-123456", name="管理员")
    client.force_login(admin)
    demo_seed_credit_settings()
    page = client.get(reverse("admin:imports_creditstandarditem_changelist")).content.decode()
    assert "计分单位" in page and "每小时" in page
    target = CreditStandardItem.objects.get(name="无偿献血")
    change = client.get(reverse("admin:imports_creditstandarditem_change", args=[target.pk]))
    assert 'name="unit"' in change.content.decode()


def test_quantities_read_as_typed() -> None:
    assert quantity_text(Decimal("6.00")) == "6"
    assert quantity_text(Decimal("1.50")) == "1.5"
    assert quantity_text(Decimal("10")) == "10"
