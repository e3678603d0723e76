from __future__ import annotations

from django.contrib import admin

from exports.models import ExportBatch, ExportFile


class ExportFileInline(admin.TabularInline[ExportFile, ExportBatch]):
    model = ExportFile
    extra = 0
    can_delete = False
    fields = ("index", "name", "rows", "size", "sha256")
    readonly_fields = fields


@admin.register(ExportBatch)
class ExportBatchAdmin(admin.ModelAdmin[ExportBatch]):
    """Read-only: batches change only through the export desk (state machine and logs)."""

    list_display = ("pk", "state", "rows", "requests", "created_by", "created_at", "download_count")
    list_filter = ("state",)
    inlines = [ExportFileInline]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False
