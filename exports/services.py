"""Writes of the export desk: create a batch, download it, confirm its import, cancel it.

Each follows the house order (guard → one transaction → approval records on the requests'
timelines → on-commit notifications) and moves requests only through the state machine, in bulk
(`bulu.workflow.services.requests_move_bulk`).
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import OperationalError, connection, transaction
from django.db.models import Count, Exists, OuterRef, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.selectors import user_is_center
from bulu import limits
from bulu.exceptions import AccessDenied, ApplicationError
from bulu.files import atomic_with_files, file_store
from bulu.workflow.models import BackfillRequest, Decision, State
from bulu.workflow.services import requests_move_bulk
from credits.models import CreditRecord
from exports.models import ExportBatch, ExportDownload, ExportFile, ExportItem
from exports.selectors import ExportFilters, export_pool, export_pool_held_back
from exports.workbook import SheetWriter, record_row

logger = logging.getLogger(__name__)

SHEET_FIELDS = (
    "record__student_no",
    "record__student_name",
    "record__start_date",
    "record__end_date",
    "record__content",
    "record__category",
    "record__subcategory",
    "record__level",
    "record__award",
    "record__credit_type",
    "record__value",
)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# Key of the PostgreSQL advisory lock that serializes the desk's writes ("bulu" in ASCII).
DESK_LOCK = 0x62756C75


def _desk_lock() -> None:
    """Serialize creating, confirming and cancelling batches (call first in their transaction).

    Each write decides which requests move ("are all of its records in live / imported batches
    now?") from what it reads; two writes touching the same request at once would each see the
    other's items uncommitted and leave the request stuck in the wrong state. These writes are a
    few a day: one at a time costs nothing. SQLite already runs one writer at a time.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [DESK_LOCK])


def _require_center(actor: User) -> None:
    if not user_is_center(actor):
        raise AccessDenied(_("只有二课中心工作人员可以导出到梦空间导入表。"))


def _lock_batch(batch: ExportBatch) -> ExportBatch:
    return ExportBatch.objects.select_for_update().get(pk=batch.pk)


def _batch_requests(batch: ExportBatch) -> QuerySet[BackfillRequest]:
    return BackfillRequest.objects.filter(
        pk__in=ExportItem.objects.filter(batch=batch).values("record__request_id")
    )


def _records_outside(items: QuerySet[ExportItem]) -> Exists:
    """The request (outer row) has a 名单导入 record with no item in `items`' sense."""
    return Exists(
        CreditRecord.objects.filter(
            request_id=OuterRef("pk"), delivery=CreditRecord.Delivery.BATCH
        ).exclude(Exists(items.filter(record_id=OuterRef("pk"))))
    )


# --- creating a batch ----------------------------------------------------------------------


def _claim(batch: ExportBatch, filters: ExportFilters, held: list[int]) -> int:
    """Put every pool record into `batch`; records another batch holds are skipped.

    The database decides: the partial unique index on active items makes a simultaneous claim
    of the same record wait for the other transaction and then skip it (ON CONFLICT DO
    NOTHING). Records are claimed in id order so two claims never wait on each other in a
    circle. `held` are records held back as unconfirmed duplicates (第五条).
    """
    pool = export_pool(filters=filters)
    if held:
        pool = pool.exclude(pk__in=held)
    pool_sql, params = pool.order_by("pk").values_list("pk").query.sql_with_params()
    table = ExportItem._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (batch_id, active, record_id)"  # noqa: S608 - names are ours
            f" SELECT %s, %s, pool.* FROM ({pool_sql}) pool WHERE 1 = 1"
            " ON CONFLICT (record_id) WHERE active DO NOTHING",
            [batch.pk, True, *params],
        )
        return int(cursor.rowcount)


