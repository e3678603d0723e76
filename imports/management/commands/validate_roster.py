"""manage.py validate_roster FILE [--json] — the web upload's validation, run synchronously.

Exit code 0 when the file is fine, 1 when it has errors, 2 when it cannot be read at all.
With --json, stdout carries exactly one JSON object and nothing else.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from imports.roster import Problem, RosterReport, roster_check
from imports.selectors import roster_lookups_load


class Command(BaseCommand):
    help = "校验一份附件4人员名单（成长记录补充模板）。退出码：0 通过，1 有错误，2 无法读取。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="xlsx 文件路径")
        parser.add_argument(
            "--json",
            action="store_true",
            help="只输出一个 JSON 对象：ok、data_rows、errors、warnings",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            with open(options["file"], "rb") as fileobj:
                report = roster_check(fileobj, lookups=roster_lookups_load())
        except OSError as exc:
            raise CommandError(_("无法打开文件：%(error)s") % {"error": exc}, returncode=2) from exc
        if options["json"]:
            self.stdout.write(json.dumps(report.as_json(), ensure_ascii=False))
        else:
            self._print_human(report)
        code = 0 if report.ok else (1 if report.readable else 2)
        if code:
            self.stdout.flush()
            sys.exit(code)

    def _print_human(self, report: RosterReport) -> None:
        for label, problems in ((_("错误"), report.errors), (_("提醒"), report.warnings)):
            for p in problems:
                self.stdout.write(f"{label} {_where(p)} [{p.code}] {p.message}")
        summary = _("数据 %(rows)s 行，错误 %(errors)s 处，提醒 %(warnings)s 处。") % {
            "rows": report.data_rows,
            "errors": len(report.errors),
            "warnings": len(report.warnings),
        }
        if report.ok:
            self.stdout.write(self.style.SUCCESS(_("校验通过：") + summary))
        else:
            self.stdout.write(self.style.ERROR(_("校验未通过：") + summary))


def _where(problem: Problem) -> str:
    parts = []
    if problem.row is not None:
        parts.append(_("第 %(row)s 行") % {"row": problem.row})
    if problem.column:
        parts.append(_("“%(column)s”列") % {"column": problem.column})
    return "".join(parts) or _("文件")
