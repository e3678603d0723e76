"""第五条: a credit is granted once — possible double claims across kinds and requests."""

from __future__ import annotations

from datetime import date
from io import BytesIO
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from accounts.models import Membership
from bulu.exceptions import ApplicationError
from bulu.workflow.models import ApprovalRecord, Decision, State
from cadre import services as cadre_services
from cadre.lists import RawRow
from cadre.texts import entry_content
from credits.models import CreditRecord
from exports.selectors import ExportFilters, export_pool_held_back
from exports.services import export_batch_create
from imports import duplicates
from imports.duplicates import match_text, request_duplicates
from imports.models import RosterEntry
from personal import services
from personal.models import PersonalItem, PersonalRequest
from tests.cadre.conftest import TERM, Cadre, cadre, cadre_window  # noqa: F401
from tests.collective.conftest import ACTIVITY_DAY, CONTENT, Kit, kit, ready_request  # noqa: F401
from tests.conftest import School, decide, deputy
from tests.exports.conftest import approved_request
from tests.personal.conftest import (  # noqa: F401
    PNG,
    Mirror,
    item_data,
    make_draft,
    mirror,
    personal_window,
)

CHECKED = frozenset({duplicates.CONFIRMATION})


def _personal(school: School, mirror: Mirror, **item: object) -> PersonalRequest:  # noqa: F811
    """A submitted personal request of alice with one item (校园歌手大赛 by default)."""
    request = services.personal_request_create(student=school.alice, title="补录")
    staged = services.evidence_stage(
        request=request, actor=school.alice, uploads=[("证书.png", BytesIO(PNG))]
    )
    services.personal_item_save(
        request=request,
        actor=school.alice,
        data=item_data(mirror, **item),
        staged=[e.pk for e in staged],
    )
    services.personal_request_submit(request=request, actor=school.alice)
    return request


def _approve_all(request: PersonalRequest, school: School) -> None:
    decide(request, school.bob)
    decide(request, school.carol)
    decide(request, school.dave)


@pytest.fixture(autouse=True)
def _online_step_off(settings: Any) -> None:
    """第六条's online tick is tested in tests/personal/test_online_and_recognition.py."""
    settings.BULU_REQUIRE_ONLINE_SUBMISSION = False


def test_it_matches_tolerantly() -> None:
    assert match_text("校园歌手大赛（决赛）") == match_text("校园歌手大赛 (决赛)")
    assert match_text("ＡＢＣ 杯　编程赛") == match_text("abc杯编程赛")
    assert match_text("校园歌手大赛") != match_text("校园歌手大赛二")


def test_a_personal_item_in_two_requests_is_flagged_confirmed_and_guarded_at_export(
    client: Client,
    school: School,
    mirror: Mirror,  # noqa: F811
    personal_window: object,  # noqa: F811
) -> None:
    first = _personal(school, mirror)
    _approve_all(first, school)
    assert CreditRecord.objects.filter(request=first).count() == 1
    # The same item again, typed with full-width brackets and spaces: still the same item.
    second = _personal(school, mirror, content="校园 歌手大赛")
    found = request_duplicates(request_id=second.pk)
    assert [(d.granted, d.other.request_id) for d in found] == [(True, first.pk)]
    assert "同一学号、内容、日期、学分类型" in found[0].message

    # The student sees the warning on the item (the request page of their own request).
    client.force_login(school.alice)
    page = client.get(reverse("workflow:detail", args=[second.pk])).content.decode()
    assert "可能重复：" in page and "possible-duplicates" in page

    # The counselor sees the panel with a link to the first request, and is not blocked.
    client.force_login(school.bob)
    page = client.get(reverse("workflow:detail", args=[second.pk])).content.decode()
    assert "可能重复" in page
    assert f'href="{reverse("workflow:detail", args=[first.pk])}"' in page
    decide(second, school.bob)
    decide(second, school.carol)
    counselor = ApprovalRecord.objects.get(request=second, step_role="counselor")
    assert counselor.context[duplicates.CONTEXT_COUNT] == 1

    # The center: no tick, or a tick without an opinion, is refused and changes nothing.
    with pytest.raises(ApplicationError, match="已核实不重复"):
        decide(second, school.dave)
    with pytest.raises(ApplicationError, match="已核实不重复"):
        decide(second, school.dave, opinion="  ", confirmations=CHECKED)
    second.refresh_from_db()
    assert second.state == State.PENDING
    # On the page, the tick goes with the decision form.
    client.force_login(school.dave)
    response = client.post(
        reverse("workflow:decide", args=[second.pk]),
        {"decision": "approve", "opinion": "同意", "version": second.version},
    )
    assert response.status_code == 400 and "已核实不重复" in response.content.decode()
    response = client.post(
        reverse("workflow:decide", args=[second.pk]),
        {
            "decision": "approve",
            "opinion": "已核实：两次参赛（初赛、决赛），不重复",
            "version": second.version,
            "confirm": duplicates.CONFIRMATION,
        },
    )
    assert response.status_code == 302
    second.refresh_from_db()
    assert second.state == State.APPROVED
    record = ApprovalRecord.objects.get(
        request=second, step_role="center", decision=Decision.APPROVE
    )
    assert record.context[duplicates.CONTEXT_CHECKED] is True
    assert record.opinion.startswith("已核实")

    # Export: the first record has no confirmation but is the first granted; the second is
    # confirmed: both go out.
    assert not export_pool_held_back(filters=ExportFilters()).exists()
    batch = export_batch_create(actor=school.dave, filters=ExportFilters())
    assert batch.rows == 2


