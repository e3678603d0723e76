"""Delete stored files that no row points to (after a rollback, or a worker killed mid-way)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from bulu.files import orphan_files_purge


class Command(BaseCommand):
    help = "Delete stored files without a row, older than BULU_ORPHAN_FILE_GRACE_HOURS."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="list, delete nothing")
        parser.add_argument(
            "--grace-hours",
            type=float,
            default=None,
            help="keep files younger than this (default: BULU_ORPHAN_FILE_GRACE_HOURS)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        hours = options["grace_hours"]
        if hours is None:
            hours = settings.BULU_ORPHAN_FILE_GRACE_HOURS
        if hours < 1:
            # A younger file may belong to a transaction that has not committed yet.
            self.stderr.write("宽限时间至少 1 小时：更新的文件可能属于尚未提交的操作。")
            raise SystemExit(2)
        report = orphan_files_purge(grace=timedelta(hours=hours), dry_run=options["dry_run"])
        for name in report.deleted:
            self.stdout.write(name)
        verb = "将删除" if options["dry_run"] else "已删除"
        self.stdout.write(
            f"检查 {report.checked} 个文件：{verb} {len(report.deleted)} 个无记录的文件，"
            f"{report.young} 个无记录但在宽限期内的文件保留。"
        )
