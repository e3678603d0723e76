from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from credits.models import CreditRecord


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    """Records made by services only: visible here, never edited by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CreditRecord)
class CreditRecordAdmin(ReadOnlyAdmin):
    list_display = [
        "student_no",
        "student_name",
        "content",
        "start_date",
        "credit_type",
        "value",
        "request",
        "delivery",
    ]
    list_filter = ["delivery", "credit_type", "category"]
    search_fields = ["student_no", "student_name", "content"]
    list_select_related = ["request"]
    date_hierarchy = "start_date"
