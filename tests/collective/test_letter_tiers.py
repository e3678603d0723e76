"""附件2's points per person hold for every roster row; tiers; one line per credit type; 已完结."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bulu.exceptions import ApplicationError
from bulu.workflow.models import State
from collective import letter, services
from collective.models import CollectiveRequest, LetterTier
from documents.services import document_html, form_get
from imports.models import CreditType
from tests.collective.conftest import Kit, attach, filled, ready_request, roster_row
from tests.conftest import School
from tests.documents.conftest import pdf_bytes, pdf_text, render, squash

D = Decimal
TIERS = [
    services.TierData(award="一等奖", points=D("3")),
    services.TierData(award="二等奖", points=D("2")),
    services.TierData(award="参与", points=D("0.5")),
]


def _blocking(request: CollectiveRequest) -> list[str]:
    return [c.message for c in services.collective_checks(request) if c.blocking]


# --- the judge itself (pure) ------------------------------------------------------------------


def test_it_names_the_row_and_the_expected_value_for_each_kind_of_misfit() -> None:
    line = letter.Line(
        "文体活动学分",
        participants=4,
        total=D("8.5"),
        tiers=tuple(letter.Tier(t.award, t.points) for t in TIERS),
    )
    rows = [
        letter.Row(7, "1", "文体活动学分", "一等奖", D("3")),
        letter.Row(8, "2", "文体活动学分", "", D("0.5")),  # empty award: the 参与 tier
        letter.Row(9, "3", "文体活动学分", "三等奖", D("1")),
        letter.Row(10, "4", "文体活动学分", "二等奖", D("4")),
        letter.Row(11, "5", "文体活动学分", "一等奖、最佳人气奖", D("3")),
        letter.Row(12, "6", "志愿者工时", "", D("1")),
    ]
    assert [(p.excel_row, p.message) for p in letter.row_problems([line], rows)] == [
        (
            9,
            "第 9 行：奖项内容「三等奖」不在申请书的奖项档次中"
            "（一等奖 3.00、二等奖 2.00、参与 0.50）",
        ),
        (10, "第 10 行：奖项「二等奖」的发放学分值 4.00 应为 2.00 分"),
        (12, "第 12 行：学分类型「志愿者工时」不在申请书中（申请书：文体活动学分）"),
    ]
    no_participants = letter.Line("文体活动学分", tiers=(letter.Tier("一等奖", D("3")),))
    [problem] = letter.row_problems([no_participants], [rows[1]])
    assert problem.message.startswith("第 8 行：奖项内容为空，申请书的奖项档次中没有「参与」")


def test_without_tiers_every_row_carries_the_points_per_person() -> None:
    line = letter.Line("文体活动学分", D("0.5"), 10, D("5"))
    rows = [letter.Row(7, "1", "文体活动学分", "", D("4.1"))] + [
        letter.Row(8 + i, str(i + 2), "文体活动学分", "", D("0.1")) for i in range(2)
    ]
    messages = [p.message for p in letter.row_problems([line], rows)]
    assert messages == [
        "第 7 行：发放学分值 4.10 应为每人 0.50 分",
        "第 8 行：发放学分值 0.10 应为每人 0.50 分",
        "第 9 行：发放学分值 0.10 应为每人 0.50 分",
    ]


def test_counts_and_totals_are_per_credit_type_never_summed() -> None:
    lines = [
        letter.Line("文体活动学分", D("0.5"), 2, D("1")),
        letter.Line("志愿者工时", D("2"), 1, D("2")),
    ]
    rows = [
        letter.Row(7, "1", "文体活动学分", "", D("0.5")),
        letter.Row(8, "2", "文体活动学分", "", D("0.5")),
        letter.Row(9, "1", "志愿者工时", "", D("2")),
    ]
    assert letter.total_problems(lines, rows) == []
    # The same three rows against one letter line of 3 people and 3.00 (the cross-type sum).
    summed = [letter.Line("文体活动学分", D("0.5"), 3, D("3")), lines[1]]
    assert letter.total_problems(summed, rows) == [
        "文体活动学分：申请书写的参与人数为 3 人，人员名单中有 2 人。",
        "文体活动学分：申请书写的共计分值为 3.00，人员名单的学分值合计为 1.00。",
    ]
    assert letter.detail_lines(lines) == [
        "文体活动学分每人 0.5 分，2 人参与活动，共计 1 分",
        "志愿者工时每人 2 分，1 人参与活动，共计 2 分",
    ]


# --- a request ---------------------------------------------------------------------------------


def test_the_issue_roster_4_10_and_nine_0_10_is_refused(school: School, kit: Kit) -> None:
    request = ready_request(school.gina, school.club, kit)
    rows = [roster_row(u, kit, value=0.1) for u in kit.students]
    rows[1] = roster_row(kit.students[1], kit, value=4.1)  # 4.10 + 9 × 0.10 = 5.00
    attach(request, school.gina, rows)
    messages = _blocking(request)
    assert "第 8 行：发放学分值 4.10 应为每人 0.50 分" in messages
    assert "第 7 行：发放学分值 0.10 应为每人 0.50 分" in messages
    with pytest.raises(
        ApplicationError, match=re.escape("第 8 行：发放学分值 4.10 应为每人 0.50 分")
    ):
        services.collective_request_submit(request=request, actor=school.gina)
    assert CollectiveRequest.objects.get(pk=request.pk).state == State.DRAFT


def test_a_letter_with_tiers_judges_each_row_by_its_award(school: School, kit: Kit) -> None:
    request = ready_request(school.gina, school.club, kit)
    awards = ["一等奖", "二等奖"] + [None] * 8
    values = [3.0, 2.0] + [0.5] * 8
    rows = [
        roster_row(u, kit, award=a, value=v)
        for u, a, v in zip(kit.students, awards, values, strict=True)
    ]
    services.collective_request_update(
        request=request,
        actor=school.gina,
        data=filled(kit, points_per_person=None, declared_total=D("9"), tiers=TIERS),
    )
    attach(request, school.gina, rows)
    assert _blocking(request) == []
    services.collective_request_submit(request=request, actor=school.gina)
    assert request.state == State.PENDING


def test_a_row_outside_the_tiers_blocks_with_its_row_and_the_tiers(
    school: School, kit: Kit
) -> None:
    request = ready_request(school.gina, school.club, kit)
    services.collective_request_update(
        request=request,
        actor=school.gina,
        data=filled(kit, points_per_person=None, declared_total=D("5.5"), tiers=TIERS),
    )
    rows = [roster_row(u, kit, value=0.5) for u in kit.students]
    rows[0] = roster_row(kit.students[0], kit, award="一等奖", value=3.0)
    rows[2] = roster_row(kit.students[2], kit, award="三等奖", value=1.0)  # excel row 9
    attach(request, school.gina, rows)
    messages = _blocking(request)
    assert (
        "第 9 行：奖项内容「三等奖」不在申请书的奖项档次中（一等奖 3.00、二等奖 2.00、参与 0.50）"
        in messages
    )
    assert len([m for m in messages if m.startswith("第 ")]) == 1
    with pytest.raises(ApplicationError, match="第 9 行"):
        services.collective_request_submit(request=request, actor=school.gina)


def test_two_credit_types_are_counted_and_totalled_apart(school: School, kit: Kit) -> None:
    hours = CreditType.objects.get(name="志愿者工时")
    request = ready_request(school.gina, school.club, kit)
    volunteers = kit.students[:3]
    extra = services.LineData(
        credit_type_id=hours.pk,
        points_per_person=D("2"),
        declared_participants=3,
        declared_total=D("6"),
    )
    services.collective_request_update(
        request=request, actor=school.gina, data=filled(kit, extra_lines=[extra])
    )
    rows = [roster_row(u, kit) for u in kit.students] + [
        roster_row(u, kit, credit_type="志愿者工时", value=2.0) for u in volunteers
    ]
    attach(request, school.gina, rows)
    assert _blocking(request) == []
    # One volunteer more on the letter than on the roster: only that type disagrees.
    extra.declared_participants, extra.declared_total = 4, D("8")
    services.collective_request_update(
        request=request, actor=school.gina, data=filled(kit, extra_lines=[extra])
    )
    messages = _blocking(request)
    assert "志愿者工时：申请书写的参与人数为 4 人，人员名单中有 3 人。" in messages
    assert "志愿者工时：申请书写的共计分值为 8.00，人员名单的学分值合计为 6.00。" in messages
    assert not any(m.startswith("文体活动学分") for m in messages)

    extra.declared_participants, extra.declared_total = 3, D("6")
    services.collective_request_update(
        request=request, actor=school.gina, data=filled(kit, extra_lines=[extra])
    )
    letter_html = document_html(request=request, form=form_get(request=request, key="letter")).html
    assert (
        "申请文体活动学分每人 0.5 分，10 人参与活动，共计 5 分；"
        "志愿者工时每人 2 分，3 人参与活动，共计 6 分。" in letter_html
    )
    form_html = document_html(request=request, form=form_get(request=request, key="form")).html
    assert '<div class="detail-line">文体活动学分每人 0.5 分，10 人参与活动，共计 5 分</div>' in (
        form_html
    )
    assert '<div class="detail-line">志愿者工时每人 2 分，3 人参与活动，共计 6 分</div>' in (
        form_html
    )
    assert "合计 11" not in form_html and "11.00" not in form_html  # never a cross-type sum
    # And on paper: the PDFs' own text, read back.
    services.collective_request_submit(request=request, actor=school.gina)
    letter_pdf = squash(pdf_text(pdf_bytes(render(request, "letter"))))
    assert (
        "申请文体活动学分每人0.5分，10人参与活动，共计5分；志愿者工时每人2分，3人参与活动，共计6分。"
        in letter_pdf
    )
    form_pdf = pdf_text(pdf_bytes(render(request, "form")))
    assert (
        "积分明细文体活动学分每人0.5分，10人参与活动，共计5分志愿者工时每人2分，3人参与活动，共计6分"
        in squash(form_pdf)
    )
    assert "文体活动学分合计 5" in form_pdf and "志愿者工时合计 6" in form_pdf


def test_the_letter_prints_its_tiers(school: School, kit: Kit) -> None:
    request = ready_request(school.gina, school.club, kit)
    services.collective_request_update(
        request=request,
        actor=school.gina,
        data=filled(kit, points_per_person=None, declared_total=D("5"), tiers=TIERS),
    )
    html = document_html(request=request, form=form_get(request=request, key="letter")).html
    assert "申请文体活动学分按奖项档次（一等奖 3 分、二等奖 2 分、参与 0.5 分），10 人参与活动" in (
        html
    )
    text = squash(pdf_text(pdf_bytes(render(request, "letter"))))
    assert (
        "申请文体活动学分按奖项档次（一等奖3分、二等奖2分、参与0.5分），10人参与活动，共计5分。"
        in (text)
    )


def test_a_letter_repeating_a_type_or_a_tier_is_refused_and_changes_nothing(
    school: School, kit: Kit
) -> None:
    request = ready_request(school.gina, school.club, kit)
    same_type = services.LineData(credit_type_id=kit.standard.credit_type_id)
    with pytest.raises(ApplicationError, match="写了两次"):
        services.collective_request_update(
            request=request, actor=school.gina, data=filled(kit, extra_lines=[same_type])
        )
    twice = [*TIERS, services.TierData(award="一等奖", points=D("4"))]
    with pytest.raises(ApplicationError, match="一等奖”写了两次"):
        services.collective_request_update(
            request=request, actor=school.gina, data=filled(kit, tiers=twice)
        )
    assert not LetterTier.objects.filter(request=request).exists()


def test_an_activity_that_has_not_ended_is_refused_naming_the_date(
    school: School, kit: Kit
) -> None:
    request = ready_request(school.gina, school.club, kit)
    end = timezone.localdate() + timedelta(days=30)
    with pytest.raises(ApplicationError, match=f"活动结束日期 {end:%Y-%m-%d} 晚于今天"):
        services.collective_request_update(
            request=request, actor=school.gina, data=filled(kit, activity_end=end)
        )
    assert CollectiveRequest.objects.get(pk=request.pk).activity_end != end
    start = timezone.localdate() + timedelta(days=1)
    with pytest.raises(ApplicationError, match=f"活动开始日期 {start:%Y-%m-%d} 晚于今天"):
        services.collective_request_update(
            request=request,
            actor=school.gina,
            data=filled(kit, activity_start=start, activity_end=None),
        )
    # A date stored before this rule (or that became wrong) still blocks submission.
    CollectiveRequest.objects.filter(pk=request.pk).update(activity_end=end)
    request.refresh_from_db()
    with pytest.raises(ApplicationError, match="活动未完结，不能补录"):
        services.collective_request_submit(request=request, actor=school.gina)


# --- the form ----------------------------------------------------------------------------------


def _post(kit: Kit, request: CollectiveRequest, **extra: str) -> dict[str, str]:
    data = filled(kit)
    post = {
        "case": data.case,
        "activity_name": data.activity_name,
        "standard_item": str(kit.standard.pk),
        "points_per_person": "",
        "declared_participants": "10",
        "declared_total": "9",
        "contact_phone": data.contact_phone,
        "activity_start": f"{data.activity_start:%Y-%m-%d}",
        "activity_end": f"{data.activity_end:%Y-%m-%d}",
        "location": data.location,
        "credit_details": data.credit_details,
        "reason": data.reason,
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "tiers-TOTAL_FORMS": "3",
        "tiers-INITIAL_FORMS": "0",
    }
    for i, t in enumerate(TIERS):
        post[f"tiers-{i}-award"] = t.award
        post[f"tiers-{i}-points"] = str(t.points)
    post.update(extra)
    return post


def test_the_form_saves_tiers_and_keeps_them_on_the_next_save(
    client: Client, school: School, kit: Kit
) -> None:
    request = ready_request(school.gina, school.club, kit)
    url = reverse("collective:edit", args=[request.pk])
    client.force_login(school.gina)
    assert client.post(url, _post(kit, request)).status_code == 302
    stored = list(LetterTier.objects.filter(request=request).values_list("award", "points"))
    assert stored == [("一等奖", D("3.00")), ("二等奖", D("2.00")), ("参与", D("0.50"))]
    page = client.get(url).content.decode()
    assert 'name="tiers-0-award"' in page and 'value="一等奖"' in page
    # Saved again as shown (3 initial tiers + 2 blank extras): the tiers stay, none is added.
    again = _post(kit, request, **{"tiers-TOTAL_FORMS": "5", "tiers-INITIAL_FORMS": "3"})
    assert client.post(url, again).status_code == 302
    assert LetterTier.objects.filter(request=request).count() == 3
    # Deleting one tier removes it.
    gone = {**again, "tiers-1-DELETE": "on"}
    assert client.post(url, gone).status_code == 302
    assert list(LetterTier.objects.filter(request=request).values_list("award", flat=True)) == [
        "一等奖",
        "参与",
    ]


def test_someone_else_cannot_post_tiers(client: Client, school: School, kit: Kit) -> None:
    request = ready_request(school.gina, school.club, kit)
    client.force_login(school.olivia)
    response = client.post(reverse("collective:edit", args=[request.pk]), _post(kit, request))
    assert response.status_code == 404
    assert not LetterTier.objects.filter(request=request).exists()


# --- the demo ------------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:No directory at:UserWarning")
def test_the_demo_has_a_letter_with_tiers_whose_roster_fits(db: None) -> None:
    from io import StringIO

    from django.core.management import call_command

    call_command("seed_demo", "--force", stdout=StringIO())
    request = CollectiveRequest.objects.get(activity_name="第三届校园电子竞技邀请赛")
    assert list(request.tiers.values_list("award", flat=True)) == [
        "一等奖",
        "二等奖",
        "三等奖",
        "参与",
    ]
    assert request.state == State.RETURNED  # it went through the chain with this roster
    assert [c.message for c in services.collective_checks(request) if c.blocking] == []
    assert request.declared_total == D("2") + 2 * D("1.5") + 3 * D("1") + 58 * D("0.5")
