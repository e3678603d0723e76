"""Judging: one error per (row, column, problem), with the documented codes and Chinese messages."""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from accounts.models import User
from accounts.services import role_grant
from bulu.workflow.models import BackfillRequest, Kind, State
from credits.models import CreditRecord
from imports.models import ActivityCategory
from imports.roster import Problem, RosterReport, roster_check
from imports.selectors import roster_lookups_fingerprint, roster_lookups_load
from tests.conftest import School
from tests.factories import UserFactory
from tests.imports.conftest import REGISTRY, fake_lookups, roster_xlsx, row


def judge(*rows: list[Any], **lookup_args: Any) -> RosterReport:
    return roster_check(io.BytesIO(roster_xlsx(rows)), lookups=fake_lookups(**lookup_args))


def only(report: RosterReport) -> Problem:
    assert len(report.errors) == 1, report.errors
    return report.errors[0]


@pytest.mark.parametrize(
    ("column", "hint"),
    [
        ("学号", "请填写学号"),
        ("姓名", "请填写姓名"),
        ("开始时间", "2024/3/5"),
        ("内容", "内容"),
        ("活动一级分类", "一级分类"),
        ("活动二级分类", "二级分类"),
        ("活动等级", "校级"),
        ("学分类型", "文体活动学分"),
    ],
)
def test_it_reports_each_missing_required_value(column: str, hint: str) -> None:
    problem = only(judge(row(**{column: None})))
    assert (problem.row, problem.column, problem.code) == (7, column, "missing_value")
    assert f"“{column}”不能为空" in problem.message
    assert hint in problem.message


def test_it_accepts_the_three_optional_columns_empty() -> None:
    report = judge(row(结束时间=None, 奖项内容=None, 发放学分值=None))
    assert report.ok, report.errors
    assert report.rows[0].value is None


@pytest.mark.parametrize("raw", ["2.02101E+09", "2021-010001", "S2021010001", "2021010001.0", -5])
def test_it_refuses_a_student_number_that_is_not_plain_digits(raw: object) -> None:
    problem = only(judge(row(学号=raw)))
    assert (problem.column, problem.code) == ("学号", "bad_student_id")
    assert "文本" in problem.message


def test_it_reports_a_student_missing_from_the_registry() -> None:
    problem = only(judge(row(学号="2021019999")))
    assert (problem.row, problem.column, problem.code) == (7, "学号", "unknown_student")
    assert problem.message == "学号 2021019999 不在学生名册中，请核对或联系二课中心导入。"


def test_it_reports_a_name_that_differs_from_the_registry_without_revealing_it() -> None:
    problem = only(judge(row(姓名="张叁")))
    assert (problem.column, problem.code) == ("姓名", "name_mismatch")
    assert "张叁" in problem.message and "2021010001" in problem.message
    assert "张三" not in problem.message


@pytest.mark.parametrize(
    "raw", ["2025/13/01", "2025-02-30", "2024年2月30日", "昨天", "20240305", 45356.0]
)
def test_it_reports_dates_that_cannot_be_read_or_do_not_exist(raw: object) -> None:
    problem = only(judge(row(开始时间=raw, 结束时间=None)))
    assert (problem.column, problem.code) == ("开始时间", "bad_date")
    assert "2024/3/5" in problem.message


def test_it_reports_a_bad_end_date_on_its_own_column() -> None:
    problem = only(judge(row(结束时间="2024/2/30")))
    assert (problem.column, problem.code) == ("结束时间", "bad_date")


def test_it_reports_an_end_before_the_start_on_the_end_column() -> None:
    problem = only(judge(row(开始时间="2024/3/5", 结束时间="2024/3/4")))
    assert (problem.row, problem.column, problem.code) == (7, "结束时间", "end_before_start")


def test_it_accepts_an_end_on_the_start_day() -> None:
    assert judge(row(开始时间="2024/3/5", 结束时间=datetime(2024, 3, 5))).ok


