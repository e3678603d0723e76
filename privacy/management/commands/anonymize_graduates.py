from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from privacy.selectors import graduation_cutoff
from privacy.services import IN_PROGRESS, NOT_IMPORTED, RECENT, students_anonymize

POSTPONED = {
    IN_PROGRESS: "名单所在的申请尚未办结（草稿、审核中或退回修改），或本人的申请正在审核",
    NOT_IMPORTED: "有学分尚未确认导入到梦空间",
    RECENT: "保留期内仍有使用记录（登录、申请或新的学分），保留期从最后一次使用起算",
}

# Third-party tables whose own names are English.
TABLES = {
    "axes.AccessAttempt": "登录失败计数",
    "axes.AccessFailureLog": "登录失败记录",
    "axes.AccessLog": "登录记录",
    "admin.LogEntry": "管理后台操作记录",
}


class Command(BaseCommand):
    help = (
        "将毕业满 N 年的学生的个人信息匿名化（姓名、学号、联系方式，"
        "及其证明材料、PDF、名单和导出文件），统计数字不变。"
        "默认 N 为 BULU_RETENTION_YEARS_AFTER_GRADUATION；--dry-run 只统计不修改。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="试运行：统计将要处理的数量，不做任何修改。"
        )
        parser.add_argument(
            "--years",
            type=int,
            default=None,
            help="毕业后保留的年数（默认取设置 BULU_RETENTION_YEARS_AFTER_GRADUATION）。",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        years = options["years"]
        if years is None:
            years = settings.BULU_RETENTION_YEARS_AFTER_GRADUATION
        if years < 0:
            raise CommandError("--years 不能为负数。")
        cutoff = graduation_cutoff(today=timezone.localdate(), years=years)
        dry_run = bool(options["dry_run"])
        summary = students_anonymize(graduated_before=cutoff, dry_run=dry_run)
        out = self.stdout.write
        if dry_run:
            out("试运行：以下为将要处理的数量，未做任何修改。")
        out(
            f"毕业满 {years} 年（{cutoff.isoformat()} 之前毕业，"
            f"学制 {settings.BULU_STUDY_YEARS} 年）且尚未匿名化的学生：{summary.candidates} 人"
        )
        out(f"{'将匿名化' if dry_run else '已匿名化'}：{summary.anonymized} 人")
        for reason, label in POSTPONED.items():
            if summary.postponed[reason]:
                out(f"暂缓（{label}）：{summary.postponed[reason]} 人")
        if summary.without_grade:
            out(f"年级未填写或无法识别、无法判断毕业时间（未处理）：{summary.without_grade} 人")
        for label, n in sorted(summary.rows.items()):
            if n:
                name = TABLES.get(label) or apps.get_model(label)._meta.verbose_name
                out(f"  {name}：{n} 条")
        out(f"{'将删除' if dry_run else '已删除'}文件：{summary.files} 个")
        if summary.log_mentions:
            out(
                f"审批记录中有 {summary.log_mentions} 条意见提到了这些学生的学号："
                "审批记录只能追加、不能修改，予以保留（见 docs/privacy.md）。"
            )