def test_unconfirmed_duplicates_are_held_back_at_export(client: Client, school: School) -> None:
    day = date(2025, 5, 1)
    first = approved_request(school, content="无偿献血", start_date=day)
    second = approved_request(school, content="无偿 献血", start_date=day)
    other = approved_request(school, applicant=school.olivia, content="无偿献血", start_date=day)
    held = list(export_pool_held_back(filters=ExportFilters()).values_list("request_id", flat=True))
    assert held == [second.pk]
    client.force_login(school.dave)
    desk = client.get(reverse("exports:desk")).content.decode()
    assert 'id="export-held"' in desk and "其中 1 条记录可能重复" in desk
    batch = export_batch_create(actor=school.dave, filters=ExportFilters())
    exported = set(batch.items.values_list("record__request_id", flat=True))
    assert exported == {first.pk, other.pk}
    # Still held back at the next batch: never two records of the same credit without the center.
    with pytest.raises(ApplicationError, match="可能重复"):
        export_batch_create(actor=school.dave, filters=ExportFilters())


def test_the_same_item_twice_in_one_request_is_refused(
    school: School,
    mirror: Mirror,  # noqa: F811
    personal_window: object,  # noqa: F811
) -> None:
    request = make_draft(school.alice, mirror)
    item = request.items.get()
    services.personal_item_save(
        request=request, actor=school.alice, data=item_data(mirror, content="另一个活动")
    )
    with pytest.raises(ValidationError) as caught:
        services.personal_item_save(
            request=request, actor=school.alice, data=item_data(mirror, content="活动１ ")
        )
    assert "与本申请第 1 项「活动1」重复" in str(caught.value.message_dict["content"])
    assert request.items.count() == 2
    # Editing an item to itself is no duplicate.
    services.personal_item_save(
        request=request, actor=school.alice, data=item_data(mirror, content="活动1"), item=item
    )
    # A second copy that got in anyway (e.g. before this rule) blocks the submission.
    copy = PersonalItem.objects.get(pk=item.pk)
    copy.pk = None
    copy.order = 5
    copy.save()
    with pytest.raises(ApplicationError, match="有重复的事项"):
        services.personal_request_submit(request=request, actor=school.alice)
    request.refresh_from_db()
    assert request.state == State.DRAFT


def test_a_roster_row_duplicating_a_personal_credit_is_flagged(
    client: Client,
    school: School,
    kit: Kit,  # noqa: F811
) -> None:
    # alice already got this credit through a personal request (any kind counts).
    granted = approved_request(
        school,
        content=CONTENT.replace("机器人", "机器人 "),
        start_date=ACTIVITY_DAY,
        credit_type=kit.standard.credit_type.name,
    )
    request = ready_request(school.gina, school.club, kit)
    flagged = RosterEntry.objects.get(upload=request.roster, has_flags=True)
    assert flagged.student_no == school.alice.username
    assert flagged.flags[0]["code"] == "already_credited"
    assert flagged.flags[0]["request"] == granted.pk
    assert "已发放的成长记录" in flagged.flags[0]["message"]
    found = request_duplicates(request_id=request.pk)
    assert [(d.line.source, d.other.request_id) for d in found] == [
        (duplicates.ROSTER_ENTRY, granted.pk)
    ]


