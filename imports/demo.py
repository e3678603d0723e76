"""A believable mirror of the 认定标准 (2023年版) for demos and tests.

Categories, levels, credit types and standard items. Every name used by the three sample rows
of 附件4 (文体活动/文体活动, 工作履历/工作履历, 志愿公益/志愿公益, 校级, 院系级, 文体活动学分,
工作成长积分, 志愿者工时) is present, so the template's samples would pass.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from imports.models import (
    ActivityCategory,
    ActivityLevel,
    ActivitySubcategory,
    CreditStandardItem,
    CreditType,
)

CATEGORIES: dict[str, tuple[str, ...]] = {
    "思想成长": ("思想成长", "主题教育", "理论学习", "党团活动"),
    "实践实习": ("实践实习", "社会实践", "专业实习"),
    "志愿公益": ("志愿公益", "志愿服务", "公益活动"),
    "创新创业": ("创新创业", "学科竞赛", "创新创业项目", "科研活动"),
    "文体活动": ("文体活动", "文艺活动", "体育竞赛"),
    "工作履历": ("工作履历", "学生干部", "班级干部"),
    "技能特长": ("技能特长", "资格证书", "等级证书"),
}
LEVELS = ("国家级", "省级", "市级", "校级", "院系级")
CREDIT_TYPES = (
    "思想成长学分",
    "实践实习学分",
    "志愿者工时",
    "创新创业学分",
    "文体活动学分",
    "工作成长积分",
    "技能特长学分",
)
# (一级分类, 二级分类, 项号, 项目名称, 等级, 奖项, 学分类型, 分值)
ITEMS: tuple[tuple[str, str, int, str, str | None, str, str, str], ...] = (
    ("思想成长", "主题教育", 1, "参加校级主题教育活动", "校级", "", "思想成长学分", "0.5"),
    ("思想成长", "理论学习", 2, "青年大学习学期全勤", "校级", "", "思想成长学分", "1"),
    ("实践实习", "社会实践", 1, "暑期“三下乡”社会实践", "省级", "", "实践实习学分", "2"),
    ("实践实习", "社会实践", 2, "暑期“三下乡”社会实践", "校级", "", "实践实习学分", "1"),
    ("志愿公益", "志愿服务", 1, "参加志愿服务（每小时）", None, "", "志愿者工时", "1"),
    ("志愿公益", "志愿公益", 2, "无偿献血", None, "", "志愿者工时", "4"),
    ("创新创业", "学科竞赛", 1, "学科竞赛获奖", "国家级", "一等奖", "创新创业学分", "8"),
    ("创新创业", "学科竞赛", 2, "学科竞赛获奖", "省级", "一等奖", "创新创业学分", "5"),
    ("创新创业", "学科竞赛", 3, "学科竞赛获奖", "省级", "二等奖", "创新创业学分", "4"),
    ("创新创业", "创新创业项目", 4, "大学生创新创业训练计划立项", "省级", "", "创新创业学分", "3"),
    ("文体活动", "文艺活动", 1, "文艺比赛获奖", "校级", "一等奖", "文体活动学分", "2"),
    ("文体活动", "体育竞赛", 2, "校运动会获奖", "校级", "第一名", "文体活动学分", "2"),
    ("文体活动", "文体活动", 3, "参加校级文体活动", "校级", "", "文体活动学分", "0.5"),
    ("工作履历", "学生干部", 1, "担任校学生会主席团成员满一年", "校级", "", "工作成长积分", "4"),
    ("工作履历", "学生干部", 2, "担任院系学生会部长满一年", "院系级", "", "工作成长积分", "2"),
    ("工作履历", "班级干部", 3, "担任班委满一年", "院系级", "", "工作成长积分", "1"),
    (
        "技能特长",
        "资格证书",
        1,
        "取得全国计算机等级考试二级证书",
        "国家级",
        "",
        "技能特长学分",
        "2",
    ),
    ("技能特长", "等级证书", 2, "通过大学英语四级考试", "国家级", "", "技能特长学分", "2"),
)


# Items the standard counts per unit ("<一级分类>", 项号): points are per hour, day …
UNITS: dict[tuple[str, int], str] = {("志愿公益", 1): CreditStandardItem.Unit.HOUR}


@transaction.atomic
def demo_seed_credit_settings() -> None:
    """Create (or leave as is) the demo settings mirror and standard items; idempotent."""
    subs: dict[tuple[str, str], ActivitySubcategory] = {}
    for order, (cat_name, sub_names) in enumerate(CATEGORIES.items()):
        category, _created = ActivityCategory.objects.get_or_create(
            name=cat_name, defaults={"order": order}
        )
        for sub_order, sub_name in enumerate(sub_names):
            subs[(cat_name, sub_name)], _created = ActivitySubcategory.objects.get_or_create(
                category=category, name=sub_name, defaults={"order": sub_order}
            )
    levels = {
        name: ActivityLevel.objects.get_or_create(name=name, defaults={"order": i})[0]
        for i, name in enumerate(LEVELS)
    }
    types = {
        name: CreditType.objects.get_or_create(name=name, defaults={"order": i})[0]
        for i, name in enumerate(CREDIT_TYPES)
    }
    for cat, sub, number, name, level, award, credit_type, points in ITEMS:
        CreditStandardItem.objects.update_or_create(
            subcategory=subs[(cat, sub)],
            number=number,
            name=name,
            level=levels[level] if level else None,
            award=award,
            defaults={
                "credit_type": types[credit_type],
                "points": Decimal(points),
                "unit": UNITS.get((cat, number), CreditStandardItem.Unit.ITEM),
            },
        )
