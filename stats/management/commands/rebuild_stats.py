from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from bulu.workflow.tallies import tallies_rebuild
from stats.tallies import stats_rebuild


class Command(BaseCommand):
    help = "重新统计申请、学分和审核用时的计数（批量导入数据后使用；平时由系统自动维护）。"

    def handle(self, *args: Any, **options: Any) -> None:
        requests = tallies_rebuild()
        credits, waits = stats_rebuild()
        self.stdout.write(
            f"已重新统计：申请 {requests} 组，学分 {credits} 组，审核用时 {waits} 组计数。"
        )
