"""Kinds plug into the shared workflow here, so `bulu.workflow` never imports a kind.

Each kind registers, from its AppConfig.ready(), what happens when one of its requests is finally
approved (e.g. creating credit records) and where its detail page lives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bulu.workflow.models import BackfillRequest


@dataclass(frozen=True)
class KindHooks:
    on_approved: Callable[[BackfillRequest], None]
    detail_url_name: str
    # One line on what approving the request grants, shown before a bulk approval.
    summary: Callable[[BackfillRequest], str] | None = None


_HOOKS: dict[str, KindHooks] = {}


def kind_register(*, kind: str, hooks: KindHooks) -> None:
    _HOOKS[kind] = hooks


def kind_hooks(kind: str) -> KindHooks | None:
    return _HOOKS.get(kind)


def request_summary(request: BackfillRequest) -> str:
    hooks = _HOOKS.get(request.kind)
    return hooks.summary(request) if hooks and hooks.summary else ""
