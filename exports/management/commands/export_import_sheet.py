"""Create an export batch of all matching records and write its workbook (a zip when split)."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User
from bulu.exceptions import ApplicationError
from bulu.workflow.models import Kind
from exports.selectors import ExportFilters
from exports.services import export_batch_create, export_batch_download


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"not a date (YYYY-MM-DD): {text}") from exc


class Command(BaseCommand):
    help = (
        "Create a 到梦空间 export batch of every approved, not yet exported 名单导入 record that "
        "matches the filters, and write its workbook to --out (a .zip when it is split)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", required=True, help="file to write (.xlsx, or .zip if split)")
        parser.add_argument("--by", required=True, help="username of the center staff member")
        parser.add_argument("--kind", default="", choices=["", *Kind.values], help="补录类型")
        parser.add_argument("--window", type=int, help="补录通知 id")
        parser.add_argument("--college", type=int, help="college (organization) id")
        parser.add_argument("--credit-type", default="", help="学分类型 name")
        parser.add_argument("--approved-from", type=_day, help="approval date from (YYYY-MM-DD)")
        parser.add_argument("--approved-to", type=_day, help="approval date to (YYYY-MM-DD)")
        parser.add_argument("--rows-per-file", type=int, help="override BULU_EXPORT_ROWS_PER_FILE")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            actor = User.objects.get(username=options["by"])
        except User.DoesNotExist as exc:
            raise CommandError(f"no user {options['by']!r}") from exc
        filters = ExportFilters(
            kind=options["kind"],
            window_id=options["window"],
            college_id=options["college"],
            credit_type=options["credit_type"],
            approved_from=options["approved_from"],
            approved_to=options["approved_to"],
        )
        try:
            batch = export_batch_create(
                actor=actor, filters=filters, rows_per_file=options["rows_per_file"]
            )
            opened, name, _content_type = export_batch_download(batch=batch, actor=actor)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        out = Path(options["out"])
        if name.endswith(".zip") and out.suffix.lower() != ".zip":
            out = out.with_suffix(".zip")
        with opened, out.open("wb") as fh:
            shutil.copyfileobj(opened, fh)
        self.stdout.write(
            f"batch #{batch.pk}: {batch.rows} records of {batch.requests} requests, "
            f"{batch.files.count()} file(s) -> {out}"
        )
