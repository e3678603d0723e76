"""Part A: the settings mirror — import_settings, the demo seed, the admin."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from accounts.models import User
from imports.demo import CATEGORIES, CREDIT_TYPES, LEVELS, demo_seed_credit_settings
from imports.models import (
    ActivityCategory,
    ActivityLevel,
    ActivitySubcategory,
    CreditStandardItem,
    CreditType,
)
from imports.settings_import import SettingsImportError, credit_settings_import

CATEGORY_ROWS = [
    ["活动一级分类", "活动二级分类"],
    ["文体活动", "文体活动"],
    ["文体活动", "体育竞赛"],
    ["\u3000志愿公益 ", "志愿服务"],
    ["工作履历", "工作履历"],
]


def settings_xlsx(
    categories: list[list[Any]] | None = None,
    credit_types: list[list[Any]] | None = None,
    levels: list[list[Any]] | None = None,
    *,
    skip: tuple[str, ...] = (),
) -> bytes:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    sheets = {
        "活动分类": CATEGORY_ROWS if categories is None else categories,
        "学分类型": [["学分类型"], ["文体活动学分"], ["志愿者工时"]]
        if credit_types is None
        else credit_types,
        "活动等级": [["活动等级"], ["国家级"], ["校级"], ["院系级"]] if levels is None else levels,
    }
    for name, rows in sheets.items():
        if name in skip:
            continue
        ws = workbook.create_sheet(name)
        for values in rows:
            ws.append(values)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def load(data: bytes) -> Any:
    return credit_settings_import(fileobj=io.BytesIO(data))


def test_it_imports_categories_credit_types_and_levels(db: None) -> None:
    result = load(settings_xlsx())
    assert list(ActivityCategory.objects.values_list("name", "order")) == [
        ("文体活动", 0),
        ("志愿公益", 1),
        ("工作履历", 2),
    ]
    assert set(ActivitySubcategory.objects.values_list("category__name", "name")) == {
        ("文体活动", "文体活动"),
        ("文体活动", "体育竞赛"),
        ("志愿公益", "志愿服务"),
        ("工作履历", "工作履历"),
    }
    assert list(CreditType.objects.values_list("name", flat=True)) == ["文体活动学分", "志愿者工时"]
    assert list(ActivityLevel.objects.values_list("name", flat=True)) == [
        "国家级",
        "校级",
        "院系级",
    ]
    assert result.created == {"活动分类": 3, "活动二级分类": 4, "学分类型": 2, "活动等级": 3}


def test_it_is_idempotent(db: None) -> None:
    data = settings_xlsx()
    load(data)
    before = (ActivityCategory.objects.count(), ActivitySubcategory.objects.count())
    result = load(data)
    assert result.created == {} and result.updated == {}
    assert result.unchanged["活动二级分类"] == 4
    assert (ActivityCategory.objects.count(), ActivitySubcategory.objects.count()) == before


def test_it_reactivates_and_reorders_but_never_deletes(db: None) -> None:
    ActivityLevel.objects.create(name="市级", order=9)
    ActivityLevel.objects.create(name="校级", order=5, is_active=False)
    result = load(settings_xlsx())
    assert result.updated == {"活动等级": 1}
    assert ActivityLevel.objects.get(name="校级").is_active
    assert ActivityLevel.objects.filter(name="市级").exists()


def test_it_reports_row_level_problems_and_writes_nothing(db: None) -> None:
    data = settings_xlsx(
        categories=[["活动一级分类", "活动二级分类"], ["文体活动", "文体活动"], ["文体活动", None]],
        levels=[["活动等级"], ["很长" * 20]],
    )
    with pytest.raises(SettingsImportError) as caught:
        load(data)
    problems = [(p.sheet, p.row, p.column) for p in caught.value.problems]
    assert problems == [("活动分类", 3, "活动二级分类"), ("活动等级", 2, "活动等级")]
    assert str(caught.value.problems[0]) == "工作表“活动分类”第 3 行“活动二级分类”列：不能为空。"
    assert ActivityCategory.objects.count() == 0


def test_it_reports_missing_sheets_and_columns(db: None) -> None:
    data = settings_xlsx(credit_types=[["类型名称"], ["文体活动学分"]], skip=("活动等级",))
    with pytest.raises(SettingsImportError) as caught:
        load(data)
    messages = [str(p) for p in caught.value.problems]
    assert any("缺少工作表“活动等级”" in m for m in messages)
    assert any("“学分类型”列" in m and "表头缺少" in m for m in messages)


def test_it_refuses_a_file_that_is_not_xlsx(db: None) -> None:
    with pytest.raises(SettingsImportError) as caught:
        load(b"a,b\n1,2\n")
    assert "xlsx" in str(caught.value.problems[0])


def test_the_command_loads_a_file_and_reports_problems(db: None, tmp_path: Path) -> None:
    good = tmp_path / "settings.xlsx"
    good.write_bytes(settings_xlsx())
    out = io.StringIO()
    call_command("import_settings", str(good), stdout=out)
    assert "积分设置导入完成" in out.getvalue()
    assert "活动分类：新增 3" in out.getvalue()

    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(settings_xlsx(levels=[["活动等级"], [None], ["省级"], ["x" * 40]]))
    err = io.StringIO()
    with pytest.raises(CommandError, match="未导入任何内容"):
        call_command("import_settings", str(bad), stdout=io.StringIO(), stderr=err)
    assert "工作表“活动等级”第 4 行“活动等级”列" in err.getvalue()
    assert not ActivityLevel.objects.filter(name="省级").exists()


def test_the_demo_seed_mirrors_the_standard_and_is_idempotent(db: None) -> None:
    demo_seed_credit_settings()
    counts = [
        m.objects.count()
        for m in (
            ActivityCategory,
            ActivitySubcategory,
            ActivityLevel,
            CreditType,
            CreditStandardItem,
        )
    ]
    demo_seed_credit_settings()
    assert [
        m.objects.count()
        for m in (
            ActivityCategory,
            ActivitySubcategory,
            ActivityLevel,
            CreditType,
            CreditStandardItem,
        )
    ] == counts
    for pair in (("文体活动", "文体活动"), ("工作履历", "工作履历"), ("志愿公益", "志愿公益")):
        assert ActivitySubcategory.objects.filter(category__name=pair[0], name=pair[1]).exists()
    assert set(LEVELS) == {"国家级", "省级", "市级", "校级", "院系级"}
    assert {"文体活动学分", "工作成长积分", "志愿者工时"} <= set(CREDIT_TYPES)
    assert set(CATEGORIES) >= {
        "思想成长",
        "实践实习",
        "志愿公益",
        "创新创业",
        "文体活动",
        "工作履历",
        "技能特长",
    }
    assert counts[4] >= 15
    item = CreditStandardItem.objects.select_related("level", "credit_type").get(
        name="学科竞赛获奖", level__name="国家级"
    )
    assert str(item) == "创新创业类别第 1 项 学科竞赛获奖 · 国家级 · 一等奖（8.00 创新创业学分）"


@pytest.fixture
def admin_client_(db: None, client: Client) -> Client:
    admin = User.objects.create_superuser(username="root", password="pw-123456", name="管理员")
    client.force_login(admin)
    return client


@pytest.mark.parametrize(
    "model",
    [
        "activitycategory",
        "activitysubcategory",
        "activitylevel",
        "credittype",
        "creditstandarditem",
        "rosterupload",
    ],
)
def test_the_admin_lists_every_imports_model_in_chinese(admin_client_: Client, model: str) -> None:
    demo_seed_credit_settings()
    response = admin_client_.get(reverse(f"admin:imports_{model}_changelist"))
    assert response.status_code == 200
    assert "到梦空间导入" in response.content.decode()


def test_credit_records_are_read_only_in_the_admin(admin_client_: Client) -> None:
    assert admin_client_.get(reverse("admin:credits_creditrecord_add")).status_code == 403
    page = admin_client_.get(reverse("admin:credits_creditrecord_changelist")).content.decode()
    assert reverse("admin:credits_creditrecord_add") not in page
    assert "成长记录" in page


def test_it_imports_an_optional_per_record_limit_per_credit_type(db: None) -> None:
    load(
        settings_xlsx(
            credit_types=[["学分类型", "单条上限"], ["文体活动学分", 4], ["志愿者工时", None]]
        )
    )
    assert dict(CreditType.objects.values_list("name", "max_value")) == {
        "文体活动学分": Decimal("4.00"),
        "志愿者工时": None,  # empty: no limit
    }
    result = load(settings_xlsx(credit_types=[["学分类型", "单条上限"], ["文体活动学分", "2.5"]]))
    assert result.updated == {"学分类型": 1}
    assert CreditType.objects.get(name="文体活动学分").max_value == Decimal("2.50")


def test_a_file_without_the_limit_column_keeps_the_stored_limits(db: None) -> None:
    CreditType.objects.create(name="文体活动学分", max_value=Decimal(4))
    result = load(settings_xlsx())
    assert result.unchanged.get("学分类型") == 1
    assert CreditType.objects.get(name="文体活动学分").max_value == Decimal("4.00")


@pytest.mark.parametrize("bad", ["两分", "-1", "0", "1.234", "100000"])
def test_a_bad_limit_is_reported_on_its_row_and_column(db: None, bad: str) -> None:
    data = settings_xlsx(
        credit_types=[["学分类型", "单条上限"], ["文体活动学分", 2], ["志愿者工时", bad]]
    )
    with pytest.raises(SettingsImportError) as caught:
        load(data)
    assert [(p.sheet, p.row, p.column) for p in caught.value.problems] == [
        ("学分类型", 3, "单条上限")
    ]
    assert str(caught.value.problems[0]).startswith("工作表“学分类型”第 3 行“单条上限”列：")
    assert not CreditType.objects.exists()


def test_the_limit_is_editable_in_the_credit_type_list(admin_client_: Client) -> None:
    demo_seed_credit_settings()
    page = admin_client_.get(reverse("admin:imports_credittype_changelist")).content.decode()
    assert "单条记录上限" in page
    assert 'name="form-0-max_value"' in page
