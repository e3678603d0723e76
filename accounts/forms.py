from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Organization


class RegistryUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("学生名册（xlsx）"),
        help_text=gettext_lazy(
            "第 1 行为表头，至少包含：学号、姓名、学院、班级；可选：性别、专业、年级、联系电话。"
        ),
        widget=forms.FileInput(
            attrs={
                "accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        ),
    )
    create_colleges = forms.BooleanField(
        label=gettext_lazy("允许新建学院"),
        required=False,
        help_text=gettext_lazy("不勾选时，名册中的学院必须已经存在。"),
    )

    def clean_file(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["file"]
        if not (upload.name or "").lower().endswith(".xlsx"):
            raise forms.ValidationError(_("请上传 .xlsx 格式的 Excel 文件。"))
        limit = settings.BULU_UPLOAD_MAX_BYTES
        if (upload.size or 0) > limit:
            raise forms.ValidationError(
                _("文件不能超过 %(mb)s MB。") % {"mb": limit // (1024 * 1024)}
            )
        return upload


class RegistryConfirmForm(forms.Form):
    token = forms.UUIDField(widget=forms.HiddenInput)
    create_colleges = forms.BooleanField(required=False, widget=forms.HiddenInput)


class ClassChoiceField(forms.ModelChoiceField[Organization]):
    def label_from_instance(self, obj: Organization) -> str:
        return f"{obj.parent.name if obj.parent else ''} · {obj.name}"


class InitialPasswordsForm(forms.Form):
    klass = ClassChoiceField(
        label=gettext_lazy("班级"),
        queryset=Organization.objects.none(),
        empty_label=gettext_lazy("请选择班级"),
    )
    reset = forms.BooleanField(
        label=gettext_lazy("重置已有密码"),
        required=False,
        help_text=gettext_lazy(
            "不勾选时只为还没有密码的学生生成；勾选后该班所有学生的密码都会被重置。"
        ),
    )

    def __init__(self, *args: Any, classes: QuerySet[Organization], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["klass"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = classes
