"""「工作满一年」 in school years (第四条): the calendar, the notice's year, one credit a year."""

from __future__ import annotations

from datetime import date, timedelta
from io import BytesIO
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bulu.exceptions import ApplicationError
from bulu.workflow.models import Decision, Kind, SchoolYear, State, Window
from bulu.workflow.services import WindowData, request_withdraw, window_create
from cadre import services
from cadre.models import CadreEntry, CadreRequest
from cadre.terms import term_problem
from credits.models import CreditRecord
from tests.cadre.conftest import TERM, Cadre, served
from tests.conftest import School, decide, school_year
from tests.personal.conftest import PDF, PNG

TODAY = date(2026, 11, 15)


@pytest.fixture
def year_2526(db: None) -> SchoolYear:
    """The default calendar's 2025-2026: 2025-09-01, teaching weeks end 2026-06-30, ends 07-15."""
    year = school_year("2025-2026")
    assert (year.starts_on, year.teaching_ends_on, year.ends_on) == (
        date(2025, 9, 1),
        date(2026, 6, 30),
        date(2026, 7, 15),
    )
    return year


# --- the rule ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "ok"),
    [
        (date(2025, 9, 1), date(2026, 6, 30), True),  # the 班长 of the issue: the school year
        (date(2025, 9, 15), date(2026, 6, 16), True),  # exactly at the tolerance on both sides
        (date(2025, 9, 16), date(2026, 6, 30), False),  # starts one day past it
        (date(2025, 9, 1), date(2026, 6, 15), False),  # ends one day past it
        (date(2024, 9, 1), date(2026, 7, 1), True),  # a two-year term covers each year
        (date(2025, 3, 1), date(2026, 2, 28), False),  # 365 days, but not this school year
    ],
)
def test_a_term_counts_when_it_covers_the_school_year(
    settings: Any, year_2526: SchoolYear, start: date, end: date, ok: bool
) -> None:
    settings.BULU_CADRE_TERM_TOLERANCE_DAYS = 14
    assert (term_problem(start, end, year=year_2526, today=TODAY) is None) is ok


def test_the_tolerance_is_a_setting(settings: Any, year_2526: SchoolYear) -> None:
    settings.BULU_CADRE_TERM_TOLERANCE_DAYS = 0
    assert term_problem(date(2025, 9, 1), date(2026, 6, 30), year=year_2526, today=TODAY) is None
    assert term_problem(date(2025, 9, 2), date(2026, 6, 30), year=year_2526, today=TODAY)


def test_a_short_term_names_the_year_and_the_dates_missing(
    settings: Any, year_2526: SchoolYear
) -> None:
    settings.BULU_CADRE_TERM_TOLERANCE_DAYS = 14
    end_short = term_problem(date(2025, 9, 1), date(2026, 5, 31), year=year_2526, today=TODAY)
    assert end_short is not None
    assert end_short.startswith("任职未覆盖2025-2026学年：缺少 2026-06-01 至 2026-06-30")
    assert "前后可差 14 天" in end_short
    both = term_problem(date(2025, 10, 8), date(2026, 5, 31), year=year_2526, today=TODAY)
    assert "缺少 2025-09-01 至 2025-10-07、2026-06-01 至 2026-06-30" in str(both)
    elsewhere = term_problem(date(2022, 9, 1), date(2023, 6, 30), year=year_2526, today=TODAY)
    assert "不在2025-2026学年（2025-09-01 至 2026-06-30）内" in str(elsewhere)
    assert "晚于今天" in str(
        term_problem(date(2025, 9, 1), date(2026, 11, 16), year=year_2526, today=TODAY)
    )
    assert "应晚于开始日期" in str(
        term_problem(date(2025, 9, 1), date(2025, 9, 1), year=year_2526, today=TODAY)
    )


# --- the notice names the year -------------------------------------------------------------------


def test_a_cadre_notice_must_name_the_school_year(school: School, year_2526: SchoolYear) -> None:
    now = timezone.now()
    data = WindowData(
        kind=Kind.CADRE,
        title="2026年学生干部积分补录",
        body="",
        opens_at=now,
        closes_at=now + timedelta(days=30),
    )
    with pytest.raises(ApplicationError, match="须选择收集学年"):
        window_create(actor=school.dave, data=data)
    data.school_year = year_2526
    data.off_season_reason = "测试：通知时间按测试运行的日期设置"  # 第四条's months (any date)
    assert window_create(actor=school.dave, data=data).school_year == year_2526


