from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cadre.positions import PositionsImportError, cadre_positions_import


class Command(BaseCommand):
    help = "导入学生干部职务设置（工作表“学生干部职务”：单位类型 职务 活动一级分类 项号）"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            with Path(options["file"]).open("rb") as fileobj:
                result = cadre_positions_import(fileobj=fileobj)
        except PositionsImportError as exc:
            for problem in exc.problems:
                self.stderr.write(str(problem))
            raise CommandError(exc.message) from exc
        except OSError as exc:
            raise CommandError(f"无法打开文件：{exc}") from exc
        self.stdout.write(
            f"新增 {result.created} 个职务，更新 {result.updated} 个，不变 {result.unchanged} 个。"
        )
