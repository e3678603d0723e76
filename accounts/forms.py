from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Membership, Organization, RoleChange, User
from bulu import limits
from bulu.forms import LimitedCharField


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


class OrganizationChoiceField(forms.ModelChoiceField[Organization]):
    def label_from_instance(self, obj: Organization) -> str:
        parent = f"{obj.parent.name} · " if obj.parent_id and obj.parent else ""
        return f"{parent}{obj.name}（{obj.get_kind_display()}）"


class RoleChangeProposeForm(forms.Form):
    username = forms.CharField(label=gettext_lazy("学号/工号"), max_length=32)
    organization = OrganizationChoiceField(
        label=gettext_lazy("组织"),
        queryset=Organization.objects.filter(is_active=True).select_related("parent"),
        empty_label=gettext_lazy("请选择组织"),
    )
    role = forms.ChoiceField(label=gettext_lazy("角色"), choices=Membership.Role.choices)
    action = forms.ChoiceField(
        label=gettext_lazy("操作"),
        choices=RoleChange.Action.choices,
        initial=RoleChange.Action.GRANT,
    )
    reason = LimitedCharField(
        label=gettext_lazy("说明"),
        max_length=limits.ROLE_CHANGE_REASON,
        required=False,
        help_text=gettext_lazy("例如：新任辅导员、调岗。"),
    )

    def clean_username(self) -> User:
        username = self.cleaned_data["username"].strip()
        user = User.objects.filter(username=username).first()
        if user is None:
            raise forms.ValidationError(
                _("没有学号/工号为 %(username)s 的用户。") % {"username": username}
            )
        return user


class RoleChangeRefuseForm(forms.Form):
    reason = LimitedCharField(
        label=gettext_lazy("拒绝理由"), max_length=limits.ROLE_CHANGE_REASON, required=False
    )
