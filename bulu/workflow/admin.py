"""Admin: notices are editable; requests and the approval log are read-only here.

State changes go through the services (and so through the state machine and the log), never
through the admin's forms.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from bulu.workflow.models import (
    ApprovalRecord,
    BackfillRequest,
    Notification,
    RouteStep,
    SchoolYear,
    Window,
)


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SchoolYear)
class SchoolYearAdmin(admin.ModelAdmin[SchoolYear]):
    list_display = ["label", "starts_on", "teaching_ends_on", "ends_on"]
    search_fields = ["label"]


@admin.register(Window)
class WindowAdmin(admin.ModelAdmin[Window]):
    list_display = [
        "title",
        "kind",
        "school_year",
        "opens_at",
        "closes_at",
        "off_season_reason",
        "grace_days",
        "is_published",
    ]
    list_filter = ["kind", "is_published", "school_year"]
    search_fields = ["title"]


class RouteStepInline(admin.TabularInline[RouteStep, BackfillRequest]):
    model = RouteStep
    extra = 0
    can_delete = False
    readonly_fields = ["index", "role", "organization", "label"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ApprovalRecordInline(admin.TabularInline[ApprovalRecord, BackfillRequest]):
    model = ApprovalRecord
    extra = 0
    can_delete = False
    fields = ("created_at", "decision", "step_label", "actor", "opinion", "from_state", "to_state")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class SubmittedOnlyAdmin(ReadOnlyAdmin):
    """A draft is its author's alone until first submitted, in the admin as on the site."""

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return (
            super()
            .get_queryset(request)
            .filter(Q(submitted_at__isnull=False) | Q(applicant_id=request.user.pk))
        )


@admin.register(BackfillRequest)
class BackfillRequestAdmin(SubmittedOnlyAdmin):
    list_display = ["pk", "kind", "title", "applicant", "college", "state", "submitted_at"]
    list_filter = ["kind", "state", "college"]
    search_fields = ["title", "applicant__username", "applicant__name"]
    list_select_related = ["applicant", "college"]
    inlines = [RouteStepInline, ApprovalRecordInline]


@admin.register(ApprovalRecord)
class ApprovalRecordAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "request", "decision", "step_label", "actor"]
    list_filter = ["decision", "step_role"]
    search_fields = ["request__title", "actor__username", "actor__name"]
    list_select_related = ["request", "actor"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApprovalRecord]:
        # A draft abandoned before submission leaves one record: it stays private too.
        return (
            super()
            .get_queryset(request)
            .filter(
                Q(request__submitted_at__isnull=False) | Q(request__applicant_id=request.user.pk)
            )
        )


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "recipient", "text", "read_at"]
    search_fields = ["recipient__username", "text"]
    list_select_related = ["recipient"]
