from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from bulu.workflow.tallies import tallies_rebuild


class Command(BaseCommand):
    help = "重新统计申请总览的计数（批量导入数据后使用；平时由系统自动维护）。"

    def handle(self, *args: Any, **options: Any) -> None:
        rows = tallies_rebuild()
        self.stdout.write(f"已重新统计：{rows} 组计数。")
