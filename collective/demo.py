"""Demo collective requests in every state, from several units, with realistic rosters.

Built through the real services (roster judged by the task, eager without Redis), so the demo
shows exactly what users would see. Idempotent: nothing is created when the examples exist.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from accounts.models import Membership, Organization, User
from bulu.workflow.demo import demo_decide
from bulu.workflow.models import Decision, Kind, Window
from bulu.workflow.services import request_withdraw
from collective import services
from collective.letter import PARTICIPANT_TIER
from collective.models import CollectiveRequest
from imports.models import CreditStandardItem
from imports.services import roster_validate
from imports.template_xlsx import build_template

PREFIX = "【示例】"


@dataclass(frozen=True)
class Scenario:
    unit: str  # organization name
    applicant: str  # username
    activity: str
    standard: tuple[str, int]  # (一级分类, 项号)
    content: str
    start: date
    people: int
    case: str
    # Decisions after submission: "approve" per step, then an optional final return/reject.
    approvals: int
    ending: str = ""  # "", "return", "reject", "draft", "withdraw"
    # Award tiers of the letter, (award, points, how many of the roster get it); the rest of
    # the roster, with an empty 奖项内容, gets the participants' tier.
    tiers: tuple[tuple[str, str, int], ...] = ()


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "机器人协会",
        "2023010102",
        "2025年机器人协会科技文化节",
        ("文体活动", 3),
        "参加机器人协会科技文化节",
        date(2025, 10, 18),
        48,
        "unpublished",
        0,
        "draft",
    ),
    Scenario(
        "机器人协会",
        "2023010102",
        "机器人协会“智造未来”主题讲座",
        ("思想成长", 1),
        "参加“智造未来”主题讲座",
        date(2025, 9, 26),
        36,
        "unfinished",
        0,
    ),
    Scenario(
        "青年志愿者协会",
        "2024040408",
        "2025年秋季迎新志愿服务",
        ("志愿公益", 1),
        "参加2025年秋季迎新志愿服务",
        date(2025, 9, 6),
        120,
        "unfinished",
        1,
    ),
    Scenario(
        "智能制造学院团总支",
        "T0101",
        "智能制造学院“青年大学习”主题团日",
        ("思想成长", 1),
        "参加“青年大学习”主题团日活动",
        date(2025, 11, 12),
        150,
        "unpublished",
        # A draft: a filing signs no step, and the branch has no second secretary to sign it
        # (submitting says whom to ask).
        0,
        "draft",
    ),
    Scenario(
        "汽车文化社",
        "2024030312",
        "汽车文化社新能源汽车科普展",
        ("文体活动", 3),
        "参加新能源汽车科普展志愿讲解",
        date(2025, 10, 25),
        30,
        "unpublished",
        1,  # waits at 汽车工程学院团总支
    ),
    Scenario(
        "电子竞技社",
        "2023020305",
        "第三届校园电子竞技邀请赛",
        ("文体活动", 3),
        "参加第三届校园电子竞技邀请赛",
        date(2025, 11, 2),
        64,
        "unpublished",
        1,
        "return",
        tiers=(("一等奖", "2", 1), ("二等奖", "1.5", 2), ("三等奖", "1", 3), ("参与", "0.5", 0)),
    ),
    Scenario(
        "校学生会",
        "2023040103",
        "2025年校园十佳歌手大赛",
        ("文体活动", 3),
        "参加2025年校园十佳歌手大赛",
        date(2025, 5, 20),
        80,
        "unfinished",
        1,
        "reject",
    ),
    Scenario(
        "青年志愿者协会",
        "2024040408",
        "2025年无偿献血志愿服务",
        ("志愿公益", 1),
        "参加2025年春季无偿献血志愿服务",
        date(2025, 4, 16),
        210,
        "unpublished",
        3,
    ),
    Scenario(
        "大学生艺术团",
        "2023020215",
        "大学生艺术团新年音乐会",
        ("文体活动", 3),
        "参加大学生艺术团新年音乐会演出",
        date(2025, 1, 3),
        25,
        "unpublished",
        0,
        "withdraw",
    ),
)


EXPLANATION = {
    "cause": "活动发布者在活动结束后未及时点击“完结”，导致积分未发放。",
    "correct_procedure": "活动结束后 3 日内由发布者核对签到名单并完结活动。",
    "prevention": "明确每项活动的发布负责人，活动结束当天在例会上核对完结情况。",
    "summary": "活动开展顺利，参与同学反响良好；今后将严格按流程操作。",
}


def _awards(s: Scenario, people: int, standard: CreditStandardItem) -> list[tuple[str, Decimal]]:
    """Each roster row's 奖项内容 and 发放学分值: by the letter's tiers, else the standard's."""
    if not s.tiers:
        return [("", standard.points)] * people
    awarded = [(award, Decimal(points)) for award, points, n in s.tiers for _i in range(n)]
    participant = next(Decimal(p) for a, p, _n in s.tiers if a == PARTICIPANT_TIER)
    return (awarded + [("", participant)] * people)[:people]


