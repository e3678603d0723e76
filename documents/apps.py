from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _demo_images() -> str:
    from documents.demo import demo_seed_images

    created = demo_seed_images()
    return f"新建示例签名与印章 {created} 个" if created else "示例签名与印章已存在"


class DocumentsConfig(AppConfig):
    name = "documents"
    verbose_name = _("申请文件（PDF）")

    def ready(self) -> None:
        from accounts.demo import demo_step_register
        from bulu.workflow.registry import (
            RequestCheck,
            request_changed_listen,
            request_check_register,
        )
        from documents import checks  # noqa: F401  (registers the font and address checks)
        from documents.panels import render_failed_panel
        from documents.services import documents_schedule

        request_changed_listen(documents_schedule)
        request_check_register(RequestCheck(panel=render_failed_panel))
        # Before the kinds' demo steps: their decisions then carry the demo seals.
        demo_step_register("示例签名与印章", _demo_images)