def test_the_notice_form_offers_the_school_years(client: Client, school: School) -> None:
    client.force_login(school.dave)
    page = client.get(reverse("workflow:window_create")).content.decode()
    assert 'name="school_year"' in page and "2025-2026学年" in page


def _next_round(old: Window, label: str) -> Window:
    """Close `old` and open the next cadre round, collecting `label`."""
    now = timezone.now()
    Window.objects.filter(pk=old.pk).update(
        opens_at=now - timedelta(days=400), closes_at=now - timedelta(days=300)
    )
    return Window.objects.create(
        kind=Kind.CADRE,
        title=f"{label}学年学生干部积分补录",
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=20),
        school_year=school_year(label),
    )


def _approve(school: School, report: CadreRequest) -> None:
    for person in (school.frank, school.carol, school.dave):
        decide(report, person)


def test_a_two_year_term_is_credited_once_in_each_years_round(school: School, cadre: Cadre) -> None:
    Window.objects.filter(pk=cadre.window.pk).update(school_year=school_year("2023-2024"))
    term = (date(2023, 9, 1), date(2025, 9, 1))
    data = services.ServiceData(school.club.pk, cadre.club_head.pk, *term)
    first = services.cadre_self_report_save(student=school.alice, data=data)
    services.cadre_request_submit(request=first, actor=school.alice)
    _approve(school, first)
    with pytest.raises(ApplicationError, match=r"2023-2024学年.*不能重复上报"):
        services.cadre_self_report_save(student=school.alice, data=data)

    _next_round(cadre.window, "2024-2025")
    second = services.cadre_self_report_save(student=school.alice, data=data)
    assert second.title.endswith("（2024-2025学年）")
    services.cadre_request_submit(request=second, actor=school.alice)
    _approve(school, second)
    records = CreditRecord.objects.filter(student_no=school.alice.username).order_by("start_date")
    assert [(r.content, r.start_date, r.end_date) for r in records] == [
        ("2023-2024学年担任机器人协会社长", date(2023, 9, 1), date(2024, 7, 15)),
        ("2024-2025学年担任机器人协会社长", date(2024, 9, 1), date(2025, 7, 15)),
    ]


def test_the_pages_name_the_year_collected(client: Client, school: School, cadre: Cadre) -> None:
    client.force_login(school.alice)
    page = client.get(reverse("cadre:self_new")).content.decode()
    assert 'data-school-year="2024-2025"' in page and "2024-09-01 至 2025-06-30" in page
    club_list = services.cadre_list_create(actor=school.frank, unit=school.club)
    client.force_login(school.frank)
    page = client.get(reverse("cadre:list_edit", args=[club_list.pk])).content.decode()
    assert 'data-school-year="2024-2025"' in page


def test_a_draft_of_an_earlier_round_must_be_saved_again(school: School, cadre: Cadre) -> None:
    report = services.cadre_self_report_save(
        student=school.alice, data=services.ServiceData(school.club.pk, cadre.club_head.pk, *TERM)
    )
    _next_round(cadre.window, "2025-2026")
    with pytest.raises(ApplicationError, match=r"按2024-2025学年填写.*收集2025-2026学年"):
        services.cadre_request_submit(request=report, actor=school.alice)
    assert CadreRequest.objects.get(pk=report.pk).state == State.DRAFT


# --- once a year, held by the database -----------------------------------------------------------


def test_the_database_refuses_a_second_live_report_of_a_year(school: School, cadre: Cadre) -> None:
    report = services.cadre_self_report_save(
        student=school.alice, data=services.ServiceData(school.club.pk, cadre.club_head.pk, *TERM)
    )
    entry = report.entries.get()
    other = CadreRequest.objects.create(
        kind=Kind.CADRE,
        mode=CadreRequest.Mode.SELF,
        title="x",
        applicant=school.alice,
        applicant_org=school.club,
    )
    twin = {
        "student": school.alice,
        "student_no": school.alice.username,
        "name": school.alice.name,
        "position": cadre.club_head,
        "term_start": date(2024, 9, 10),  # other dates, same school year
        "term_end": date(2025, 7, 1),
        "school_year": entry.school_year,
        "unit": school.club,
        "mode": CadreRequest.Mode.SELF,
    }
    with pytest.raises(IntegrityError), transaction.atomic():
        CadreEntry.objects.create(request=other, **twin)
    # Another school year, or a withdrawn report's entry, is no conflict.
    CadreEntry.objects.create(request=other, **{**twin, "school_year": school_year("2023-2024")})
    CadreEntry.objects.filter(pk=entry.pk).update(live=False)
    CadreEntry.objects.create(request=other, **{**twin, "position": cadre.club_head, "row": 1})
    assert CadreEntry.objects.filter(request=other).count() == 2


