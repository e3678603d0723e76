from __future__ import annotations

from django.contrib import admin

from bulu.workflow.admin import SubmittedOnlyAdmin
from personal.models import PersonalItem, PersonalRequest


class PersonalItemInline(admin.StackedInline[PersonalItem, PersonalRequest]):
    model = PersonalItem
    extra = 0
    can_delete = False
    readonly_fields = [f.name for f in PersonalItem._meta.fields if f.name != "id"]


@admin.register(PersonalRequest)
class PersonalRequestAdmin(SubmittedOnlyAdmin):
    list_display = ["pk", "title", "applicant", "applicant_org", "state", "submitted_at"]
    list_filter = ["state", "college"]
    search_fields = ["title", "applicant__username", "applicant__name"]
    list_select_related = ["applicant", "applicant_org"]
    inlines = [PersonalItemInline]