def test_it_reports_an_unknown_category_and_lists_the_configured_ones() -> None:
    problem = only(judge(row(活动一级分类="体育活动")))
    assert (problem.column, problem.code) == ("活动一级分类", "unknown_category")
    assert "文体活动" in problem.message and "体育活动" in problem.message


def test_it_reports_a_subcategory_that_belongs_to_another_category() -> None:
    problem = only(judge(row(活动二级分类="志愿服务")))
    assert (problem.column, problem.code) == ("活动二级分类", "unknown_subcategory")
    assert "不属于一级分类“文体活动”" in problem.message


def test_it_does_not_judge_the_subcategory_of_an_unknown_category() -> None:
    report = judge(row(活动一级分类="体育活动", 活动二级分类="乱写"))
    assert [p.code for p in report.errors] == ["unknown_category"]


def test_it_reports_unknown_levels_and_credit_types() -> None:
    report = judge(row(活动等级="乡级", 学分类型="学分"))
    assert [(p.column, p.code) for p in report.errors] == [
        ("活动等级", "unknown_level"),
        ("学分类型", "unknown_credit_type"),
    ]


@pytest.mark.parametrize("raw", ["2分", "-1", -1, "0.001", 0.001, "abc", "1e3", True, 100000])
def test_it_refuses_bad_credit_values(raw: object) -> None:
    problem = only(judge(row(发放学分值=raw)))
    assert (problem.column, problem.code) == ("发放学分值", "bad_value")
    assert "不要带单位" in problem.message


@pytest.mark.parametrize(
    ("raw", "value"),
    [(0, "0.00"), ("5", "5.00"), (0.01, "0.01"), ("2.5", "2.50"), (99999.99, "99999.99")],
)
def test_it_accepts_good_credit_values(raw: object, value: str) -> None:
    report = judge(row(发放学分值=raw))
    assert report.ok, report.errors
    assert report.rows[0].value == Decimal(value)


def test_it_reports_a_duplicate_on_the_later_row_only() -> None:
    report = judge(row(), row(奖项内容="二等奖", 发放学分值=1), row(内容="另一项活动"))
    problem = only(report)
    assert (problem.row, problem.column, problem.code) == (8, None, "duplicate_row")
    assert "第 7 行" in problem.message


def test_it_treats_different_spellings_of_the_same_start_as_duplicates() -> None:
    report = judge(row(开始时间="2024/3/5"), row(开始时间="2024年3月5日"))
    assert [p.code for p in report.errors] == ["duplicate_row"]


def test_it_reports_too_long_texts() -> None:
    problem = only(judge(row(内容="很长" * 101)))
    assert (problem.column, problem.code) == ("内容", "too_long")


def test_it_reports_every_problem_of_a_row_and_orders_them_by_row_and_column() -> None:
    report = judge(
        row(),
        row(学号="2021010002", 姓名="李四", 活动等级="乡级", 开始时间="2024/2/30", 发放学分值="x"),
        row(学号="2021010003", 姓名="王五", 学分类型=None),
    )
    assert [(p.row, p.column, p.code) for p in report.errors] == [
        (8, "开始时间", "bad_date"),
        (8, "活动等级", "unknown_level"),
        (8, "发放学分值", "bad_value"),
        (9, "学分类型", "missing_value"),
    ]
    assert [r.ok for r in report.rows] == [True, False, False]
    assert report.summary() == {"students": 3, "valid_rows": 1, "totals": {"文体活动学分": "2.00"}}


def test_it_warns_about_a_credit_already_granted_by_an_approved_request() -> None:
    key = ("2021010001", "参加校园歌手大赛", date(2024, 3, 5), "文体活动学分")
    report = judge(row(), credited={key: 41})
    assert report.ok  # a warning, not an error
    assert [(w.row, w.code) for w in report.warnings] == [(7, "already_credited")]
    assert "#41" in report.warnings[0].message


# --- the same through the database lookups ---------------------------------------------------


