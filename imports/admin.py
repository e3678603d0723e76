from __future__ import annotations

from django.contrib import admin

from credits.admin import ReadOnlyAdmin
from imports.models import (
    ActivityCategory,
    ActivityLevel,
    ActivitySubcategory,
    CreditStandardItem,
    CreditType,
    RosterUpload,
)


class ActivitySubcategoryInline(admin.TabularInline[ActivitySubcategory, ActivityCategory]):
    model = ActivitySubcategory
    extra = 0
    fields = ["name", "order", "is_active"]


@admin.register(ActivityCategory)
class ActivityCategoryAdmin(admin.ModelAdmin[ActivityCategory]):
    list_display = ["name", "order", "is_active"]
    list_editable = ["order", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name"]
    inlines = [ActivitySubcategoryInline]


@admin.register(ActivitySubcategory)
class ActivitySubcategoryAdmin(admin.ModelAdmin[ActivitySubcategory]):
    list_display = ["name", "category", "order", "is_active"]
    list_filter = ["category", "is_active"]
    search_fields = ["name", "category__name"]
    list_select_related = ["category"]


@admin.register(ActivityLevel)
class ActivityLevelAdmin(admin.ModelAdmin[ActivityLevel]):
    list_display = ["name", "order", "is_active"]
    list_editable = ["order", "is_active"]
    search_fields = ["name"]


@admin.register(CreditType)
class CreditTypeAdmin(admin.ModelAdmin[CreditType]):
    list_display = ["name", "max_value", "order", "is_active"]
    list_editable = ["max_value", "order", "is_active"]
    search_fields = ["name"]


@admin.register(CreditStandardItem)
class CreditStandardItemAdmin(admin.ModelAdmin[CreditStandardItem]):
    list_display = [
        "number",
        "name",
        "subcategory",
        "level",
        "award",
        "points",
        "unit",
        "credit_type",
    ]
    list_editable = ["unit"]
    list_filter = ["subcategory__category", "level", "unit", "credit_type", "is_active"]
    search_fields = ["name", "award", "subcategory__name", "subcategory__category__name"]
    list_select_related = ["subcategory__category", "level", "credit_type"]
    autocomplete_fields = ["subcategory"]


@admin.register(RosterUpload)
class RosterUploadAdmin(ReadOnlyAdmin):
    list_display = [
        "pk",
        "original_name",
        "uploaded_by",
        "status",
        "data_rows",
        "error_count",
        "warning_count",
        "created_at",
    ]
    list_filter = ["status"]
    search_fields = ["original_name", "sha256", "uploaded_by__username", "uploaded_by__name"]
    list_select_related = ["uploaded_by"]
    exclude = ["result"]
