from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _may_apply(roles: frozenset[str]) -> bool:
    from accounts.models import Membership

    Role = Membership.Role
    return bool(
        roles & {Role.STUDENT, Role.APPLICANT, Role.ADVISOR, Role.COUNSELOR, Role.SECRETARY}
    )


def _mine(user: Any) -> dict[str, Any]:
    from cadre.selectors import my_cadre_entries

    return {"entries": my_cadre_entries(user=user)}


def _demo_positions() -> str:
    from cadre.demo import demo_seed_positions

    return f"学生干部职务 {demo_seed_positions()} 个"


def _demo_requests() -> str:
    from cadre.demo import demo_seed_cadre_requests

    created = demo_seed_cadre_requests()
    return f"新建学生干部示例申请 {created} 个" if created else "学生干部示例申请已存在"


def _release_on_decision(request: Any, step: Any, record: Any) -> None:
    from cadre.services import cadre_entries_release

    if request.kind == "cadre":
        cadre_entries_release(request.pk)


def _release_on_change(request_id: int) -> None:
    from cadre.services import cadre_entries_release

    cadre_entries_release(request_id)


class CadreConfig(AppConfig):
    name = "cadre"
    verbose_name = _("学生干部积分补录")

    def ready(self) -> None:
        from accounts.demo import demo_step_register
        from accounts.roles import center_staff_models_register
        from bulu.workflow.models import Kind
        from bulu.workflow.registry import (
            KindHooks,
            kind_register,
            request_changed_listen,
            step_decided_listen,
        )
        from cadre.documents import cadre_forms
        from cadre.selectors import (
            cadre_entry_lines_live,
            cadre_entry_lines_of,
            cadre_page_context,
            cadre_people_listed,
            cadre_requests_listing,
            cadre_signed_content,
        )
        from cadre.services import cadre_on_approved, cadre_route, cadre_summary
        from documents.selectors import document_links
        from imports.duplicates import CADRE_ENTRY, Source, duplicate_source_register

        duplicate_source_register(
            Source(name=CADRE_ENTRY, of_request=cadre_entry_lines_of, live=cadre_entry_lines_live)
        )
        center_staff_models_register("cadre", "cadreposition")
        # A rejected (in the decision's transaction) or withdrawn (after commit) request's
        # entries stop holding their school year, so the student may report again.
        step_decided_listen(_release_on_decision)
        request_changed_listen(_release_on_change)
        demo_step_register("学生干部职务", _demo_positions)
        demo_step_register("学生干部积分补录示例", _demo_requests)
        kind_register(
            kind=Kind.CADRE,
            hooks=KindHooks(
                route=cadre_route,
                on_approved=cadre_on_approved,
                may_apply=_may_apply,
                create_url_name="cadre:start",
                edit_url_name="cadre:edit",
                body_template="cadre/_body.html",
                body_context=cadre_page_context,
                summary=cadre_summary,
                mine_template="cadre/_mine.html",
                mine_context=_mine,
                forms=cadre_forms,
                downloads=document_links,
                listing=cadre_requests_listing,
                listed=cadre_people_listed,
                signed_content=cadre_signed_content,
            ),
        )
