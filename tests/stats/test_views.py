"""The statistics page and its downloads: scope by role, wrong people refused, constant queries."""

from __future__ import annotations

from decimal import Decimal
from io import BytesIO

import openpyxl
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from bulu.workflow.models import BackfillRequest, Kind, State, Window
from personal import services
from stats.selectors import stats_page, stats_scope_for_user
from tests.conftest import School, decide
from tests.personal.conftest import Mirror, make_draft
from tests.stats.conftest import Known

PAGE = reverse("stats:page")


def as_user(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def test_it_shows_the_center_the_whole_school(client: Client, school: School, known: Known) -> None:
    response = as_user(client, school.dave).get(PAGE)
    assert response.status_code == 200
    body = response.content.decode()
    assert "统计 · 全校" in body
    assert "智能制造学院" in body and "汽车工程学院" in body
    assert 'role="img"' in body and "<title" in body  # charts carry a name
    assert 'style="' not in body and "<script>" not in body  # nothing the CSP would block
    assert "Content-Security-Policy" in response.headers
    # The center may narrow to one college.
    one = as_user(client, school.dave).get(PAGE, {"college": school.college_b.pk})
    assert "统计 · 汽车工程学院" in one.content.decode()
    assert one.context["page"].totals["submitted"] == 1


def test_it_shows_a_secretary_only_their_college(
    client: Client, school: School, known: Known
) -> None:
    c = as_user(client, school.carol)
    response = c.get(PAGE)
    assert response.status_code == 200
    page = response.context["page"]
    assert page.scope.label == "智能制造学院"
    assert [r[0] for r in page.table("college").rows] == ["智能制造学院"]
    assert page.totals["submitted"] == 3
    assert "汽车工程学院" not in response.content.decode()
    # Another college, a unit, or garbage: not found.
    assert c.get(PAGE, {"college": school.college_b.pk}).status_code == 404
    assert c.get(PAGE, {"unit": school.club.pk}).status_code == 404
    assert c.get(PAGE, {"college": "x"}).status_code == 404
    assert (
        c.get(reverse("stats:xlsx", args=["college"]), {"college": school.college_b.pk}).status_code
        == 404
    )


def test_it_shows_an_advisor_only_their_units(client: Client, school: School, known: Known) -> None:
    BackfillRequest.objects.create(
        kind=Kind.COLLECTIVE,
        title="机器人大赛",
        applicant=school.gina,
        applicant_org=school.club,
        college=school.college_a,
        state=State.PENDING,
        submitted_at=school.gina.date_joined,
    )
    c = as_user(client, school.frank)
    response = c.get(PAGE)
    assert response.status_code == 200
    page = response.context["page"]
    assert page.scope.label == "机器人协会"
    assert page.totals == {"submitted": 1, "pending": 1, "passed": 0, "credits": 0}
    assert [o["request"].title for o in page.oldest] == ["机器人大赛"]
    assert c.get(PAGE, {"unit": school.class_a1.pk}).status_code == 404
    assert c.get(PAGE, {"college": school.college_a.pk}).status_code == 404


@pytest.mark.parametrize("who", ["alice", "bob", "oscar", "gina"])
def test_it_refuses_students_counselors_and_applicants(
    client: Client, school: School, known: Known, who: str
) -> None:
    c = as_user(client, getattr(school, who))
    assert c.get(PAGE).status_code == 403
    assert c.get(reverse("stats:xlsx", args=["kind_state"])).status_code == 403
    assert reverse("stats:page") not in c.get(reverse("home")).content.decode()


def test_it_sends_anonymous_users_to_login(client: Client, school: School) -> None:
    response = client.get(PAGE)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_it_lists_the_oldest_waiting_with_who_holds_them(
    client: Client, school: School, known: Known
) -> None:
    page = as_user(client, school.dave).get(PAGE).context["page"]
    [oldest] = page.oldest
    assert oldest["request"].pk == known.pending.pk
    assert oldest["role"] == "辅导员" and oldest["org"] == "机械2401"
    assert oldest["holders"] == school.bob.name
    assert oldest["days"] >= 8


def _cells(content: bytes) -> list[list[object]]:
    wb = openpyxl.load_workbook(BytesIO(content))
    ws = wb.active
    for row in ws.iter_rows():
        for cell in row:
            assert cell.data_type != "f", cell.coordinate
    return [[c.value for c in row] for row in ws.iter_rows()]


def _plain(value: object) -> object:
    """Numbers compare as numbers (4.00 on the page is 4 in the workbook), text as text."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return Decimal(str(value))
    return value


def test_each_table_downloads_as_xlsx_matching_the_page(
    client: Client, school: School, known: Known, personal_window: Window
) -> None:
    personal_window.title = '=HYPERLINK("http://x","点我")'
    personal_window.save()
    c = as_user(client, school.dave)
    page = c.get(PAGE).context["page"]
    for table in page.tables:
        response = c.get(reverse("stats:xlsx", args=[table.key]))
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/vnd.openxmlformats")
        cells = _cells(response.content)
        assert cells[1] == table.columns
        got = [[_plain(v) for v in row] for row in cells[2 : 2 + len(table.rows)]]
        assert got == [[_plain(v) for v in row] for row in table.rows]
    window_sheet = _cells(c.get(reverse("stats:xlsx", args=["window"])).content)
    assert window_sheet[2][0] == '=HYPERLINK("http://x","点我")'  # text, not a formula
    oldest = _cells(c.get(reverse("stats:xlsx", args=["oldest"])).content)
    assert oldest[2][0] == known.pending.pk
    assert c.get(reverse("stats:xlsx", args=["nothing"])).status_code == 404


def test_a_secretary_downloads_only_their_college(
    client: Client, school: School, known: Known
) -> None:
    cells = _cells(
        as_user(client, school.carol).get(reverse("stats:xlsx", args=["college"])).content
    )
    assert cells[2][0] == "智能制造学院"
    assert "汽车工程学院" not in repr(cells)


def _grow(school: School, mirror: Mirror, n: int) -> None:
    for _ in range(n):
        r = make_draft(school.alice, mirror, items=2)
        services.personal_request_submit(request=r, actor=school.alice)
        for actor in (school.bob, school.carol, school.dave):
            decide(r, actor)
        pending = make_draft(school.olivia, mirror)
        services.personal_request_submit(request=pending, actor=school.olivia)


@pytest.mark.parametrize("who", ["dave", "carol", "frank"])
def test_the_page_runs_the_same_queries_whatever_the_data(
    client: Client, school: School, mirror: Mirror, known: Known, who: str
) -> None:
    c = as_user(client, getattr(school, who))
    c.get(PAGE)
    with CaptureQueriesContext(connection) as small:
        assert c.get(PAGE).status_code == 200
    _grow(school, mirror, 4)
    with CaptureQueriesContext(connection) as large:
        assert c.get(PAGE).status_code == 200
    assert len(large) == len(small)
    assert len(small) <= 16


def test_a_student_sees_their_own_credits_on_the_home_page(
    client: Client, school: School, known: Known
) -> None:
    body = as_user(client, school.alice).get(reverse("home")).content.decode()
    assert "我的补录学分" in body and "文体活动学分" in body and "4.00" in body
    other = as_user(client, school.olivia).get(reverse("home")).content.decode()
    assert "我的补录学分" in other and "文体活动学分" not in other
    assert "还没有补录通过的学分" in other
    staff = as_user(client, school.dave).get(reverse("home")).content.decode()
    assert "我的补录学分" not in staff


def test_a_roster_row_with_the_students_number_counts_even_before_the_registry_knew_them(
    client: Client, school: School, known: Known
) -> None:
    from credits.models import CreditRecord

    theirs = CreditRecord.objects.filter(student=school.alice).first()
    assert theirs is not None
    CreditRecord.objects.filter(pk=theirs.pk).update(student=None)  # matched by 学号 only
    body = as_user(client, school.alice).get(reverse("home")).content.decode()
    assert "文体活动学分" in body and "4.00" in body


def test_the_student_panel_costs_one_query(client: Client, school: School, known: Known) -> None:
    c = as_user(client, school.alice)
    with CaptureQueriesContext(connection) as captured:
        c.get(reverse("home"))
    assert sum("imports_creditrecord" in q["sql"] for q in captured.captured_queries) == 1


def test_the_scope_selector_reads_the_roles(school: School, known: Known) -> None:
    assert stats_scope_for_user(user=school.erin, params={}).label == "全校"  # committee
    page = stats_page(scope=stats_scope_for_user(user=known.secretary_b, params={}))
    assert page.totals["submitted"] == 1
