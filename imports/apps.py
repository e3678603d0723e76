from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _demo_credit_settings() -> str:
    from imports.demo import demo_seed_credit_settings
    from imports.models import ActivityCategory, CreditStandardItem

    demo_seed_credit_settings()
    return (
        f"活动一级分类 {ActivityCategory.objects.count()} 个，"
        f"认定标准条目 {CreditStandardItem.objects.count()} 条"
    )


class ImportsConfig(AppConfig):
    name = "imports"
    verbose_name = _("到梦空间导入")

    def ready(self) -> None:
        from accounts.demo import demo_step_register
        from bulu.workflow.registry import RequestCheck, request_check_register
        from imports.duplicates import duplicates_decision_guard, duplicates_panel

        request_check_register(
            RequestCheck(panel=duplicates_panel, guard=duplicates_decision_guard)
        )
        demo_step_register("积分设置（认定标准）", _demo_credit_settings)
