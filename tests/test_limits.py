"""The shared text limits (bulu.limits) and the form field that shows them (LimitedCharField)."""

from __future__ import annotations

import pytest
from django import forms
from django.utils import translation

from bulu import limits
from bulu.exceptions import ApplicationError
from bulu.forms import LimitedCharField
from collective.models import CollectiveRequest


class NoteForm(forms.Form):
    note = LimitedCharField(label="说明", max_length=10, required=False, widget=forms.Textarea)
    line = LimitedCharField(label="标题", max_length=5, required=False)


def test_the_message_names_the_field_the_limit_and_the_length() -> None:
    assert limits.length_problem("字" * 10, limit=10, label="原因分析") == ""
    assert (
        limits.length_problem("字" * 11, limit=10, label="原因分析")
        == "原因分析最多 10 字（现在 11 字）。"
    )


def test_the_model_fields_hold_the_limits() -> None:
    field = CollectiveRequest._meta.get_field("cause")
    assert field.max_length == limits.LONG_TEXT == 2000
    problems = limits.text_problems(CollectiveRequest, {"cause": "x" * 2001, "reason": "短"})
    assert problems == {"cause": "原因分析最多 2000 字（现在 2001 字）。"}
    with pytest.raises(ApplicationError, match=r"^原因分析最多 2000 字（现在 320000 字）。$"):
        limits.texts_ensure_fit(CollectiveRequest, {"cause": "x" * 320_000})
    limits.texts_ensure_fit(CollectiveRequest, {"cause": "x" * 2000})  # at the limit: fine


def test_the_form_refuses_in_chinese_naming_the_field() -> None:
    with translation.override("zh-hans"):
        form = NoteForm({"note": "字" * 11, "line": "标题太长了呀"})
        assert not form.is_valid()
        assert form.errors["note"] == ["说明最多 10 字（现在 11 字）。"]
        assert form.errors["line"] == ["标题最多 5 字（现在 6 字）。"]
        assert "确保" not in str(form.errors)  # not Django's stock "确保该变量包含不超过"


def test_the_browser_gets_maxlength_and_a_multi_line_field_says_its_limit() -> None:
    form = NoteForm()
    html = str(form["note"])
    assert 'maxlength="10"' in html and "<textarea" in html
    assert str(form.fields["note"].help_text) == "最多 10 字。"
    assert 'maxlength="5"' in str(form["line"])
    assert not form.fields["line"].help_text  # a one-line field says nothing more


def test_a_typed_line_break_counts_once_as_in_the_browser() -> None:
    # A browser counts a line break once for maxlength but sends it as CRLF.
    typed = "一二三\r\n四五六\r\n七八"  # 12 characters sent, 10 as the browser counts them
    form = NoteForm({"note": typed})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["note"] == "一二三\n四五六\n七八"
    too_long = NoteForm({"note": typed + "九"})
    assert not too_long.is_valid()
    assert too_long.errors["note"] == ["说明最多 10 字（现在 11 字）。"]
