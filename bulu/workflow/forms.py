from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from bulu import limits
from bulu.forms import LimitedCharField
from bulu.workflow.models import State, Window
from bulu.workflow.registry import kind_choices


class QueueFilterForm(forms.Form):
    kind = forms.ChoiceField(label=_("类型"), required=False)
    college = forms.ChoiceField(label=_("学院"), required=False)
    klass = forms.ChoiceField(label=_("班级"), required=False)
    window = forms.ChoiceField(label=_("补录通知"), required=False)
    state = forms.ChoiceField(
        label=_("状态"), required=False, choices=[("", _("全部状态")), *State.choices]
    )
    waiting_days = forms.IntegerField(label=_("等待超过（天）"), required=False, min_value=0)
    q = forms.CharField(label=_("学号/姓名"), required=False, max_length=32)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only kinds that exist in this installation.
        self.fields["kind"].choices = [("", _("全部类型")), *kind_choices()]  # type: ignore[attr-defined]


class WindowForm(forms.ModelForm[Window]):
    class Meta:
        model = Window
        fields = [
            "kind",
            "title",
            "body",
            "school_year",
            "opens_at",
            "closes_at",
            "off_season_reason",
            "grace_days",
            "is_published",
        ]
        field_classes = dict.fromkeys(("title", "body", "off_season_reason"), LimitedCharField)
        widgets = {
            "off_season_reason": forms.Textarea(attrs={"rows": 2}),
            "opens_at": forms.DateTimeInput(
                attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"
            ),
            "closes_at": forms.DateTimeInput(
                attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"
            ),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = kind_choices()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        opens, closes = data.get("opens_at"), data.get("closes_at")
        if opens and closes and closes <= opens:
            self.add_error("closes_at", _("截止时间必须晚于开始时间。"))
        return data


class OpinionForm(forms.Form):
    """The opinion of a decision (the request page) or of a bulk approval (我的待办)."""

    opinion = LimitedCharField(
        label=_("审核意见"),
        max_length=limits.OPINION,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "%s")  # the pages' and the browser tests' `#opinion`
        super().__init__(*args, **kwargs)


def filter_controls(form: forms.Form) -> list[dict[str, Any]]:
    """The filter form as plain data for a small template loop. Django renders every <option>
    through its widget templates; a queue's filters (dozens of options) cost more that way than
    the list they filter."""
    data = form.data if form.is_bound else {}
    controls = []
    for name, field in form.fields.items():
        value = str(data.get(name, "") or "")
        control: dict[str, Any] = {
            "name": name,
            "id": f"id_{name}",
            "label": field.label,
            "value": value,
            "errors": form.errors.get(name, []) if form.is_bound else [],
        }
        choices = getattr(field, "choices", None)
        if choices is not None:
            control["options"] = [(str(v), label, str(v) == value) for v, label in choices]
        else:
            control["type"] = "number" if isinstance(field, forms.IntegerField) else "text"
        controls.append(control)
    return controls
