from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from bulu import limits
from bulu.forms import LimitedCharField
from bulu.workflow.models import BackfillRequest
from collective.models import CollectiveRequest, LetterLine, LetterTier
from collective.selectors import flagged_rows
from collective.services import TEXTS
from imports.forms import StandardItemSelect
from imports.models import CreditStandardItem, CreditType


class UnitField(forms.ModelChoiceField[Organization]):
    def label_from_instance(self, obj: Organization) -> str:
        return f"{obj.parent.name} · {obj.name}" if obj.parent else obj.name


class UnitChoiceForm(forms.Form):
    unit = UnitField(label=_("申请单位"), queryset=Organization.objects.none(), empty_label=None)

    def __init__(self, *args: Any, units: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["unit"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = units


DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class CollectiveForm(forms.ModelForm[CollectiveRequest]):
    """The letter (附件2), the form (附件3) and the explanation (附件5), all savable as a draft."""

    class Meta:
        model = CollectiveRequest
        fields = [
            "case",
            "activity_name",
            "standard_item",
            "points_per_person",
            "declared_participants",
            "declared_total",
            "contact_phone",
            "activity_start",
            "activity_end",
            "location",
            "credit_details",
            "reason",
            "cause",
            "correct_procedure",
            "prevention",
            "summary",
        ]
        widgets = {
            "case": forms.RadioSelect,
            "standard_item": StandardItemSelect(attrs={"data-prefill-collective": "1"}),
            "points_per_person": forms.NumberInput(attrs={"step": "0.01", "min": "0"}),
            "declared_total": forms.NumberInput(attrs={"step": "0.01", "min": "0"}),
            "contact_phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
            "activity_start": DATE,
            "activity_end": DATE,
            "credit_details": forms.Textarea(attrs={"rows": 3}),
            "reason": forms.Textarea(attrs={"rows": 3}),
            "cause": forms.Textarea(attrs={"rows": 3}),
            "correct_procedure": forms.Textarea(attrs={"rows": 3}),
            "prevention": forms.Textarea(attrs={"rows": 3}),
            "summary": forms.Textarea(attrs={"rows": 3}),
        }
        field_classes = dict.fromkeys(TEXTS, LimitedCharField)
        labels = {"credit_details": _("积分明细补充说明")}
        help_texts = {
            "case": _("只受理这两种情形；其他原因（如本人未报名、未签到）不属于集体补录。"),
            "standard_item": _(
                "“XX 类别第 X 项”：选择后自动填入每人分值，可再修改（不能超过标准分值）。"
            ),
            "declared_participants": _("应与人员名单中的学生人数一致。"),
            "declared_total": _("每人分值 × 参与人数，应与人员名单的学分值合计一致。"),
            "credit_details": _(
                "申请单按申请书自动写出每种学分类型一行（每人分值或奖项档次、人数、共计）；"
                "这里可补充说明，可不填。"
            ),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["standard_item"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = CreditStandardItem.objects.filter(is_active=True).select_related(
            "subcategory__category", "level", "credit_type"
        )
        field.empty_label = _("请选择")
        self.fields["case"].required = False
        self.fields["case"].choices = list(CollectiveRequest.Case.choices)  # type: ignore[attr-defined]


POINTS = forms.NumberInput(attrs={"step": "0.01", "min": "0"})


class CreditTypeField(forms.ModelChoiceField[CreditType]):
    def label_from_instance(self, obj: CreditType) -> str:
        return obj.name


class LineForm(forms.Form):
    """A further credit type of the letter: counted and totalled on its own."""

    credit_type = CreditTypeField(label=_("学分类型"), queryset=CreditType.objects.none())
    points_per_person = forms.DecimalField(
        label=_("每人分值"),
        max_digits=7,
        decimal_places=2,
        min_value=0,
        required=False,
        widget=POINTS,
        help_text=_("按奖项档次发放时留空。"),
    )
    declared_participants = forms.IntegerField(label=_("参与人数"), min_value=0, required=False)
    declared_total = forms.DecimalField(
        label=_("共计分值"),
        max_digits=9,
        decimal_places=2,
        min_value=0,
        required=False,
        widget=POINTS,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["credit_type"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = CreditType.objects.filter(is_active=True)
        field.empty_label = _("请选择")


class TierForm(forms.Form):
    """One award tier (一等奖 3 分): rows whose 奖项内容 names it get its points."""

    credit_type = CreditTypeField(
        label=_("学分类型"),
        queryset=CreditType.objects.none(),
        required=False,
    )
    award = LimitedCharField(label=_("奖项档次"), max_length=limits.AWARD_TIER)
    points = forms.DecimalField(
        label=_("分值"), max_digits=7, decimal_places=2, min_value=0, widget=POINTS
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["credit_type"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = CreditType.objects.filter(is_active=True)
        field.empty_label = _("同认定标准条目")


LineFormSet = forms.formset_factory(LineForm, extra=1, can_delete=True)
TierFormSet = forms.formset_factory(TierForm, extra=2, can_delete=True)


def letter_formsets(request: CollectiveRequest, data: Mapping[str, Any] | None) -> tuple[Any, Any]:
    """The letter's further credit types and its award tiers, as typed or as stored."""
    lines = [
        {
            "credit_type": line.credit_type_id,
            "points_per_person": line.points_per_person,
            "declared_participants": line.declared_participants,
            "declared_total": line.declared_total,
        }
        for line in LetterLine.objects.filter(request=request)
    ]
    tiers = [
        {"credit_type": t.credit_type_id, "award": t.award, "points": t.points}
        for t in LetterTier.objects.filter(request=request)
    ]
    return (
        LineFormSet(data, initial=lines, prefix="lines"),
        TierFormSet(data, initial=tiers, prefix="tiers"),
    )


def kept(formset: Any) -> list[dict[str, Any]]:
    """The filled, not deleted forms' cleaned data (an untouched blank form is skipped)."""
    return [
        f.cleaned_data for f in formset.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")
    ]


class RosterForm(forms.Form):
    file = forms.FileField(
        label=_("人员名单（附件4，xlsx）"),
        help_text=_("请用空白模板填写：保留示范行，从第 7 行起填写。新上传的名单会替换当前名单。"),
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        ),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if (upload.size or 0) > settings.BULU_UPLOAD_MAX_BYTES:
            raise forms.ValidationError(
                _("文件不能超过 %(mb)s MB。") % {"mb": settings.BULU_UPLOAD_MAX_BYTES // 1048576}
            )
        return upload


def exclusions_from_post(request: BackfillRequest, posted: Mapping[str, str]) -> dict[int, str]:
    """The center's 不予发放 ticks on flagged rows, each with its reason."""
    return {
        e.pk: posted.get(f"exclude-reason-{e.pk}") or ""
        for e in flagged_rows(request=request)
        if posted.get(f"exclude-{e.pk}")
    }


def exclusion_rows(request: BackfillRequest, posted: Mapping[str, str] | None) -> dict[str, Any]:
    rows = []
    for e in flagged_rows(request=request):
        if posted is not None:
            checked = bool(posted.get(f"exclude-{e.pk}"))
            reason = posted.get(f"exclude-reason-{e.pk}") or ""
        else:
            checked, reason = e.excluded, e.excluded_reason
        rows.append({"entry": e, "checked": checked, "reason": reason})
    return {"exclusions": rows, "note_max": limits.NOTE}