def _roster(students: list[User], standard: CreditStandardItem, s: Scenario) -> bytes:
    awards = _awards(s, len(students), standard)
    rows: list[list[object]] = [
        [
            u.username,
            u.name,
            datetime.combine(s.start, datetime.min.time()),
            None,
            s.content,
            standard.subcategory.category.name,
            standard.subcategory.name,
            standard.level.name if standard.level else "校级",
            award or None,
            standard.credit_type.name,
            float(value),
        ]
        for u, (award, value) in zip(students, awards, strict=True)
    ]
    out = io.BytesIO()
    build_template(rows).save(out)
    return out.getvalue()


def demo_seed_collective_requests() -> int:
    if CollectiveRequest.objects.filter(title__startswith=PREFIX).exists():
        return 0
    if Window.objects.filter(kind=Kind.COLLECTIVE, is_published=True).exists():
        return 0  # a collective notice would set dates; the demo files outside any notice
    students = list(
        User.objects.filter(memberships__role=Membership.Role.STUDENT).order_by("username")
    )
    if len(students) < 250:
        return 0
    created = 0
    for n, s in enumerate(SCENARIOS):
        unit = Organization.objects.filter(name=s.unit).first()
        applicant = User.objects.filter(username=s.applicant).first()
        category, number = s.standard
        standard = (
            CreditStandardItem.objects.filter(subcategory__category__name=category, number=number)
            .select_related("subcategory__category", "level", "credit_type")
            .first()
        )
        if unit is None or applicant is None or standard is None:
            continue
        request = services.collective_request_create(actor=applicant, unit=unit)
        people = students[(n * 53) % 300 : (n * 53) % 300 + s.people]
        total = sum((value for _a, value in _awards(s, len(people), standard)), Decimal(0))
        services.collective_request_update(
            request=request,
            actor=applicant,
            data=services.CollectiveData(
                case=s.case,
                activity_name=s.activity,
                standard_item_id=standard.pk,
                points_per_person=None if s.tiers else standard.points,
                declared_participants=len(people),
                declared_total=total,
                contact_phone=f"1380838{n:04d}",
                activity_start=s.start,
                activity_end=s.start + timedelta(days=1 if n % 2 else 0),
                location=("明德楼报告厅", "学校体育馆", "图书馆广场", "学生活动中心")[n % 4],
                credit_details=(
                    "按比赛名次发放，获奖名单见人员信息。"
                    if s.tiers
                    else f"参与人员每人 {standard.points} {standard.credit_type.name}，"
                    f"共 {len(people)} 人。"
                ),
                tiers=[
                    services.TierData(award=award, points=Decimal(points))
                    for award, points, _n in s.tiers
                ],
                reason="活动已按计划完成并有签到记录，但积分未能通过到梦空间正常发放，特申请补录。",
                **(EXPLANATION if s.case == CollectiveRequest.Case.UNFINISHED else {}),  # type: ignore[arg-type]
            ),
        )
        request.title = PREFIX + request.title
        request.save(update_fields=["title"])
        upload = services.collective_roster_attach(
            request=request,
            actor=applicant,
            fileobj=io.BytesIO(_roster(people, standard, s)),
            filename=f"{s.activity}人员名单.xlsx",
        )
        # Judged now (the same service the task runs; the task finds it done and stops), so
        # the demo also works inside a surrounding transaction, where on-commit tasks wait.
        roster_validate(upload_id=upload.pk)
        created += 1
        if s.ending == "draft":
            continue
        if s.ending == "withdraw":
            request_withdraw(request=request, actor=applicant, expected_version=request.version)
            continue
        request.refresh_from_db()
        services.collective_request_submit(request=request, actor=applicant)
        for _step in range(s.approvals):
            demo_decide(request, Decision.APPROVE, "材料齐全，情况属实，同意。")
        request.refresh_from_db()
        if s.ending == "return":
            demo_decide(
                request, Decision.RETURN, "人员名单缺少活动签到表对应的证明，请补充后重新提交。"
            )
        elif s.ending == "reject":
            demo_decide(
                request, Decision.REJECT, "该活动已在到梦空间正常完结并发放积分，不属于补录情形。"
            )
    return created
