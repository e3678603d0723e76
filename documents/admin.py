"""Seals are uploaded here by an administrator (one history per 团总支, center and committee)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from bulu.exceptions import ApplicationError
from documents.images import png_check, png_data_uri
from documents.models import SEAL_ORG_KINDS, RequestDocument, SealImage
from documents.services import seal_upload


class SealForm(forms.ModelForm[SealImage]):
    image = forms.FileField(
        label=_("印章图片"),
        help_text=_(
            "透明背景的 PNG 图片，不超过 512 KB，边长 32–2000 像素。上传后用于此后的审核。"
        ),
    )

    class Meta:
        model = SealImage
        fields = ["organization"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = Organization.objects.filter(  # type: ignore[attr-defined]
            kind__in=SEAL_ORG_KINDS, is_active=True
        )

    def clean_image(self) -> Any:
        upload = self.cleaned_data["image"]
        try:
            png_check(upload.read(600 * 1024), what=str(_("印章图片")))
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message) from exc
        upload.seek(0)
        return upload


@admin.register(SealImage)
class SealImageAdmin(admin.ModelAdmin[SealImage]):
    """Only inserts: a new upload supersedes; earlier decisions keep the seal they had."""

    form = SealForm
    list_display = ["organization", "preview", "created_at", "created_by"]
    list_filter = ["organization__kind"]
    search_fields = ["organization__name"]

    @admin.display(description=_("图片"))
    def preview(self, obj: SealImage) -> str:
        if not obj.png:
            return "—"
        return format_html('<img src="{}" alt="" style="height:48px">', png_data_uri(obj.png))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return bool(request.user.is_superuser)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: SealImage, form: Any, change: bool) -> None:
        upload = form.cleaned_data["image"]
        saved = seal_upload(
            organization=obj.organization,
            actor=request.user,  # type: ignore[arg-type]
            data=upload.read(600 * 1024),
        )
        for field in ("id", "png", "width", "height", "sha256", "created_by_id", "created_at"):
            setattr(obj, field, getattr(saved, field))


@admin.register(RequestDocument)
class RequestDocumentAdmin(admin.ModelAdmin[RequestDocument]):
    """Read-only: which PDFs exist, from which log state, how long they took."""

    list_display = ["request", "form_key", "code", "pages", "size", "render_seconds", "created_at"]
    search_fields = ["code", "request__title"]
    # The file itself is downloaded from the request page, where visibility is applied.
    exclude = ["file"]
    readonly_fields = [f.name for f in RequestDocument._meta.fields if f.name != "file"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
