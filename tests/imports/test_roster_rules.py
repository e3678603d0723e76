"""The rules added for edited copies of 附件4: dates in the future, per-type limits, samples of
one's own, the standard's category/credit-type pairs, zero values."""

from __future__ import annotations

import io
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import time_machine

from imports.models import CreditStandardItem, CreditType
from imports.roster import COLUMNS, RosterReport, roster_check
from imports.selectors import roster_lookups_fingerprint, roster_lookups_load
from tests.imports.conftest import fake_lookups, roster_xlsx, row, xlsx_bytes

SHANGHAI = ZoneInfo("Asia/Shanghai")


def judge(*rows: list[Any], **lookup_args: Any) -> RosterReport:
    return roster_check(io.BytesIO(roster_xlsx(rows)), lookups=fake_lookups(**lookup_args))


def codes(problems: list[Any]) -> list[tuple[int | None, str | None, str]]:
    return [(p.row, p.column, p.code) for p in problems]


# --- future_date -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "start", "future"),
    [
        (datetime(2024, 3, 5, 23, 59, tzinfo=SHANGHAI), "2024/3/5", False),  # today
        (datetime(2024, 3, 5, 23, 59, tzinfo=SHANGHAI), "2024/3/6", True),  # tomorrow
        # 01:00 in Shanghai is still the day before in UTC: the school's day counts.
        (datetime(2024, 3, 6, 1, 0, tzinfo=SHANGHAI), "2024/3/6", False),
    ],
)
def test_a_date_after_today_in_shanghai_is_an_error(
    now: datetime, start: str, future: bool
) -> None:
    with time_machine.travel(now, tick=False):
        report = judge(row(开始时间=start, 结束时间=None))
    assert codes(report.errors) == ([(7, "开始时间", "future_date")] if future else [])
    if future:
        assert "2024/03/06" in report.errors[0].message and "晚于今天" in report.errors[0].message


def test_a_future_end_date_is_reported_on_its_own_column() -> None:
    with time_machine.travel(datetime(2024, 3, 5, 12, tzinfo=SHANGHAI), tick=False):
        report = judge(row(开始时间="2024/3/5", 结束时间=datetime(2024, 3, 8)))
    assert codes(report.errors) == [(7, "结束时间", "future_date")]


# --- value_over_limit ------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "over"), [(2, False), ("2.00", False), ("2.01", True)])
def test_a_value_above_its_credit_types_limit_is_an_error(value: object, over: bool) -> None:
    report = judge(row(发放学分值=value), maxima={"文体活动学分": Decimal("2.00")})
    assert codes(report.errors) == ([(7, "发放学分值", "value_over_limit")] if over else [])
    if over:
        message = report.errors[0].message
        assert "2.01" in message and "上限 2.00" in message and "文体活动学分" in message


def test_a_limit_applies_to_its_own_credit_type_only() -> None:
    report = judge(row(发放学分值=5), maxima={"志愿者工时": Decimal("1")})  # GOOD is 文体活动学分
    assert report.ok, report.errors


def test_the_limits_come_from_the_settings_mirror(registry: dict[str, str]) -> None:
    CreditType.objects.filter(name="文体活动学分").update(max_value=Decimal("1.5"))
    report = roster_check(
        io.BytesIO(roster_xlsx([row(发放学分值=1.5), row(内容="另一项", 发放学分值=2)])),
        lookups=roster_lookups_load(),
    )
    assert codes(report.errors) == [(8, "发放学分值", "value_over_limit")]


# --- edited copies: samples between the header and the notes row ---------------------------


def edited_copy(samples: list[list[Any]], notes: str, data: list[list[Any]]) -> bytes:
    """A school's own copy: its own title, its own sample rows, its own notes, then data."""
    workbook = openpyxl.Workbook()
    ws = workbook.active
    ws.append(["机械学院 2024 年春季活动积分补录名单（请勿改表头）"])
    ws.append(list(COLUMNS))
    for values in samples:
        ws.append(values)
    ws.append([notes])
    for values in data:
        ws.append(values)
    return xlsx_bytes(workbook)


OWN_SAMPLES = [
    [
        "示例学号",
        "示例姓名",
        "某年某月某日",
        "",
        "活动名称",
        "类别",
        "类别",
        "某级",
        "",
        "某学分",
        "若干",
    ],
    ["20240001", "王小明", "2024/13/45", "", "", "体育活动", "", "乡级", "", "学分", "两分"],
    ["", "", "", "", "", "", "", "", "", "", ""],
    ["1000001", "学生 1", "2017/5/9", "", "参加学生会歌唱比赛奖励", "文体活动", "文体活动", "校级"],
]


@pytest.mark.parametrize(
    "notes",
    [
        "1、以上为示范数据，请勿删除，请从第 7 行开始添加数据；\n2、……",
        "填写说明：以上三行是示范数据",
        "注意：从第７行开始填写",  # a full-width digit (NFKC)
    ],
)
def test_an_edited_copy_with_its_own_title_and_samples_has_no_errors_there(notes: str) -> None:
    data = edited_copy(OWN_SAMPLES, notes, [row(), row(学号="2021010002", 姓名="李四")])
    report = roster_check(io.BytesIO(data), lookups=fake_lookups())
    assert report.errors == [], report.errors
    assert report.warnings == []
    assert [r.excel_row for r in report.rows] == [8, 9]
    assert report.header_row == 2