def test_the_panel_never_links_a_request_the_viewer_may_not_see(
    client: Client,
    school: School,
    kit: Kit,  # noqa: F811
    personal_window: object,  # noqa: F811
) -> None:
    from collective import services as collective_services
    from imports.models import ActivityLevel

    roster = ready_request(school.gina, school.club, kit)
    collective_services.collective_request_submit(request=roster, actor=school.gina)
    # alice claims the same activity herself; her counselor may not see the club's request.
    standard = kit.standard
    settings = Mirror(
        category=standard.subcategory.category,
        subcategory=standard.subcategory,
        other_subcategory=standard.subcategory,
        level=ActivityLevel.objects.get(name="校级"),
        credit_type=standard.credit_type,
    )
    mine = _personal(
        school,
        settings,
        content=CONTENT,
        start_date=ACTIVITY_DAY,
        claimed_value=standard.points,
    )
    assert [d.other.request_id for d in request_duplicates(request_id=mine.pk)] == [roster.pk]
    client.force_login(school.bob)
    assert client.get(reverse("workflow:detail", args=[roster.pk])).status_code == 404
    page = client.get(reverse("workflow:detail", args=[mine.pk])).content.decode()
    assert f"申请 #{roster.pk}（你无权查看）" in page
    assert reverse("workflow:detail", args=[roster.pk]) not in page
    # The club's advisor sees the club's request linked, and alice's personal one unlinked.
    client.force_login(school.frank)
    page = client.get(reverse("workflow:detail", args=[roster.pk])).content.decode()
    assert f"申请 #{mine.pk}（你无权查看）" in page
    assert reverse("workflow:detail", args=[mine.pk]) not in page


def test_a_cadre_entry_duplicating_a_granted_credit_is_flagged(
    school: School,
    cadre: Cadre,  # noqa: F811
) -> None:
    report = cadre_services.cadre_self_report_save(
        student=school.alice,
        data=cadre_services.ServiceData(school.club.pk, cadre.club_head.pk, *TERM),
    )
    entry = report.entries.get()
    content = entry_content(entry, school.club)
    granted = approved_request(
        school,
        content=content,
        start_date=TERM[0],
        end_date=TERM[1],
        credit_type=cadre.club_head.standard_item.credit_type.name,
    )
    cadre_services.cadre_request_submit(request=report, actor=school.alice)
    found = request_duplicates(request_id=report.pk)
    assert [(d.line.source, d.granted, d.other.request_id) for d in found] == [
        (duplicates.CADRE_ENTRY, True, granted.pk)
    ]
    # The same service in a unit list of the club, pending: a duplicate of the live report.
    # The advisor who files the list signs no step of it: the club's other advisor does.
    deputy(school.club, Membership.Role.ADVISOR, "T0299")
    listed = cadre_services.cadre_list_create(actor=school.frank, unit=school.club)
    cadre_services.cadre_list_replace(
        request=listed,
        actor=school.frank,
        rows=[cadre_services_raw(school, "社长")],
    )
    cadre_services.cadre_request_submit(request=listed, actor=school.frank)
    others = {d.other.request_id for d in request_duplicates(request_id=listed.pk)}
    assert others == {granted.pk, report.pk}


def cadre_services_raw(school: School, title: str) -> RawRow:
    from tests.cadre.conftest import served

    return served(school.alice, title)


def test_a_long_roster_is_checked_in_a_few_queries_per_thousand_students(db: None) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    lines = [
        duplicates.Line(
            duplicates.ROSTER_ENTRY, n, 1, f"2024{n:06d}", "活动", date(2025, 5, 1), None, "学分", n
        )
        for n in range(2500)
    ]
    with CaptureQueriesContext(connection) as queries:
        assert duplicates.lines_duplicates(lines, exclude_request=1) == []
    # Three chunks of 学号, one query per chunk and source (credits, rosters, personal, cadre).
    assert len(queries) == 3 * 4


def test_the_roster_check_matches_tolerantly() -> None:
    from tests.imports.conftest import row
    from tests.imports.test_roster_judge import judge

    report = judge(row(), row(内容="参加 校园歌手大赛！"))
    assert [(p.row, p.code) for p in report.errors] == [(8, "duplicate_row")]
    # Granted credits are keyed as imports.selectors.credited_keys keys them (match_text).
    key = (
        "2021010001",
        match_text("参加校园歌手大赛"),
        date(2024, 3, 5),
        match_text("文体活动学分"),
    )
    report = judge(row(内容="参加校园歌手大赛 "), credited={key: 41})
    assert [(w.row, w.code) for w in report.warnings] == [(7, "already_credited")]
