"""Demo cadre positions and requests in every state, built through the real services."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import Membership, Organization, User
from bulu.workflow.demo import demo_decide
from bulu.workflow.models import Decision, Kind, SchoolYear, Window, months_outside_rule
from bulu.workflow.services import request_withdraw
from cadre import services
from cadre.lists import RawRow
from cadre.models import CadrePosition, CadreRequest, UnitKind
from imports.models import ActivityLevel, ActivitySubcategory, CreditStandardItem, CreditType

DEMO_WINDOW_TITLE = "2026年学生干部积分补录（演示）"
# (name, level, points) under 工作履历 / 学生干部, 工作成长积分: the standard's cadre items.
STANDARD: dict[str, tuple[str, str]] = {
    "school_lead": ("担任校级学生组织主席团成员满一年", "4"),
    "unit_lead": ("担任学生组织、社团、院系学生会负责人满一年", "3"),
    "minister": ("担任学生组织、社团、院系学生会部长满一年", "2"),
    "member": ("担任学生组织、社团、院系学生会干事满一年", "1"),
    "class": ("担任班委满一年", "1"),
}
POSITIONS: dict[str, tuple[tuple[str, str], ...]] = {
    UnitKind.STUDENT_UNION: (
        ("主席", "unit_lead"),
        ("副主席", "unit_lead"),
        ("部长", "minister"),
        ("副部长", "minister"),
        ("干事", "member"),
    ),
    UnitKind.STUDENT_ORG: (
        ("主席", "school_lead"),
        ("副主席", "school_lead"),
        ("部长", "minister"),
        ("副部长", "minister"),
        ("干事", "member"),
    ),
    UnitKind.CLUB: (
        ("社长", "unit_lead"),
        ("副社长", "unit_lead"),
        ("部长", "minister"),
        ("干事", "member"),
    ),
    UnitKind.CLASS: (
        ("班长", "class"),
        ("团支书", "class"),
        ("学习委员", "class"),
        ("生活委员", "class"),
        ("文体委员", "class"),
        ("组织委员", "class"),
        ("宣传委员", "class"),
        ("心理委员", "class"),
    ),
}


@transaction.atomic
def demo_seed_positions() -> int:
    """The standard's cadre items and a believable list of positions; idempotent."""
    sub = ActivitySubcategory.objects.filter(category__name="工作履历", name="学生干部").first()
    credit_type = CreditType.objects.filter(name="工作成长积分").first()
    if sub is None or credit_type is None:
        return 0
    levels = {lv.name: lv for lv in ActivityLevel.objects.all()}
    items: dict[str, CreditStandardItem] = {}
    for n, (key, (name, points)) in enumerate(STANDARD.items(), start=11):
        items[key], _created = CreditStandardItem.objects.get_or_create(
            subcategory=sub,
            name=name,
            defaults={
                "number": n,
                "level": levels.get("校级" if key == "school_lead" else "院系级"),
                "credit_type": credit_type,
                "points": Decimal(points),
            },
        )
    for kind, positions in POSITIONS.items():
        for order, (name, key) in enumerate(positions):
            CadrePosition.objects.get_or_create(
                unit_kind=kind, name=name, defaults={"standard_item": items[key], "order": order}
            )
    return CadrePosition.objects.count()


def _window() -> Window:
    """The demo notice collects the latest school year whose teaching weeks have ended."""
    now = timezone.now()
    opens, closes = now - timedelta(days=20), now + timedelta(days=20)
    # The demo opens around the day it is installed; outside 10月至11月 it says why (第四条).
    reason = (
        "演示数据：通知时间按安装演示的日期设置，便于试用；正式通知请在每年 10 月至 11 月发布。"
        if months_outside_rule(Kind.CADRE, opens, closes)
        else ""
    )
    year = (
        SchoolYear.objects.filter(teaching_ends_on__lt=timezone.localdate())
        .order_by("-starts_on")
        .first()
    )
    window, _created = Window.objects.get_or_create(
        kind=Kind.CADRE,
        title=DEMO_WINDOW_TITLE,
        defaults={
            "off_season_reason": reason,
            "body": "演示用通知：按《办法》第四条，学生干部积分每年 10 月至 11 月统一补录。"
            "各班级、学生组织、学生社团和学院学生会请在截止前提交任职满一年的学生干部名单；"
            "个人也可以上报自己的任职。逾期因自身原因未上报的，不再补录。",
            "opens_at": opens,
            "closes_at": closes,
            "school_year": year,
        },
    )
    return window


