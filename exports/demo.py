"""Demo export batch: the approved cadre credits exported, downloaded and confirmed imported, so
the demo shows a finished batch, students see 已补录到到梦空间, and the other approved requests
stay in the pool for a visitor to export. Idempotent: nothing is done once a batch exists."""

from __future__ import annotations

from accounts.models import Membership, User
from bulu.workflow.models import Kind
from exports.models import ExportBatch
from exports.selectors import ExportFilters, export_pool
from exports.services import export_batch_confirm, export_batch_create, export_batch_download


def demo_seed_export_batch() -> str:
    if ExportBatch.objects.exists():
        return "已有导出批次，未改动"
    staff = (
        User.objects.filter(memberships__role=Membership.Role.CENTER_STAFF)
        .order_by("username")
        .first()
    )
    filters = ExportFilters(kind=Kind.CADRE)
    if staff is None or not export_pool(filters=filters).exists():
        return "没有可导出的学生干部积分记录，未生成批次"
    batch = export_batch_create(actor=staff, filters=filters)
    handle, _name, _type = export_batch_download(batch=batch, actor=staff)
    handle.close()
    export_batch_confirm(batch=batch, actor=staff)
    return f"导出批次 #{batch.pk}（{batch.rows} 条学生干部积分记录）已下载并确认导入"
