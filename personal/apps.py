from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PersonalConfig(AppConfig):
    name = "personal"
    verbose_name = _("个人成长积分补录")

    def ready(self) -> None:
        from bulu.workflow.models import Kind
        from bulu.workflow.registry import KindHooks, kind_register
        from personal.services import personal_on_approved

        kind_register(
            kind=Kind.PERSONAL,
            hooks=KindHooks(on_approved=personal_on_approved, detail_url_name="personal:detail"),
        )