def test_a_sample_row_holding_a_registered_student_is_a_warning() -> None:
    samples = [["示例学号"], row(学号="2021010003", 姓名="王五")]
    data = edited_copy(samples, "以上为示范数据，请从第 7 行开始添加数据", [row()])
    report = roster_check(io.BytesIO(data), lookups=fake_lookups())
    assert report.errors == []
    assert codes(report.warnings) == [(4, "学号", "sample_row_real_student")]
    message = report.warnings[0].message
    assert "2021010003" in message and "第 5 行" in message and "第 6 行" in message
    assert [r.excel_row for r in report.rows] == [6]


def test_real_data_typed_only_into_the_sample_rows_is_no_data_and_a_warning() -> None:
    samples = [row(学号="2021010001"), row(学号="2021010002", 姓名="李四")]
    report = roster_check(
        io.BytesIO(edited_copy(samples, "1、以上为示范数据，请勿删除", [])), lookups=fake_lookups()
    )
    assert [p.code for p in report.errors] == ["no_data"]
    assert codes(report.warnings) == [
        (3, "学号", "sample_row_real_student"),
        (4, "学号", "sample_row_real_student"),
    ]


def test_without_a_notes_row_only_the_templates_own_samples_are_skipped() -> None:
    workbook = openpyxl.Workbook()
    ws = workbook.active
    ws.append(list(COLUMNS))
    ws.append(OWN_SAMPLES[3])  # the template's sample 1: skipped
    ws.append(row(学号="2021010002", 姓名="李四"))
    ws.append(OWN_SAMPLES[1])  # someone's own sample without a notes row: judged
    report = roster_check(io.BytesIO(xlsx_bytes(workbook)), lookups=fake_lookups())
    assert [r.excel_row for r in report.rows] == [3, 4]
    assert {p.row for p in report.errors} == {4}
    assert report.warnings == []  # a sample row was seen


def test_a_notes_row_far_below_the_header_does_not_hide_the_rows_above() -> None:
    data_rows = [row(学号="2021010001", 内容=f"活动{i}") for i in range(25)]
    report = roster_check(
        io.BytesIO(edited_copy([], "以上为示范数据", data_rows) + b""),
        lookups=fake_lookups(),
    )
    assert report.data_rows == 25  # notes right below the header: nothing above it

    workbook = openpyxl.load_workbook(io.BytesIO(roster_xlsx(data_rows)))
    workbook.worksheets[0].cell(row=7 + 25, column=1, value="以上为示范数据")
    report = roster_check(io.BytesIO(xlsx_bytes(workbook)), lookups=fake_lookups())
    assert report.data_rows == 25 and report.ok


# --- pair_not_in_standard and zero_value -----------------------------------------------------


def test_a_category_and_credit_type_pair_outside_the_standard_is_a_warning() -> None:
    standard = [("文体活动", "文体活动学分"), ("工作履历", "工作成长积分")]
    report = judge(
        row(),
        row(内容="另一项", 学分类型="工作成长积分"),
        row(内容="第三项", 活动一级分类="志愿公益", 活动二级分类="志愿服务", 学分类型="志愿者工时"),
        standard_pairs=standard,
    )
    assert report.errors == []
    assert codes(report.warnings) == [
        (8, "学分类型", "pair_not_in_standard"),
        (9, "学分类型", "pair_not_in_standard"),
    ]
    assert "文体活动学分" in report.warnings[0].message  # what the standard uses instead
    assert "没有活动一级分类“志愿公益”的条目" in report.warnings[1].message


def test_without_a_loaded_standard_no_pair_is_judged() -> None:
    report = judge(row(学分类型="工作成长积分"))
    assert report.warnings == []


def test_the_standard_pairs_come_from_active_items(registry: dict[str, str]) -> None:
    data = roster_xlsx([row(), row(内容="另一项", 学分类型="志愿者工时")])
    report = roster_check(io.BytesIO(data), lookups=roster_lookups_load())
    assert codes(report.warnings) == [(8, "学分类型", "pair_not_in_standard")]
    CreditStandardItem.objects.filter(subcategory__category__name="文体活动").update(
        is_active=False
    )
    report = roster_check(io.BytesIO(data), lookups=roster_lookups_load())
    assert [w.row for w in report.warnings] == [7, 8]


@pytest.mark.parametrize(("value", "warned"), [(0, True), ("0.00", True), (0.01, False)])
def test_a_zero_value_is_a_warning(value: object, warned: bool) -> None:
    report = judge(row(发放学分值=value))
    assert report.ok
    assert codes(report.warnings) == ([(7, "发放学分值", "zero_value")] if warned else [])


def test_the_fingerprint_follows_limits_and_the_standard(registry: dict[str, str]) -> None:
    first = roster_lookups_fingerprint()
    CreditType.objects.filter(name="文体活动学分").update(max_value=Decimal(3))
    second = roster_lookups_fingerprint()
    CreditStandardItem.objects.update(is_active=False)
    third = roster_lookups_fingerprint()
    assert len({first, second, third}) == 3
