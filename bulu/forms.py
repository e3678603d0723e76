"""Form pieces shared by the kinds."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import MaxLengthValidator
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from bulu.limits import length_problem


class LimitedCharField(forms.CharField):
    """A typed text and its limit (`bulu.limits`): the browser's maxlength, a line break
    stored and counted once, and a refusal that names the field.

    Django's own message ("确保该变量包含不超过 … 字符") names neither the field nor 字; a
    browser sends a typed line break as CRLF while counting it once for maxlength, so a text
    the browser let through at the limit would be refused by two characters per line.
    A multi-line field says its limit under it: a browser cuts a pasted text silently.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.validators = [v for v in self.validators if not isinstance(v, MaxLengthValidator)]
        if self.max_length is not None and isinstance(self.widget, forms.Textarea):
            limit = format_lazy(gettext_lazy("最多 {} 字。"), self.max_length)
            self.help_text = (
                format_lazy("{} {}", self.help_text, limit) if self.help_text else limit
            )

    def to_python(self, value: Any) -> Any:
        text = super().to_python(value)
        return text.replace("\r\n", "\n") if isinstance(text, str) else text

    def validate(self, value: Any) -> None:
        super().validate(value)
        if self.max_length is not None and isinstance(value, str):
            problem = length_problem(value, limit=self.max_length, label=self.label or "")
            if problem:
                raise ValidationError(problem, code="max_length")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (evidence: certificates, 聘书, photos).

    A plain FileField given `allow_multiple_selected` receives a list and answers
    "未提交文件。请检查表单的编码类型。"; each file is cleaned on its own here (Django's docs,
    "Uploading multiple files"). Content checks (type by signature, size) stay with
    `bulu.uploads.evidence_kind` in the services.
    """

    widget = MultipleFileInput

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        single = super().clean
        if isinstance(data, list | tuple):
            files = [single(d, initial) for d in data if d]
            if not files and self.required:
                single(None, initial)  # raises "required"
            return files
        cleaned = single(data, initial)
        return [cleaned] if cleaned else []