def test_the_database_refuses_a_second_credit_of_a_year(school: School, cadre: Cadre) -> None:
    """A self-report and a list may both name a service (flagged); only one becomes a credit."""
    report = services.cadre_self_report_save(
        student=school.alice, data=services.ServiceData(school.club.pk, cadre.club_head.pk, *TERM)
    )
    club_list = services.cadre_list_create(actor=school.frank, unit=school.club)
    services.cadre_list_replace(
        request=club_list, actor=school.frank, rows=[served(school.alice, "社长")]
    )
    CadreEntry.objects.filter(request=report).update(credited=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        CadreEntry.objects.filter(request=club_list).update(credited=True)


def test_a_report_filed_meanwhile_is_refused_with_a_message(
    school: School, cadre: Cadre, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service's own check did not see the twin (a concurrent filing): the constraint's
    refusal reads as a message, and nothing of the second report is kept."""
    data = services.ServiceData(school.club.pk, cadre.club_head.pk, *TERM)
    services.cadre_self_report_save(student=school.alice, data=data)
    real = services._check_service

    def blind(*args: object, **kwargs: object) -> object:
        kwargs["exclude_request"] = CadreEntry.objects.get().request_id
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(services, "_check_service", blind)
    with pytest.raises(ApplicationError, match="2024-2025学年的这一任职已有有效的上报"):
        services.cadre_self_report_save(student=school.alice, data=data)
    assert CadreRequest.objects.count() == 1


def test_a_list_may_not_name_a_student_twice_in_a_year(school: School, cadre: Cadre) -> None:
    from cadre.lists import ListError

    first = services.cadre_list_create(actor=school.frank, unit=school.club)
    services.cadre_list_replace(
        request=first, actor=school.frank, rows=[served(school.alice, "社长")]
    )
    second = services.cadre_list_create(actor=school.frank, unit=school.club)
    with pytest.raises(ListError) as caught:
        services.cadre_list_replace(
            request=second,
            actor=school.frank,
            rows=[served(school.alice, "社长", row=2), served(cadre.classmates[1], "干事", row=3)],
        )
    assert [p.row for p in caught.value.problems] == [2]
    assert f"名单 #{first.pk}" in str(caught.value.problems[0])
    with pytest.raises(ListError) as caught:
        services.cadre_list_replace(
            request=second,
            actor=school.frank,
            rows=[
                served(cadre.classmates[1], "干事", row=2),
                served(cadre.classmates[1], "干事", row=3),
            ],
        )
    (twice,) = caught.value.problems
    assert (
        twice.row == 3 and "与第 2 行重复" in str(twice) and "2024-2025学年只认定一次" in str(twice)
    )


def test_a_rejected_or_withdrawn_report_may_be_filed_again(school: School, cadre: Cadre) -> None:
    data = services.ServiceData(school.club.pk, cadre.club_head.pk, *TERM)
    rejected = services.cadre_self_report_save(student=school.alice, data=data)
    services.cadre_request_submit(request=rejected, actor=school.alice)
    decide(rejected, school.frank, Decision.REJECT, "未见聘书")
    assert not CadreEntry.objects.get(request=rejected).live
    withdrawn = services.cadre_self_report_save(student=school.alice, data=data)
    withdrawn.refresh_from_db()
    request_withdraw(request=withdrawn, actor=school.alice, expected_version=withdrawn.version)
    again = services.cadre_self_report_save(student=school.alice, data=data)
    assert again.entries.get().live
    assert CadreEntry.objects.filter(live=True, student=school.alice).count() == 1


# --- the 聘书 upload ------------------------------------------------------------------------------


def _form(school: School, cadre: Cadre, **extra: object) -> dict[str, object]:
    return {
        "unit": school.club.pk,
        "position": cadre.club_head.pk,
        "term_start": TERM[0].isoformat(),
        "term_end": TERM[1].isoformat(),
        **extra,
    }


def _file(name: str, data: bytes) -> BytesIO:
    f = BytesIO(data)
    f.name = name
    return f


def test_a_self_report_takes_several_files_new_and_edit(
    client: Client, school: School, cadre: Cadre
) -> None:
    client.force_login(school.alice)
    response = client.post(
        reverse("cadre:self_new"),
        _form(school, cadre, evidence_files=[_file("聘书.png", PNG), _file("任命.pdf", PDF)]),
    )
    assert response.status_code == 302, response.content.decode()
    report = CadreRequest.objects.get()
    assert sorted(report.evidence.values_list("original_name", flat=True)) == [
        "任命.pdf",
        "聘书.png",
    ]
    page = client.get(reverse("workflow:detail", args=[report.pk])).content.decode()
    assert "聘书.png" in page and "任命.pdf" in page
    edited = client.post(
        reverse("cadre:self_edit", args=[report.pk]),
        _form(school, cadre, evidence_files=[_file("照片.png", PNG)]),
    )
    assert edited.status_code == 302
    assert report.evidence.count() == 3
    # Without a file it saves too; a file that is no PDF/image is refused by its content.
    assert (
        client.post(reverse("cadre:self_edit", args=[report.pk]), _form(school, cadre)).status_code
        == 302
    )
    bad = client.post(
        reverse("cadre:self_edit", args=[report.pk]),
        _form(school, cadre, evidence_files=[_file("聘书.pdf", b"MZ not a pdf")]),
    )
    assert bad.status_code == 400 and "不是 JPG、PNG 或 PDF" in bad.content.decode()
    assert report.evidence.count() == 3


def test_someone_elses_self_report_takes_no_files(
    client: Client, school: School, cadre: Cadre
) -> None:
    report = services.cadre_self_report_save(
        student=school.alice, data=services.ServiceData(school.club.pk, cadre.club_head.pk, *TERM)
    )
    other = cadre.classmates[1]
    client.force_login(other)
    response = client.post(
        reverse("cadre:self_edit", args=[report.pk]),
        _form(school, cadre, evidence_files=[_file("聘书.png", PNG)]),
    )
    assert response.status_code == 404
    assert not report.evidence.exists()


def test_a_second_report_of_the_year_on_the_page_is_a_message_not_an_error(
    client: Client, school: School, cadre: Cadre
) -> None:
    client.force_login(school.alice)
    assert client.post(reverse("cadre:self_new"), _form(school, cadre)).status_code == 302
    again = client.post(reverse("cadre:self_new"), _form(school, cadre))
    assert again.status_code == 400
    assert "2024-2025学年的这一任职" in again.content.decode()
    assert CadreRequest.objects.count() == 1


# --- the calendar from a sheet -------------------------------------------------------------------


def _calendar_xlsx(tmp_path: Any, rows: list[list[object]]) -> str:
    import openpyxl

    workbook = openpyxl.Workbook()
    ws = workbook.active
    assert ws is not None
    ws.append(["学年", "开学日期", "教学周结束", "学年结束"])
    for row in rows:
        ws.append(row)
    path = tmp_path / "校历.xlsx"
    workbook.save(path)
    return str(path)


def test_the_center_imports_the_calendar(db: None, tmp_path: Any) -> None:
    from django.core.management import CommandError, call_command

    school_year("2025-2026")  # the default calendar's row the refused import must leave alone
    bad = _calendar_xlsx(
        tmp_path,
        [["2025-2026", "2025/9/8", "2026/7/3", "2026/7/17"], ["2026-2028", "2026/9/1", "明年", ""]],
    )
    with pytest.raises(CommandError) as caught:
        call_command("import_school_years", bad)
    message = str(caught.value)
    assert "第 3 行［学年］" in message and "第 3 行［教学周结束］" in message
    assert "第 3 行［学年结束］：请填写日期" in message
    assert SchoolYear.objects.get(label="2025-2026").starts_on == date(2025, 9, 1)  # unchanged
    good = _calendar_xlsx(
        tmp_path,
        [
            ["2025-2026", "2025/9/8", "2026/7/3", "2026/7/17"],
            ["2027-2028学年", "2027/9/6", "2028/6/30", "2028/7/14"],
        ],
    )
    call_command("import_school_years", good)
    year = SchoolYear.objects.get(label="2025-2026")
    assert (year.starts_on, year.teaching_ends_on, year.ends_on) == (
        date(2025, 9, 8),
        date(2026, 7, 3),
        date(2026, 7, 17),
    )
    assert SchoolYear.objects.get(label="2027-2028").starts_on == date(2027, 9, 6)
