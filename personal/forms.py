from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as gettext_now
from django.utils.translation import gettext_lazy as _

from bulu import limits
from bulu.exceptions import ApplicationError
from bulu.forms import LimitedCharField, MultipleFileField, MultipleFileInput
from bulu.workflow.models import BackfillRequest
from credits.models import CreditRecord
from imports.forms import StandardItemSelect
from imports.models import (
    ActivityCategory,
    ActivityLevel,
    ActivitySubcategory,
    CreditStandardItem,
    CreditType,
)
from personal.models import PersonalItem
from personal.services import Recognition


class SubcategorySelect(forms.Select):
    """Options carry their 一级分类, so the page can offer only the matching 二级分类."""

    def create_option(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(*args, **kwargs)
        instance = getattr(option.get("value"), "instance", None)
        if isinstance(instance, ActivitySubcategory):
            option["attrs"]["data-category"] = instance.category_id
        return option


class RequestTitleForm(forms.Form):
    title = LimitedCharField(
        label=_("申请标题"),
        max_length=limits.TITLE,
        help_text=_("写明主要内容，方便审核老师区分，例如：校园歌手大赛一等奖等 2 项"),
        widget=forms.TextInput(attrs={"placeholder": _("例如：校园歌手大赛一等奖等 2 项")}),
    )


class PersonalItemForm(forms.ModelForm[PersonalItem]):
    # Read by the view from request.FILES (several at once, staged before the form is judged).
    evidence_files = MultipleFileField(
        label=_("证明材料"),
        required=False,
        help_text=_("证书扫描件、照片或 PDF，可一次选择多个；手机上可直接拍照。每个不超过 10 MB。"),
        widget=MultipleFileInput(attrs={"accept": "image/jpeg,image/png,application/pdf"}),
    )

    class Meta:
        model = PersonalItem
        fields = [
            "standard_item",
            "content",
            "start_date",
            "end_date",
            "category",
            "subcategory",
            "level",
            "awards",
            "credit_type",
            "quantity",
            "claimed_value",
        ]
        field_classes = dict.fromkeys(("content", "awards"), LimitedCharField)
        widgets = {
            "standard_item": StandardItemSelect(attrs={"data-prefill": "1"}),
            "start_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "end_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "subcategory": SubcategorySelect(),
            "claimed_value": forms.NumberInput(attrs={"step": "0.01", "min": "0"}),
            "quantity": forms.NumberInput(attrs={"step": "0.01", "min": "0", "data-quantity": "1"}),
        }
        help_texts = {
            "standard_item": _("选择后自动填入分类、等级、学分类型和分值，可再修改。"),
            "end_date": _("时间点类的事项可不填。"),
            "quantity": _(
                "所选认定标准按小时、天、次等计分时填写（如 6 小时、1.5 小时），"
                "申请学分值不超过 数量 × 分值。"
            ),
            "level": _("认定标准未限定等级时，选择活动的实际等级。"),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields = self.fields
        fields["standard_item"].queryset = CreditStandardItem.objects.filter(  # type: ignore[attr-defined]
            is_active=True
        ).select_related("subcategory__category", "level", "credit_type")
        fields["category"].queryset = ActivityCategory.objects.filter(is_active=True)  # type: ignore[attr-defined]
        fields["subcategory"].queryset = ActivitySubcategory.objects.filter(  # type: ignore[attr-defined]
            is_active=True
        ).select_related("category")
        fields["level"].queryset = ActivityLevel.objects.filter(is_active=True)  # type: ignore[attr-defined]
        fields["credit_type"].queryset = CreditType.objects.filter(is_active=True)  # type: ignore[attr-defined]
        for name in ("standard_item", "category", "subcategory", "level", "credit_type"):
            fields[name].empty_label = _("请选择")  # type: ignore[attr-defined]
        fields["standard_item"].empty_label = _("不对应具体条目（手动填写）")  # type: ignore[attr-defined]

    def clean_awards(self) -> str:
        raw = self.cleaned_data.get("awards") or ""
        parts = [p.strip() for p in raw.replace(",", "、").replace("，", "、").split("、")]
        return "、".join(p for p in parts if p)


class OnlineAppliedForm(forms.Form):
    online_applied = forms.BooleanField(label=_("已在到梦空间在线提交"), required=False)
    online_applied_on = forms.DateField(
        label=_("提交日期"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def clean_online_applied_on(self) -> date | None:
        value = self.cleaned_data.get("online_applied_on")
        if value and value > timezone.localdate():
            raise forms.ValidationError(_("提交日期不能晚于今天。"))
        return value


def recognitions_from_post(
    request: BackfillRequest, posted: Mapping[str, str]
) -> dict[int, Recognition]:
    """The center's per-item inputs; a value that is not a number names its item."""
    result: dict[int, Recognition] = {}
    for item in PersonalItem.objects.filter(request_id=request.pk):
        raw = (posted.get(f"value-{item.pk}") or "").strip()
        try:
            value = Decimal(raw) if raw else None
        except InvalidOperation as exc:
            raise ApplicationError(
                gettext_now("事项“%(item)s”的认定学分值“%(raw)s”不是数字。")
                % {"item": item.content, "raw": raw}
            ) from exc
        result[item.pk] = Recognition(
            value=value,
            reason=posted.get(f"reason-{item.pk}") or "",
            delivery=posted.get(f"delivery-{item.pk}") or CreditRecord.Delivery.BATCH,
        )
    return result


def recognition_rows(request: BackfillRequest, posted: Mapping[str, str] | None) -> dict[str, Any]:
    """Rows of the center's recognition inputs, showing back exactly what was posted."""
    rows = []
    items = PersonalItem.objects.filter(request_id=request.pk).select_related(
        "credit_type", "standard_item"
    )
    for item in items:
        if posted is not None:
            value = (posted.get(f"value-{item.pk}") or "").strip()
            reason = posted.get(f"reason-{item.pk}") or ""
            delivery = posted.get(f"delivery-{item.pk}") or item.delivery
        else:
            shown = (
                item.recognized_value if item.recognized_value is not None else item.claimed_value
            )
            value, reason, delivery = str(shown), item.recognition_reason, item.delivery
        rows.append({"item": item, "value": value, "reason": reason, "delivery": delivery})
    return {
        "recognitions": rows,
        "deliveries": CreditRecord.Delivery.choices,
        "note_max": limits.NOTE,
    }