def _term(window: Window) -> tuple[date, date]:
    """A term as schools appoint them: the whole school year."""
    year = window.school_year
    assert year is not None
    return year.starts_on, year.teaching_ends_on


def _rows(students: list[User], titles: list[str], term: tuple[date, date]) -> list[RawRow]:
    return [
        RawRow(
            n,
            {
                "学号": u.username,
                "姓名": u.name,
                "职务": title,
                "任职开始": term[0].isoformat(),
                "任职结束": term[1].isoformat(),
            },
        )
        for n, (u, title) in enumerate(zip(students, titles, strict=False), start=2)
    ]


def demo_seed_cadre_requests() -> int:
    if CadreRequest.objects.exists() or not CadrePosition.objects.exists():
        return 0
    window = _window()
    if window.school_year is None:
        return 0
    term = _term(window)
    by_name = {o.name: o for o in Organization.objects.all()}
    users = {
        u.username: u
        for u in User.objects.filter(username__in=["T0001", "2023010102", "T0201", "2023040103"])
    }
    if len(users) < 4 or "机械设计2301" not in by_name:
        return 0
    klass = by_name["机械设计2301"]
    classmates = list(
        User.objects.filter(
            memberships__organization=klass, memberships__role=Membership.Role.STUDENT
        ).order_by("username")
    )
    created = 0
    # A class committee list from the counselor, kept as a draft: a filing signs no step, and
    # the class has no second counselor to confirm it (submitting says whom to ask).
    class_list = services.cadre_list_create(actor=users["T0001"], unit=klass)
    services.cadre_list_replace(
        request=class_list,
        actor=users["T0001"],
        rows=_rows(classmates[:8], [p for p, _key in POSITIONS[UnitKind.CLASS]], term),
    )
    created += 1
    # The robot club's list from its student applicant: confirmed by the advisor, approved.
    club = by_name["机器人协会"]
    club_list = services.cadre_list_create(actor=users["2023010102"], unit=club)
    members = list(
        User.objects.filter(memberships__role=Membership.Role.STUDENT).order_by("username")[30:36]
    )
    services.cadre_list_replace(
        request=club_list,
        actor=users["2023010102"],
        rows=_rows(members, ["社长", "副社长", "部长", "部长", "干事", "干事"], term),
    )
    services.cadre_request_submit(request=club_list, actor=users["2023010102"])
    for _step in range(3):
        demo_decide(club_list)
    created += 1
    # A club member also reported the same service herself: flagged, credited once.
    self_double = services.cadre_self_report_save(
        student=members[4],
        data=services.ServiceData(
            club.pk, CadrePosition.objects.get(unit_kind=club.kind, name="干事").pk, *term
        ),
    )
    services.cadre_request_submit(request=self_double, actor=members[4])
    created += 1
    # Self-reports in the other states: a draft, one pending, one returned, one rejected.
    union = by_name["智能制造学院团总支"]
    for n, (ending, unit, title) in enumerate(
        (
            ("draft", union, "干事"),
            ("pending", union, "部长"),
            ("returned", by_name["校学生会"], "部长"),
            ("rejected", by_name["青年志愿者协会"], "干事"),
            ("withdrawn", by_name["电子竞技社"], "干事"),
        )
    ):
        student = classmates[10 + n]
        position = CadrePosition.objects.get(unit_kind=unit.kind, name=title)
        start, end = term if ending != "rejected" else (term[0] + timedelta(days=7), term[1])
        report = services.cadre_self_report_save(
            student=student, data=services.ServiceData(unit.pk, position.pk, start, end)
        )
        created += 1
        if ending == "draft":
            continue
        if ending == "withdrawn":
            request_withdraw(request=report, actor=student, expected_version=report.version)
            continue
        services.cadre_request_submit(request=report, actor=student)
        if ending == "returned":
            demo_decide(report, Decision.RETURN, "请附上学生会的聘书照片。")
        elif ending == "rejected":
            demo_decide(report, Decision.REJECT, "经核实，该生未在青年志愿者协会任职。")
    return created
