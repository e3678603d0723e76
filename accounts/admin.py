from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership, Organization, User
from accounts.roles import ROLE_ORG_KINDS
from accounts.services import role_grant, role_revoke


class MembershipInline(admin.TabularInline[Membership, User]):
    model = Membership
    extra = 0
    autocomplete_fields = ["organization"]
    readonly_fields = ["organization", "role", "created_at"]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # Roles are added through MembershipAdmin so the permission grant runs in the service.
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
        (_("重要日期"), {"fields": ("last_login", "date_joined")}),
    )
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


class MembershipForm(forms.ModelForm[Membership]):
    class Meta:
        model = Membership
        fields = ["user", "organization", "role"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        org, role = data.get("organization"), data.get("role")
        if org is not None and role and org.kind not in ROLE_ORG_KINDS.get(role, ()):
            raise forms.ValidationError(
                _("角色“%(role)s”不能设在“%(org)s”（%(kind)s）上。")
                % {
                    "role": Membership.Role(role).label,
                    "org": org.name,
                    "kind": org.get_kind_display(),
                }
            )
        return data


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin[Membership]):
    form = MembershipForm
    list_display = ["user", "role", "organization", "created_at"]
    list_filter = ["role", "organization__kind"]
    search_fields = ["user__username", "user__name", "organization__name"]
    autocomplete_fields = ["user", "organization"]

    def save_model(self, request: HttpRequest, obj: Membership, form: object, change: bool) -> None:
        if change:
            old = Membership.objects.get(pk=obj.pk)
            role_revoke(user=old.user, organization=old.organization, role=old.role)
        role_grant(user=obj.user, organization=obj.organization, role=obj.role)

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        role_revoke(user=obj.user, organization=obj.organization, role=obj.role)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        for m in list(queryset):
            role_revoke(user=m.user, organization=m.organization, role=m.role)
