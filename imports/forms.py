from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bulu.exceptions import ApplicationError
from imports.models import FRACTION_UNITS, CreditStandardItem
from imports.roster import check_upload_size


class RosterUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("人员名单（附件4，xlsx）"),
        help_text=gettext_lazy("只读取第一个工作表；请保留模板的表头和示范行，从第 7 行起填写。"),
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        ),
    )

    def clean_file(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["file"]
        try:
            check_upload_size(upload.size or 0, max_bytes=settings.BULU_UPLOAD_MAX_BYTES)
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message) from exc
        if not upload.size:
            raise forms.ValidationError(_("文件是空的，请重新选择。"))
        return upload


class StandardItemSelect(forms.Select):
    """Options carry the standard's category, level, type and points, so choosing one pre-fills."""

    def create_option(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(*args, **kwargs)
        value = option.get("value")
        instance = getattr(value, "instance", None)
        if isinstance(instance, CreditStandardItem):
            option["attrs"].update(
                {
                    "data-category": instance.subcategory.category_id,
                    "data-subcategory": instance.subcategory_id,
                    "data-level": instance.level_id or "",
                    "data-credit-type": instance.credit_type_id,
                    "data-points": str(instance.points),
                    "data-unit": instance.unit,
                    "data-unit-noun": instance.quantity_noun,
                    "data-fraction": "1" if instance.unit in FRACTION_UNITS else "",
                    "data-credit-type-name": instance.credit_type.name,
                    "data-award": instance.award,
                    "data-name": instance.name,
                }
            )
        return option
