"""The statistics are right for a small known dataset, and the maintained counts cannot drift."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from bulu.workflow.models import BackfillRequest, Kind, State
from credits.models import CreditRecord
from credits.services import credit_records_announce, credit_records_create
from personal import services
from personal.services import personal_on_approved
from stats.models import CreditTally, Scope, WaitTally
from stats.selectors import StatsScope, stats_page
from stats.tables import wait_text
from stats.tallies import (
    BOUNDS,
    bucket_of,
    credit_counts_from_records,
    percentile_bucket,
    stats_rebuild,
    wait_counts_from_log,
)
from tests.conftest import School, decide
from tests.personal.conftest import Mirror, make_draft
from tests.stats.conftest import Known

SCHOOL = StatsScope(Scope.SCHOOL, (0,), "全校", "college", ())


def rows(page: object, key: str) -> list[list[object]]:
    return page.table(key).rows  # type: ignore[attr-defined]


def test_it_counts_requests_by_kind_state_college_and_notice(school: School, known: Known) -> None:
    page = stats_page(scope=SCHOOL)
    kind_state = rows(page, "kind_state")
    columns = page.table("kind_state").columns
    personal = dict(zip(columns, kind_state[0], strict=True))
    assert personal["补录类型"] == str(Kind.PERSONAL.label)
    assert personal["审核中"] == 1 and personal["退回修改"] == 1
    assert personal["不予通过"] == 1 and personal["已通过"] == 1
    assert personal["合计"] == 4  # the draft is not counted
    # College rows: 已提交, 审核中, 退回修改, 已通过, 不予通过, 已撤回.
    college = {r[0]: r[1:] for r in rows(page, "college")}
    assert college == {"智能制造学院": [3, 1, 1, 1, 0, 0], "汽车工程学院": [1, 0, 0, 0, 1, 0]}
    window = rows(page, "window")
    assert window == [["2026年春季个人积分补录", 4, 1, 1, 1, 1, 0]]
    matrix = rows(page, "college_window")
    assert page.table("college_window").columns[1] == "2026年春季个人积分补录"
    assert sorted(matrix) == [["智能制造学院", 3], ["汽车工程学院", 1]]
    assert page.totals == {"submitted": 4, "pending": 1, "passed": 1, "credits": 2}


def test_it_sums_credits_by_category_and_credit_type(school: School, known: Known) -> None:
    page = stats_page(scope=SCHOOL)
    assert rows(page, "credit_type") == [["文体活动学分", 2, Decimal("4.00")]]
    assert rows(page, "credit_category") == [["文体活动", 2, Decimal("4.00")]]
    college_b = StatsScope(Scope.COLLEGE, (school.college_b.pk,), "汽车工程学院", "college", ())
    assert rows(stats_page(scope=college_b), "credit_type") == []


def test_it_reads_median_and_p90_per_step_from_the_buckets(school: School, known: Known) -> None:
    page = stats_page(scope=SCHOOL)
    wait = {r[0]: r[1:] for r in rows(page, "wait")}
    # Counselor: 1 h, 2 h, 10 h -> median 2 h (bucket ≤ 2 h), p90 10 h (≤ 12 h).
    assert wait["辅导员"] == [3, "≤ 2 小时", "≤ 12 小时"]
    # Branch: 30 h, 70 h -> median 30 h (≤ 2 days), p90 70 h (≤ 3 days).
    assert wait["团总支"] == [2, "≤ 2 天", "≤ 3 天"]
    assert wait["二课中心"] == [1, "≤ 8 小时", "≤ 8 小时"]


def test_each_percentile_is_the_bucket_of_the_true_value() -> None:
    hours = [0.5, 3, 3, 7, 20, 26, 50, 50, 200, 3000]
    counts = [0] * len(BOUNDS)
    for h in hours:
        counts[bucket_of(timedelta(hours=h))] += 1
    for q, true in ((0.5, 20), (0.9, 200), (0.1, 0.5), (1.0, 3000)):
        bucket = percentile_bucket(counts, q)
        assert bucket == bucket_of(timedelta(hours=true))
        assert bucket is not None and true * 3600 <= BOUNDS[bucket]
        assert bucket == 0 or BOUNDS[bucket - 1] < true * 3600
    assert wait_text(bucket_of(timedelta(days=400))) == "> 90 天"
    assert percentile_bucket([0] * len(BOUNDS), 0.5) is None


def tallies_now() -> tuple[dict[Any, Any], dict[Any, Any]]:
    credits = {
        (t.scope, t.scope_id, t.category, t.credit_type): (t.n, t.total)
        for t in CreditTally.objects.all()
        if t.n
    }
    waits = {(t.scope, t.scope_id, t.role, t.bucket): t.n for t in WaitTally.objects.all() if t.n}
    return credits, waits


def test_the_maintained_tallies_equal_a_full_recount(
    school: School, mirror: Mirror, known: Known
) -> None:
    # More moves: the returned request comes back and goes through; another one is approved.
    services.personal_request_submit(request=known.returned, actor=school.alice)
    for actor in (school.bob, school.carol, school.dave):
        decide(known.returned, actor)
    for actor in (school.bob, school.carol):
        decide(known.pending, actor)
    more = make_draft(school.alice, mirror, items=3)
    services.personal_request_submit(request=more, actor=school.alice)
    for actor in (school.bob, school.carol, school.dave):
        decide(more, actor)
    # A retried approval hook creates and counts nothing new.
    personal_on_approved(more)
    credits, waits = tallies_now()
    recount = {k: (n, total) for k, (n, total) in credit_counts_from_records().items()}
    assert credits == recount
    assert waits == wait_counts_from_log()
    assert credits[("school", 0, "文体活动", "文体活动学分")] == (6, Decimal("12.00"))
    assert credits[("college", school.college_a.pk, "文体活动", "文体活动学分")][0] == 6
    assert credits[("unit", school.class_a1.pk, "文体活动", "文体活动学分")][0] == 6
    assert sum(n for (s, _i, _r, _b), n in waits.items() if s == "school") == 14
    # The rebuild writes what the services kept.
    stats_rebuild()
    assert tallies_now() == (credits, waits)


def test_the_helper_counts_only_records_it_inserted(school: School) -> None:
    unit_request = BackfillRequest.objects.create(
        kind=Kind.COLLECTIVE,
        title="机器人大赛",
        applicant=school.gina,
        applicant_org=school.club,
        college=school.college_a,
        state=State.APPROVED,
        submitted_at=school.gina.date_joined,
    )

    def record(key: str, value: str) -> CreditRecord:
        return CreditRecord(
            request=unit_request,
            source_key=key,
            student=school.alice,
            student_no=school.alice.username,
            student_name=school.alice.name,
            start_date=school.alice.date_joined.date(),
            content="机器人大赛",
            category="创新创业",
            subcategory="科技竞赛",
            level="校级",
            credit_type="创新创业学分",
            value=Decimal(value),
        )

    assert len(credit_records_create(request=unit_request, records=[record("a", "1.5")])) == 1
    again = credit_records_create(
        request=unit_request, records=[record("a", "1.5"), record("b", "2")]
    )
    assert [r.source_key for r in again] == ["b"]
    credits, _waits = tallies_now()
    assert credits[("unit", school.club.pk, "创新创业", "创新创业学分")] == (2, Decimal("3.50"))
    assert credits == credit_counts_from_records()


def test_records_a_kind_inserts_itself_are_counted_when_announced(school: School) -> None:
    """E.g. collective credits written by one INSERT … SELECT: the kind announces the rows."""
    unit_request = BackfillRequest.objects.create(
        kind=Kind.COLLECTIVE,
        title="社团招新",
        applicant=school.gina,
        applicant_org=school.club,
        college=school.college_a,
        state=State.APPROVED,
        submitted_at=school.gina.date_joined,
    )
    CreditRecord.objects.bulk_create(
        CreditRecord(
            request=unit_request,
            source_key=f"roster-entry:{n}",
            student_no=f"20240100{n:02d}",
            student_name=f"学生{n}",
            start_date=school.gina.date_joined.date(),
            content="社团招新",
            category="志愿公益",
            subcategory="志愿服务",
            level="校级",
            credit_type="志愿者工时",
            value=Decimal("0.5") if n % 2 else None,
        )
        for n in range(5)
    )
    credit_records_announce(
        request=unit_request, created=CreditRecord.objects.filter(request=unit_request)
    )
    credits, _waits = tallies_now()
    assert credits[("school", 0, "志愿公益", "志愿者工时")] == (5, Decimal("1.00"))
    assert credits[("unit", school.club.pk, "志愿公益", "志愿者工时")][0] == 5
    assert credits == credit_counts_from_records()