def _sheet_rows(batch: ExportBatch) -> Iterator[tuple[Any, ...]]:
    """The batch's records in sheet order, streamed (a server-side cursor on PostgreSQL)."""
    return (
        ExportItem.objects.filter(batch=batch)
        .order_by("record_id")
        .values_list(*SHEET_FIELDS)
        .iterator(chunk_size=2000)
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_display_name(batch: ExportBatch, index: int, count: int) -> str:
    suffix = f"-{index}" if count > 1 else ""
    return f"成长记录补充模板-导出批次{batch.pk}{suffix}.xlsx"


def _write_files(batch: ExportBatch, limit: int) -> list[ExportFile]:
    """Write the workbooks once (split every `limit` rows) and store them with their hashes."""
    with tempfile.TemporaryDirectory(prefix="bulu-export-") as tmp:
        paths: list[tuple[Path, int]] = []
        writer: SheetWriter | None = None
        left = batch.rows
        try:
            for values in _sheet_rows(batch):
                if writer is None or writer.rows >= limit:
                    if writer is not None:
                        writer.close()
                        paths.append((writer.path, writer.rows))
                        left -= writer.rows
                    writer = SheetWriter(
                        Path(tmp) / f"{len(paths) + 1}.xlsx",
                        rows=min(limit, left),
                        created=timezone.localtime(batch.created_at).replace(tzinfo=None),
                    )
                writer.add(record_row(values))
        except BaseException:
            if writer is not None:
                writer.close(check=False)
            raise
        if writer is not None:
            writer.close()
            paths.append((writer.path, writer.rows))
        files: list[ExportFile] = []
        for index, (path, rows) in enumerate(paths, start=1):
            f = ExportFile(
                batch=batch,
                index=index,
                name=file_display_name(batch, index, len(paths)),
                rows=rows,
                size=path.stat().st_size,
                sha256=_sha256(path),
            )
            with path.open("rb") as fh:
                file_store(f.file, f"batch-{batch.pk}-{index:03d}.xlsx", File(fh))
            files.append(f)
        ExportFile.objects.bulk_create(files)
        if len(files) > 1:
            bundle = Path(tmp) / "bundle.zip"
            # Stored, not deflated: xlsx files are zips already. A fixed timestamp per batch.
            stamp = timezone.localtime(batch.created_at).timetuple()[:6]
            with zipfile.ZipFile(bundle, "w", zipfile.ZIP_STORED) as zf:
                for f, (path, _rows) in zip(files, paths, strict=True):
                    info = zipfile.ZipInfo(f.name, date_time=stamp)
                    with path.open("rb") as src, zf.open(info, "w") as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)
            with bundle.open("rb") as fh:
                file_store(batch.bundle, f"batch-{batch.pk}.zip", File(fh))
            batch.bundle_sha256 = _sha256(bundle)
    return files


def export_batch_create(
    *, actor: User, filters: ExportFilters, rows_per_file: int | None = None
) -> ExportBatch:
    """A batch of every 名单导入 record of the selection that is in no live batch yet.

    Requests whose 名单导入 records are then all in batches move to 已导出; the others (part of
    their records left out by the filters) stay 已通过 with a line on their timeline.
    """
    _require_center(actor)
    limit = rows_per_file or settings.BULU_EXPORT_ROWS_PER_FILE
    if limit < 1:
        raise ApplicationError(_("每个文件的行数上限必须大于 0。"))
    try:
        # A rollback (a refusal below, a deadlock) takes the written workbooks along.
        with atomic_with_files():
            _desk_lock()
            batch = ExportBatch.objects.create(
                created_by=actor, filters=filters.describe(), rows_per_file=limit
            )
            held = list(export_pool_held_back(filters=filters).values_list("pk", flat=True))
            n = _claim(batch, filters, held)
            if not n and held:
                raise ApplicationError(
                    _(
                        "当前筛选条件下的 %(n)s 条记录都可能重复、未经二课中心核实，"
                        "暂不导出，未生成批次。"
                    )
                    % {"n": len(held)}
                )
            if not n:
                raise ApplicationError(
                    _("当前筛选条件下没有待导出的记录（可能刚刚已被他人导出），未生成批次。")
                )
            context = {"export_batch": batch.pk}
            touched = _batch_requests(batch)
            live = ExportItem.objects.filter(active=True)
            moved = requests_move_bulk(
                requests=touched.filter(state=State.APPROVED).exclude(_records_outside(live)),
                transition="mark_exported",
                actor=actor,
                decision=Decision.EXPORT,
                opinion=_("已导出到梦空间导入表（导出批次 #%(n)s）。") % {"n": batch.pk},
                context=context,
            )
            partial = requests_move_bulk(
                requests=touched.filter(state=State.APPROVED),
                transition=None,
                actor=actor,
                decision=Decision.EXPORT,
                opinion=_("部分成长记录已导出（导出批次 #%(n)s），其余记录仍待导出。")
                % {"n": batch.pk},
                context=context,
            )
            totals = (
                ExportItem.objects.filter(batch=batch)
                .values("record__credit_type")
                .annotate(n=Count("pk"), total=Sum("record__value"))
                .order_by("record__credit_type")
            )
            batch.totals = [[t["record__credit_type"], t["n"], _number(t["total"])] for t in totals]
            batch.rows = n
            batch.requests = len(moved) + len(partial)
            if held:
                batch.filters = {**batch.filters, _("暂不导出（可能重复）"): str(len(held))}
            _write_files(batch, limit)
            batch.save()
    except OperationalError as exc:  # a deadlock or serialization failure: nothing was written
        logger.warning("export batch creation failed: %s", exc)
        raise ApplicationError(_("导出时与其他操作冲突，未生成批次，请重试。")) from exc
    return batch


def _number(value: Decimal | None) -> str:
    """A sum as people write it: 1.5, 12, 0 (no trailing zeros, no exponent)."""
    text = format(Decimal(value or 0).normalize(), "f")
    return text if text != "-0" else "0"


# --- after creation --------------------------------------------------------------------------


