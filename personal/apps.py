from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _demo_requests() -> str:
    from personal.demo import demo_seed_personal_requests

    created = demo_seed_personal_requests(student_usernames=None)
    return f"新建示例申请 {created} 个" if created else "示例申请已存在"


def _may_apply(roles: frozenset[str]) -> bool:
    from accounts.models import Membership

    return Membership.Role.STUDENT in roles


class PersonalConfig(AppConfig):
    name = "personal"
    verbose_name = _("个人成长积分补录")

    def ready(self) -> None:
        from accounts.demo import demo_step_register
        from bulu.workflow.models import Kind, StepRole
        from bulu.workflow.registry import KindHooks, kind_register
        from documents.selectors import document_links
        from imports.duplicates import PERSONAL_ITEM, Source, duplicate_source_register
        from personal.documents import personal_forms
        from personal.forms import recognition_rows, recognitions_from_post
        from personal.selectors import (
            personal_item_lines_live,
            personal_item_lines_of,
            personal_page_context,
            personal_signed_content,
        )
        from personal.services import (
            personal_approved_note,
            personal_on_approved,
            personal_recognize,
            personal_route,
            personal_summary,
        )

        duplicate_source_register(
            Source(
                name=PERSONAL_ITEM, of_request=personal_item_lines_of, live=personal_item_lines_live
            )
        )
        demo_step_register("个人积分补录示例", _demo_requests)
        kind_register(
            kind=Kind.PERSONAL,
            hooks=KindHooks(
                route=personal_route,
                on_approved=personal_on_approved,
                may_apply=_may_apply,
                create_url_name="personal:create",
                edit_url_name="personal:edit",
                body_template="personal/_body.html",
                body_context=personal_page_context,
                summary=personal_summary,
                approved_note=personal_approved_note,
                decision_roles=frozenset({StepRole.CENTER}),
                decision_template="personal/_recognize.html",
                decision_context=recognition_rows,
                decision_parse=recognitions_from_post,
                decision_apply=personal_recognize,
                forms=personal_forms,
                downloads=document_links,
                signed_content=personal_signed_content,
            ),
        )
