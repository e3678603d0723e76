from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership, Organization, RoleChange, User


class MembershipInline(admin.TabularInline[Membership, User]):
    model = Membership
    extra = 0
    autocomplete_fields = ["organization"]
    readonly_fields = ["organization", "role", "created_at"]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # Roles change through the proposals page, which asks for a second person and logs.
        return False


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "name", "phone", "is_staff", "is_active"]
    search_fields = ["username", "name", "phone"]
    ordering = ["username"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("个人信息"), {"fields": ("name", "phone", "gender", "major", "grade", "email")}),
        (
            _("权限"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("重要日期"), {"fields": ("last_login", "date_joined", "anonymized_at")}),
    )
    # Set by privacy.services.students_anonymize only.
    readonly_fields = ["anonymized_at"]
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "name", "password1", "password2")}),
    )
    inlines = [MembershipInline]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin[Organization]):
    """No guardian permission editor here: object permissions change only with roles."""

    list_display = ["name", "kind", "parent", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name"]
    autocomplete_fields = ["parent"]


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    """Shown, never written here: roles change through the proposals page (two people)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    """Read-only for everyone, superusers too: a role granted here would skip the second person
    and the log (see accounts.services.role_change_propose and the page 角色管理)."""

    list_display = ["user", "role", "organization", "created_at"]
    list_filter = ["role", "organization__kind"]
    search_fields = ["user__username", "user__name", "organization__name"]


@admin.register(RoleChange)
class RoleChangeAdmin(ReadOnlyAdmin):
    list_display = [
        "proposed_at",
        "action",
        "user",
        "role",
        "organization",
        "status",
        "proposed_by",
        "decided_by",
        "decided_at",
        "source",
    ]
    list_filter = ["status", "action", "role", "source"]
    search_fields = ["user__username", "user__name", "organization__name"]
