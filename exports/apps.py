from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExportsConfig(AppConfig):
    name = "exports"
    verbose_name = _("到梦空间导出批次")

    def ready(self) -> None:
        from accounts.demo import demo_step_register

        demo_step_register("到梦空间导出批次示例", _demo_batch)


def _demo_batch() -> str:
    from exports.demo import demo_seed_export_batch

    return demo_seed_export_batch()
