from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from bulu.forms import MultipleFileField, MultipleFileInput
from cadre.models import CadrePosition


class UnitField(forms.ModelChoiceField[Organization]):
    def label_from_instance(self, obj: Organization) -> str:
        suffix = "学生会" if obj.kind == Organization.Kind.BRANCH else ""
        college = (
            f"{obj.parent.name} · " if obj.parent and obj.kind != Organization.Kind.BRANCH else ""
        )
        return f"{college}{obj.name}{suffix}（{obj.get_kind_display()}）"


class PositionField(forms.ModelChoiceField[CadrePosition]):
    def label_from_instance(self, obj: CadrePosition) -> str:
        item = obj.standard_item
        return f"{obj.name}（{item.points} {item.credit_type.name}）"


class PositionSelect(forms.Select):
    """Options carry their unit kind, so the page offers only the chosen unit's positions."""

    def create_option(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(*args, **kwargs)
        instance = getattr(option.get("value"), "instance", None)
        if isinstance(instance, CadrePosition):
            option["attrs"]["data-unit-kind"] = instance.unit_kind
        return option


class UnitSelect(forms.Select):
    def create_option(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(*args, **kwargs)
        instance = getattr(option.get("value"), "instance", None)
        if isinstance(instance, Organization):
            option["attrs"]["data-kind"] = instance.kind
        return option


DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class SelfReportForm(forms.Form):
    unit = UnitField(
        label=_("任职单位"),
        queryset=Organization.objects.none(),
        widget=UnitSelect(attrs={"data-cadre-unit": "1"}),
        help_text=_("学生组织、学生社团、本学院学生会或本班。"),
    )
    position = PositionField(
        label=_("职务"),
        queryset=CadrePosition.objects.filter(is_active=True).select_related(
            "standard_item__credit_type"
        ),
        widget=PositionSelect(attrs={"data-cadre-position": "1"}),
    )
    term_start = forms.DateField(label=_("任职开始"), widget=DATE)
    term_end = forms.DateField(
        label=_("任职结束"),
        widget=DATE,
        help_text=_("任职须覆盖通知收集的整个学年（开学至教学周结束），且不晚于今天。"),
    )
    evidence_files = MultipleFileField(
        label=_("任职证明（可选）"),
        required=False,
        help_text=_("聘书、任命文件或照片，JPG、PNG 或 PDF，可选多个；手机上可直接拍照。"),
        widget=MultipleFileInput(attrs={"accept": "image/jpeg,image/png,application/pdf"}),
    )

    def __init__(self, *args: Any, units: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["unit"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = units
        self.fields["term_end"].widget.attrs["max"] = timezone.localdate().isoformat()


class UnitChoiceForm(forms.Form):
    unit = UnitField(label=_("单位"), queryset=Organization.objects.none(), empty_label=None)

    def __init__(self, *args: Any, units: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["unit"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = units


class ListFileForm(forms.Form):
    file = forms.FileField(
        label=_("学生干部名单（xlsx）"),
        help_text=_(
            "用下载的空白模板填写：学号、姓名、职务、任职开始、任职结束。导入会替换当前名单。"
        ),
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        ),
    )
