from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _may_apply(roles: frozenset[str]) -> bool:
    from accounts.models import Membership

    Role = Membership.Role
    return bool(roles & {Role.APPLICANT, Role.ADVISOR, Role.SECRETARY})


def _demo_requests() -> str:
    from collective.demo import demo_seed_collective_requests

    created = demo_seed_collective_requests()
    return f"新建集体活动示例申请 {created} 个" if created else "集体活动示例申请已存在"


class CollectiveConfig(AppConfig):
    name = "collective"
    verbose_name = _("集体活动积分补录")

    def ready(self) -> None:
        from accounts.demo import demo_step_register
        from bulu.workflow.models import Kind, StepRole
        from bulu.workflow.registry import KindHooks, kind_register
        from collective.documents import collective_forms
        from collective.forms import exclusion_rows, exclusions_from_post
        from collective.selectors import (
            collective_page_context,
            collective_people_listed,
            collective_requests_listing,
            collective_signed_content,
        )
        from collective.services import (
            collective_log_context,
            collective_on_approved,
            collective_review_rows,
            collective_route,
            collective_summary,
        )
        from documents.selectors import document_links

        demo_step_register("集体活动积分补录示例", _demo_requests)
        kind_register(
            kind=Kind.COLLECTIVE,
            hooks=KindHooks(
                route=collective_route,
                on_approved=collective_on_approved,
                may_apply=_may_apply,
                create_url_name="collective:create",
                edit_url_name="collective:edit",
                body_template="collective/_body.html",
                body_context=collective_page_context,
                summary=collective_summary,
                decision_roles=frozenset({StepRole.CENTER}),
                decision_template="collective/_review.html",
                decision_context=exclusion_rows,
                decision_parse=exclusions_from_post,
                decision_apply=collective_review_rows,
                log_context=collective_log_context,
                forms=collective_forms,
                downloads=document_links,
                listing=collective_requests_listing,
                listed=collective_people_listed,
                signed_content=collective_signed_content,
            ),
        )
