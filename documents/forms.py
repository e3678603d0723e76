from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from bulu.workflow.models import Window


class SignatureForm(forms.Form):
    image = forms.FileField(
        label=_("签名图片"),
        help_text=_("透明背景的 PNG 图片，不超过 512 KB，边长 32–2000 像素。"),
    )


class ArchiveForm(forms.Form):
    FORMAT_CHOICES = [("zip", _("ZIP 压缩包（每份申请一个文件夹）")), ("pdf", _("合并为一个 PDF"))]

    window = forms.ModelChoiceField(
        label=_("补录通知"),
        queryset=Window.objects.all(),
        required=False,
        empty_label=_("（按日期）"),
    )
    start = forms.DateField(
        label=_("办结日期从"), required=False, widget=forms.DateInput({"type": "date"})
    )
    end = forms.DateField(
        label=_("办结日期到"), required=False, widget=forms.DateInput({"type": "date"})
    )
    fmt = forms.ChoiceField(label=_("格式"), choices=FORMAT_CHOICES, initial="zip")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("window") and not (data.get("start") and data.get("end")):
            raise forms.ValidationError(_("请选择一个补录通知，或填写办结日期的起止。"))
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            raise forms.ValidationError(_("结束日期不能早于开始日期。"))
        return data
