"""manage.py import_settings FILE.xlsx — load the 到梦空间 settings mirror (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from imports.settings_import import SettingsImportError, credit_settings_import


class Command(BaseCommand):
    help = (
        "从 xlsx 导入活动分类、学分类型和活动等级（工作表：活动分类、学分类型、活动等级）；"
        "学分类型表可加一列“单条上限”（一条记录最多发放的学分值，留空表示不限）。"
        "可选工作表“认定标准”（活动一级分类、活动二级分类、项号、项目名称、学分类型、分值，"
        "可加活动等级、奖项、单位：每项、每次、每小时、每天、每学期、每学年、每篇；留空为每项）。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="xlsx 文件路径")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            with open(options["file"], "rb") as fileobj:
                result = credit_settings_import(fileobj=fileobj)
        except OSError as exc:
            raise CommandError(_("无法打开文件：%(error)s") % {"error": exc}) from exc
        except SettingsImportError as exc:
            for problem in exc.problems:
                self.stderr.write(str(problem))
            raise CommandError(exc.message) from exc
        for kind in sorted({*result.created, *result.updated, *result.unchanged}):
            self.stdout.write(
                _("%(kind)s：新增 %(created)s，更新 %(updated)s，未变 %(unchanged)s")
                % {
                    "kind": kind,
                    "created": result.created.get(kind, 0),
                    "updated": result.updated.get(kind, 0),
                    "unchanged": result.unchanged.get(kind, 0),
                }
            )
        self.stdout.write(self.style.SUCCESS(_("积分设置导入完成。")))