def _approved_credit(school: School, applicant: User, **fields: Any) -> CreditRecord:
    request = BackfillRequest.objects.create(
        kind=Kind.PERSONAL, title="补录", applicant=applicant, applicant_org=school.class_a1
    )
    record = CreditRecord.objects.create(
        request=request,
        source_key="item:1",
        student_no="2021010001",
        student_name="张三",
        start_date=date(2024, 3, 5),
        content="参加校园歌手大赛",
        category="文体活动",
        subcategory="文体活动",
        level="校级",
        credit_type="文体活动学分",
        value=Decimal(2),
        **fields,
    )
    return record


def test_it_judges_against_the_registry_and_settings_in_the_database(
    registry: dict[str, str], school: School, django_assert_max_num_queries: Any
) -> None:
    data = roster_xlsx(
        [
            row(),
            row(学号="2021010002", 姓名="李四"),
            row(学号="2021019999"),
            row(学号="2021010003", 姓名="王武"),
        ]
    )
    # One query per kind of fact: categories, subcategories, levels, credit types (with their
    # limits), the standard's pairs, registry names, granted credits.
    with django_assert_max_num_queries(7):
        report = roster_check(io.BytesIO(data), lookups=roster_lookups_load())
    assert [(p.row, p.code) for p in report.errors] == [
        (9, "unknown_student"),
        (10, "name_mismatch"),
    ]


def test_it_counts_only_students_with_a_student_role_as_registry(
    credit_settings: None, school: School
) -> None:
    # A counselor whose 工号 looks like a 学号: a user, but not a registered student.
    teacher = UserFactory.create(username="2019000101", name="王老师")
    role_grant(user=teacher, organization=school.class_a1, role="counselor")
    report = roster_check(
        io.BytesIO(roster_xlsx([row(学号="2019000101", 姓名="王老师")])),
        lookups=roster_lookups_load(),
    )
    assert [p.code for p in report.errors] == ["unknown_student"]


@pytest.mark.parametrize(
    ("state", "warned"),
    [
        (State.APPROVED, True),
        (State.EXPORTED, True),
        (State.IMPORTED, True),
        (State.PENDING, False),
    ],
)
def test_it_warns_only_for_credits_of_approved_exported_or_imported_requests(
    registry: dict[str, str], school: School, state: str, warned: bool
) -> None:
    record = _approved_credit(school, school.alice)
    BackfillRequest.objects.filter(pk=record.request_id).update(state=state)
    report = roster_check(io.BytesIO(roster_xlsx([row()])), lookups=roster_lookups_load())
    assert report.errors == []
    assert [w.code for w in report.warnings] == (["already_credited"] if warned else [])


def test_it_ignores_inactive_settings(registry: dict[str, str]) -> None:
    ActivityCategory.objects.filter(name="文体活动").update(is_active=False)
    report = roster_check(io.BytesIO(roster_xlsx([row()])), lookups=roster_lookups_load())
    assert [p.code for p in report.errors] == ["unknown_category"]


def test_the_fingerprint_changes_with_settings_registry_and_credits(
    registry: dict[str, str], school: School, make_student: Any
) -> None:
    first = roster_lookups_fingerprint()
    assert roster_lookups_fingerprint() == first
    ActivityCategory.objects.create(name="新分类")
    second = roster_lookups_fingerprint()
    make_student("2021010009", "赵六")
    third = roster_lookups_fingerprint()
    record = _approved_credit(school, school.alice)
    BackfillRequest.objects.filter(pk=record.request_id).update(state=State.APPROVED)
    fourth = roster_lookups_fingerprint()
    assert len({first, second, third, fourth}) == 4
    assert set(REGISTRY) <= {"2021010001", "2021010002", "2021010003"}


def test_a_long_value_is_cut_where_a_message_quotes_it() -> None:
    report = judge(row(学号="1" * 100, 活动等级="很长的等级" * 20))
    assert [p.code for p in report.errors] == ["bad_student_id", "unknown_level"]
    for problem in report.errors:
        assert "…" in problem.message and len(problem.message) < 160, problem.message
