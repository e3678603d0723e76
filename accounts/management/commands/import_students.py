"""manage.py import_students FILE.xlsx [--create-colleges] [--dry-run]."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from accounts.registry import RegistryResult, registry_import, registry_preview
from bulu.exceptions import ApplicationError

EXIT_ROW_ERRORS = 1
EXIT_UNREADABLE = 2


class Command(BaseCommand):
    help = (
        "导入学生名册（xlsx）：第 1 行为表头，至少包含 学号 姓名 学院 班级，"
        "可选 性别 专业 年级 联系电话。按学号新增或更新学生及其班级；整个文件在一个事务中导入，"
        "有任何错误则不做任何修改并逐行列出错误（退出码 1），文件无法读取时退出码 2。"
        "新导入的学生账号没有可用密码，需由管理员设置初始密码。"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", help="学生名册 xlsx 文件路径")
        parser.add_argument(
            "--create-colleges",
            action="store_true",
            help="允许新建学院（默认：学院必须已存在）",
        )
        parser.add_argument("--dry-run", action="store_true", help="只检查并预览，不写入数据库")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(
                _("文件不存在：%(path)s") % {"path": path}, returncode=EXIT_UNREADABLE
            )
        service = registry_preview if options["dry_run"] else registry_import
        try:
            with path.open("rb") as fileobj:
                result = service(fileobj=fileobj, create_colleges=options["create_colleges"])
        except ApplicationError as exc:
            failed = exc.extra.get("result")
            if isinstance(failed, RegistryResult):
                self._fail(failed)
            raise CommandError(exc.message, returncode=EXIT_UNREADABLE) from exc
        if not result.ok:  # only a dry run gets here with errors
            self._fail(result)
        prefix = _("检查通过（未写入）：") if options["dry_run"] else _("导入完成：")
        self.stdout.write(self.style.SUCCESS(prefix + result.summary()))
        if result.created and not options["dry_run"]:
            self.stdout.write(_("新导入的学生账号没有可用密码，需由管理员设置初始密码。"))

    def _fail(self, result: RegistryResult) -> None:
        for error in result.errors:
            self.stderr.write(str(error))
        raise CommandError(
            _("名册有 %(n)s 处错误，未导入任何数据。") % {"n": len(result.errors)},
            returncode=EXIT_ROW_ERRORS,
        )
