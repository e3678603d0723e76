"""Demo personal requests in every state, so each dashboard has something to show.

Runs after the demo school and the demo settings mirror exist; idempotent (it does nothing when
demo requests are already there). Every state change goes through the real services.
"""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import Membership, Organization, User
from bulu.workflow.demo import demo_decide
from bulu.workflow.models import Decision, Kind, Window, months_outside_rule
from bulu.workflow.services import request_withdraw
from imports.models import ActivityLevel, CreditStandardItem
from personal import services
from personal.models import PersonalRequest

CJK_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
DEMO_WINDOW_TITLE = "个人成长积分补录（演示通知）"
# (student index, title, scenario)
SCENARIOS = (
    "draft",
    "pending_counselor",
    "pending_counselor",
    "pending_branch",
    "pending_center",
    "returned",
    "rejected",
    "approved",
    "withdrawn",
)


def _certificate_png(text: str) -> bytes:
    """A small certificate-like image, drawn so the evidence looks like evidence."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", (640, 420), "#fffaf0")
    draw = ImageDraw.Draw(img)
    draw.rectangle((12, 12, 628, 408), outline="#b3261e", width=6)
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont
    small: ImageFont.FreeTypeFont | ImageFont.ImageFont
    try:
        font = ImageFont.truetype(CJK_FONT, 34)
        small = ImageFont.truetype(CJK_FONT, 22)
    except OSError:
        font = small = ImageFont.load_default()
    draw.text((230, 60), "荣誉证书", fill="#b3261e", font=font)
    draw.text((60, 170), text[:24], fill="#222", font=small)
    draw.text((380, 330), "四川工业科技学院", fill="#222", font=small)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _demo_window() -> Window:
    now = timezone.now()
    opens, closes = now - timedelta(days=7), now + timedelta(days=30)
    # The demo opens around the day it is installed; outside 2月至3月 it says why (第五条).
    reason = (
        "演示数据：通知时间按安装演示的日期设置，便于试用；正式通知请在每年 2 月至 3 月发布。"
        if months_outside_rule(Kind.PERSONAL, opens, closes)
        else ""
    )
    window, _created = Window.objects.get_or_create(
        kind=Kind.PERSONAL,
        title=DEMO_WINDOW_TITLE,
        defaults={
            "body": "演示用通知：按规定个人积分补录每年 2 月至 3 月进行。"
            "请在截止前提交补录事项与证明材料，并在到梦空间“我的-展开-成长记录-申请记录-填写申请表单”线上提交每一项。",
            "opens_at": opens,
            "closes_at": closes,
            "off_season_reason": reason,
        },
    )
    return window


def _volunteer_item(request: PersonalRequest, student: User) -> None:
    """A second item counted per hour: 6 小时 of the standard's 参加志愿服务（每小时）."""
    std = (
        CreditStandardItem.objects.filter(unit=CreditStandardItem.Unit.HOUR)
        .select_related("subcategory")
        .first()
    )
    level = ActivityLevel.objects.filter(name="校级").first() or ActivityLevel.objects.first()
    if std is None or level is None:
        return
    evidence = services.evidence_stage(
        request=request,
        actor=student,
        uploads=[("志愿服务时长证明.png", io.BytesIO(_certificate_png("志愿服务 6 小时")))],
    )
    item = services.personal_item_save(
        request=request,
        actor=student,
        staged=[e.pk for e in evidence],
        data=services.ItemData(
            content="社区敬老院志愿服务",
            start_date=date(2025, 10, 12),
            end_date=None,
            category_id=std.subcategory.category_id,
            subcategory_id=std.subcategory_id,
            level_id=level.pk,
            awards="",
            credit_type_id=std.credit_type_id,
            claimed_value=Decimal(6) * std.points,
            standard_item_id=std.pk,
            quantity=Decimal(6),
        ),
    )
    # 第六条: filed online in 到梦空间 too.
    services.personal_item_mark_online(
        item=item, actor=student, applied=True, applied_on=date.today()
    )


def demo_seed_personal_requests(*, student_usernames: list[str] | None = None) -> int:
    """Create one personal request per scenario; returns how many were created."""
    if PersonalRequest.objects.filter(title__startswith="【示例】").exists():
        return 0
    standards = list(
        CreditStandardItem.objects.filter(level__isnull=False).select_related(
            "subcategory__category", "level", "credit_type"
        )[:6]
    )
    if not standards:
        return 0
    students = list(
        User.objects.filter(
            memberships__role=Membership.Role.STUDENT,
            memberships__organization__kind=Organization.Kind.CLASS,
        )
        .filter(username__in=student_usernames)
        .order_by("username")
        if student_usernames
        else User.objects.filter(memberships__role=Membership.Role.STUDENT).order_by("username")[
            : len(SCENARIOS)
        ]
    )
    if not students:
        return 0
    _demo_window()
    created = 0
    with transaction.atomic():
        for n, scenario in enumerate(SCENARIOS):
            student = students[n % len(students)]
            std = standards[n % len(standards)]
            request = services.personal_request_create(
                student=student, title=f"【示例】{std.name}等补录"
            )
            evidence = services.evidence_stage(
                request=request,
                actor=student,
                uploads=[("证书.png", io.BytesIO(_certificate_png(std.name)))],
            )
            item = services.personal_item_save(
                request=request,
                actor=student,
                staged=[e.pk for e in evidence],
                data=services.ItemData(
                    content=f"{std.name}（{std.award or std.level}）",
                    start_date=date(2025, 9, 10) + timedelta(days=7 * n),
                    end_date=None,
                    category_id=std.subcategory.category_id,
                    subcategory_id=std.subcategory_id,
                    level_id=std.level_id or 0,
                    awards=std.award,
                    credit_type_id=std.credit_type_id,
                    claimed_value=std.points,
                    standard_item_id=std.pk,
                ),
            )
            if scenario in ("pending_center", "approved"):
                _volunteer_item(request, student)
            created += 1
            # 第六条: filed online in 到梦空间 before submission (one draft has not done it yet).
            services.personal_item_mark_online(
                item=item, actor=student, applied=n > 0, applied_on=date.today()
            )
            if scenario == "draft":
                continue
            if scenario == "withdrawn":
                request_withdraw(request=request, actor=student)
                continue
            services.personal_request_submit(request=request, actor=student)
            approvals = {
                "pending_counselor": 0,
                "pending_branch": 1,
                "pending_center": 2,
                "returned": 1,
                "rejected": 0,
                "approved": 3,
            }[scenario]
            for _ in range(approvals):
                demo_decide(request, Decision.APPROVE, "情况属实，同意。")
            if scenario == "returned":
                demo_decide(request, Decision.RETURN, "证书照片不清晰，请重新上传清晰的扫描件。")
            elif scenario == "rejected":
                demo_decide(
                    request, Decision.REJECT, "该活动已在到梦空间发放过积分，不予重复补录。"
                )
    return created
