from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bulu.exceptions import ApplicationError
from bulu.workflow.calendar import school_years_import


class Command(BaseCommand):
    help = "导入校历（第一个工作表：学年 开学日期 教学周结束 学年结束），按学年新增或更新"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            with Path(options["file"]).open("rb") as fileobj:
                result = school_years_import(fileobj=fileobj)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        except OSError as exc:
            raise CommandError(f"无法打开文件：{exc}") from exc
        self.stdout.write(f"新增 {result.created} 个学年，更新 {result.updated} 个。")
