"""The demo has one finished export batch and leaves other approved credits to export."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command

from bulu.workflow.models import BackfillRequest, Kind, Notification, State
from exports.models import ExportBatch
from exports.selectors import ExportFilters, export_pool


def test_the_demo_confirms_one_batch_of_cadre_credits_and_leaves_the_rest(db: None) -> None:
    out = StringIO()
    call_command("seed_demo", "--force", stdout=out)
    assert "到梦空间导出批次示例：导出批次 #" in out.getvalue()
    batch = ExportBatch.objects.get()
    assert batch.state == ExportBatch.State.IMPORTED and batch.rows > 0
    moved = BackfillRequest.objects.filter(
        pk__in=batch.items.values_list("record__request", flat=True)
    )
    assert moved.exists()
    assert {r.state for r in moved} == {State.IMPORTED}
    assert {r.kind for r in moved} == {Kind.CADRE}
    told = Notification.objects.filter(request__in=moved, text__contains="已补录到到梦空间")
    assert told.count() == moved.count()
    assert export_pool(filters=ExportFilters()).exists()  # personal and collective remain
    call_command("seed_demo", "--force", stdout=StringIO())
    assert ExportBatch.objects.count() == 1
