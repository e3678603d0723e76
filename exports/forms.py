from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from bulu import limits
from bulu.forms import LimitedCharField
from bulu.workflow.models import Window
from bulu.workflow.registry import kind_choices
from exports.selectors import ExportFilters, credit_types_in_pool


class ExportFilterForm(forms.Form):
    """The export desk's filters (GET on the page, the same fields POSTed to create a batch)."""

    kind = forms.ChoiceField(label=_("补录类型"), required=False)
    window = forms.ModelChoiceField(
        label=_("补录通知"), queryset=Window.objects.all(), required=False, empty_label=_("全部")
    )
    college = forms.ModelChoiceField(
        label=_("二级学院"),
        queryset=Organization.objects.filter(kind=Organization.Kind.COLLEGE).order_by("name"),
        required=False,
        empty_label=_("全部"),
    )
    credit_type = forms.ChoiceField(label=_("学分类型"), required=False)
    approved_from = forms.DateField(
        label=_("审核通过日期从"), required=False, widget=forms.DateInput({"type": "date"})
    )
    approved_to = forms.DateField(
        label=_("审核通过日期到"), required=False, widget=forms.DateInput({"type": "date"})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        all_ = [("", _("全部"))]
        self.fields["kind"].choices = all_ + kind_choices()  # type: ignore[attr-defined]
        self.fields["credit_type"].choices = all_ + [  # type: ignore[attr-defined]
            (name, name) for name in credit_types_in_pool()
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("approved_from"), data.get("approved_to")
        if start and end and end < start:
            raise forms.ValidationError(_("审核通过日期的结束日期不能早于开始日期。"))
        return data

    def filters(self) -> ExportFilters:
        """The chosen filters; an unbound form means "everything"."""
        data: dict[str, Any] = getattr(self, "cleaned_data", {})
        return ExportFilters(
            kind=data.get("kind") or "",
            window_id=data["window"].pk if data.get("window") else None,
            college_id=data["college"].pk if data.get("college") else None,
            credit_type=data.get("credit_type") or "",
            approved_from=data.get("approved_from"),
            approved_to=data.get("approved_to"),
        )


class CancelForm(forms.Form):
    reason = LimitedCharField(label=_("撤销原因"), max_length=limits.NOTE, required=False)
