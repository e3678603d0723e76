from __future__ import annotations

from django.contrib import admin

from bulu.workflow.admin import SubmittedOnlyAdmin
from cadre.models import CadreEntry, CadrePosition, CadreRequest


@admin.register(CadrePosition)
class CadrePositionAdmin(admin.ModelAdmin[CadrePosition]):
    """Center staff keep the list of positions and what each is worth."""

    list_display = ["name", "unit_kind", "standard_item", "order", "is_active"]
    list_editable = ["order", "is_active"]
    list_filter = ["unit_kind", "is_active"]
    search_fields = ["name"]
    list_select_related = ["standard_item__subcategory__category", "standard_item__credit_type"]
    autocomplete_fields = ["standard_item"]


class CadreEntryInline(admin.TabularInline[CadreEntry, CadreRequest]):
    model = CadreEntry
    extra = 0
    can_delete = False
    fields = ("student_no", "name", "position", "term_start", "term_end", "flags")
    readonly_fields = fields

    def has_add_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(CadreRequest)
class CadreRequestAdmin(SubmittedOnlyAdmin):
    list_display = ["pk", "title", "mode", "applicant", "applicant_org", "state", "submitted_at"]
    list_filter = ["state", "mode", "college"]
    search_fields = ["title", "applicant__username", "applicant__name"]
    list_select_related = ["applicant", "applicant_org"]
    inlines = [CadreEntryInline]