def export_batch_download(
    *, batch: ExportBatch, actor: User, file: ExportFile | None = None
) -> tuple[File[bytes], str, str]:
    """Open the batch's workbook (or one file of it, or the zip) and note who downloaded it.

    Returns (opened file, download name, content type); the bytes are those stored at creation.
    """
    _require_center(actor)
    with transaction.atomic():
        locked = _lock_batch(batch)
        if locked.state == ExportBatch.State.CANCELLED:
            raise ApplicationError(_("该批次已撤销，不能再下载；请重新导出。"))
        files = list(locked.files.all())
        if file is not None and file.batch_id != locked.pk:
            raise ApplicationError(_("文件不属于该批次。"))
        if file is None and len(files) == 1:
            file = files[0]
        if not (file.file if file is not None else locked.bundle):
            # Deleted with the personal data of a student it holds (privacy, retention).
            raise ApplicationError(
                _(
                    "该批次的导入表已按个人信息保留期限删除，不再提供下载；批次的记录和合计仍可查看。"
                )
            )
        now = timezone.now()
        ExportDownload.objects.create(batch=locked, file=file, user=actor)
        locked.download_count += 1
        if locked.first_downloaded_at is None:
            locked.first_downloaded_at, locked.first_downloaded_by = now, actor
        if locked.state == ExportBatch.State.CREATED:
            locked.state = ExportBatch.State.DOWNLOADED
        locked.save()
    if file is not None:
        return file.file.open("rb"), file.name, XLSX
    return (
        locked.bundle.open("rb"),
        f"成长记录补充模板-导出批次{locked.pk}（{len(files)}个文件）.zip",
        "application/zip",
    )


def export_batch_confirm(*, batch: ExportBatch, actor: User) -> ExportBatch:
    """The staff member uploaded the batch to 到梦空间: its requests that are now fully imported
    move to 已导入到梦空间 and their applicants are told 已补录到到梦空间."""
    _require_center(actor)
    with transaction.atomic():
        _desk_lock()
        locked = _lock_batch(batch)
        if locked.state == ExportBatch.State.CREATED:
            raise ApplicationError(_("该批次尚未下载，请先下载并导入到梦空间后再确认。"))
        if locked.state != ExportBatch.State.DOWNLOADED:
            raise ApplicationError(
                _("该批次当前状态为“%(state)s”，不能确认导入。")
                % {"state": locked.get_state_display()}
            )
        locked.state = ExportBatch.State.IMPORTED
        locked.confirmed_at, locked.confirmed_by = timezone.now(), actor
        locked.save()
        context = {"export_batch": locked.pk}
        touched = _batch_requests(locked)
        imported = ExportItem.objects.filter(active=True, batch__state=ExportBatch.State.IMPORTED)
        requests_move_bulk(
            requests=touched.filter(state=State.EXPORTED).exclude(_records_outside(imported)),
            transition="confirm_imported",
            actor=actor,
            decision=Decision.IMPORT,
            opinion=_("已补录到到梦空间（导出批次 #%(n)s）。") % {"n": locked.pk},
            context=context,
            notify_text=_("你的申请“%(title)s”已补录到到梦空间。"),
        )
        requests_move_bulk(
            requests=touched.exclude(state=State.IMPORTED),
            transition=None,
            actor=actor,
            decision=Decision.IMPORT,
            opinion=_("部分成长记录已补录到到梦空间（导出批次 #%(n)s）。") % {"n": locked.pk},
            context=context,
        )
    return locked


def export_batch_cancel(*, batch: ExportBatch, actor: User, reason: str = "") -> ExportBatch:
    """Take a batch back (not uploaded, or uploaded wrongly and undone in 到梦空间): its records
    return to the pool and its 已导出 requests go back to 已通过."""
    _require_center(actor)
    reason = (reason or "").strip()
    limits.texts_ensure_fit(ExportBatch, {"cancel_reason": reason})
    with transaction.atomic():
        _desk_lock()
        locked = _lock_batch(batch)
        if not locked.is_live:
            raise ApplicationError(
                _("该批次当前状态为“%(state)s”，不能撤销。") % {"state": locked.get_state_display()}
            )
        locked.state = ExportBatch.State.CANCELLED
        locked.cancelled_at, locked.cancelled_by = timezone.now(), actor
        locked.cancel_reason = reason
        locked.save()
        ExportItem.objects.filter(batch=locked).update(active=False)
        touched = _batch_requests(locked)
        opinion = _("导出批次 #%(n)s 已撤销，成长记录回到待导出。") % {"n": locked.pk}
        if reason:
            opinion += _("原因：%(reason)s") % {"reason": reason}
        context = {"export_batch": locked.pk}
        # Those still 已通过 (part of their records was in the batch) first: the moved ones
        # below become 已通过 too and must not be logged twice.
        requests_move_bulk(
            requests=touched.filter(state=State.APPROVED),
            transition=None,
            actor=actor,
            decision=Decision.EXPORT_CANCEL,
            opinion=opinion,
            context=context,
        )
        requests_move_bulk(
            requests=touched.filter(state=State.EXPORTED),
            transition="unmark_exported",
            actor=actor,
            decision=Decision.EXPORT_CANCEL,
            opinion=opinion,
            context=context,
        )
    return locked
