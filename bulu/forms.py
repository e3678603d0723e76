"""Form pieces shared by the kinds."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile


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
