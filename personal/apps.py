from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _demo_requests() -> str:
    from personal.demo import demo_seed_personal_requests

    created = demo_seed_personal_requests(student_usernames=None)
    return f"新建示例申请 {created} 个" if created else "示例申请已存在"


class PersonalConfig(AppConfig):
    name = "personal"
    verbose_name = _("个人成长积分补录")

    def ready(self) -> None:
        from accounts.demo import demo_step_register
        from bulu.workflow.models import Kind
        from bulu.workflow.registry import KindHooks, kind_register
        from personal.services import personal_on_approved, personal_summary

        demo_step_register("个人积分补录示例", _demo_requests)
        kind_register(
            kind=Kind.PERSONAL,
            hooks=KindHooks(
                on_approved=personal_on_approved,
                detail_url_name="personal:detail",
                summary=personal_summary,
            ),
        )
