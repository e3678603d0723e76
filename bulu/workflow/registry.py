"""Kinds plug into the shared workflow here, so `bulu.workflow` never imports a kind.

Each kind registers, from its AppConfig.ready(), what is its own: its route, what final approval
does (e.g. create credit records), the body of the shared request page, extra inputs a decision
takes at given steps, its "new request" entry point and who may apply. Everything else — the page
frame, the decision, the log, the queues — is the workflow's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db.models import Q
from django_stubs_ext import StrOrPromise

from bulu.workflow.models import BackfillRequest, Kind

if TYPE_CHECKING:
    from accounts.models import User
    from bulu.workflow.models import RouteStep
    from bulu.workflow.routing import StepSpec


def _no_context(request: BackfillRequest, user: User, params: Mapping[str, str]) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class PrintForm:
    """One printable form of a request (a PDF), e.g. 附件3 申请单.

    `context(request, shared)` returns the template's own variables; `shared` is what the
    `documents` app gives every form (opinion boxes per route step, the verification code):
    see docs/architecture.md, "Printable forms".
    """

    key: str
    label: StrOrPromise
    template: str
    context: Callable[[BackfillRequest, Mapping[str, Any]], Mapping[str, Any]]


@dataclass(frozen=True)
class KindHooks:
    # The route fixed at (re)submission; raises MissingStepOwner when a step has no owner.
    route: Callable[[BackfillRequest], Sequence[StepSpec]]
    # Final approval, inside the approval's transaction; must be idempotent.
    on_approved: Callable[[BackfillRequest], None]
    # Who may apply for this kind, from the roles the user holds anywhere.
    may_apply: Callable[[frozenset[str]], bool]
    create_url_name: str
    # The kind's part of the shared request page; `params` are the page's query parameters
    # (e.g. paging through a roster).
    body_template: str
    body_context: Callable[[BackfillRequest, User, Mapping[str, str]], dict[str, Any]] = _no_context
    # Where the applicant edits a draft or returned request ("" if the body page does it).
    edit_url_name: str = ""
    # One line on what approving grants, shown before a bulk approval.
    summary: Callable[[BackfillRequest], str] | None = None
    # Appended to the applicant's "已审核通过" message and mail (e.g. the items the center
    # recognized at another value than claimed, with its reasons); "" for nothing to add.
    approved_note: Callable[[BackfillRequest], str] | None = None
    # Extra decision inputs at the step roles listed: a template inside the decision form, its
    # context (given the posted values when the form is shown again), a parser of the posted
    # values (raises ApplicationError) and what the service does with the parsed payload.
    decision_roles: frozenset[str] = field(default_factory=frozenset)
    decision_template: str = ""
    decision_context: Callable[[BackfillRequest, Mapping[str, str] | None], dict[str, Any]] = (
        lambda request, posted: {}
    )
    decision_parse: Callable[[BackfillRequest, Mapping[str, str]], object] | None = None
    decision_apply: Callable[[BackfillRequest, User, str, object], None] | None = None
    # Facts the approval record keeps about what the decider saw (JSON-serializable).
    log_context: Callable[[BackfillRequest], dict[str, Any]] | None = None
    # A panel of the kind's own on 我的申请 (e.g. the cadre entries others reported for you).
    mine_template: str = ""
    mine_context: Callable[[User], dict[str, Any]] = lambda user: {}
    # (label, url) download links for people who may see the request.
    downloads: Callable[[BackfillRequest, User], list[tuple[str, str]]] | None = None
    # The kind's printable forms for a request (which ones may depend on the request).
    forms: Callable[[BackfillRequest], Sequence[PrintForm]] | None = None
    # Who the request lists besides its applicant (a collective's roster rows, a cadre list's
    # entries): nobody signs a step of a request they are listed in. `listing` is a Q over
    # BackfillRequest for "the request lists this user" (queues); `listed` a Q over User for
    # "this user is listed in the request" (who may still sign a step at submission).
    listing: Callable[[User], Q] | None = None
    listed: Callable[[BackfillRequest], Q] | None = None
    # What the earlier steps of a route vouch for (JSON-serializable; e.g. a collective's roster
    # and values): a resubmission after a return "back to my step" keeps their signatures only
    # while this is unchanged (`bulu.workflow.resume`). None: returns always restart the route.
    signed_content: Callable[[BackfillRequest], object] | None = None


_HOOKS: dict[str, KindHooks] = {}


def kind_register(*, kind: str, hooks: KindHooks) -> None:
    _HOOKS[kind] = hooks


def kind_hooks(kind: str) -> KindHooks:
    try:
        return _HOOKS[kind]
    except KeyError as exc:
        raise LookupError(f"kind {kind!r} is not registered") from exc


def registered_kinds() -> list[str]:
    """Registered kinds in the regulation's order."""
    return [k for k in Kind.values if k in _HOOKS]


def kind_choices() -> list[tuple[str, str]]:
    return [(k, str(Kind(k).label)) for k in registered_kinds()]


def request_summary(request: BackfillRequest) -> str:
    hooks = _HOOKS.get(request.kind)
    return hooks.summary(request) if hooks and hooks.summary else ""


# Called (inside the transaction, so what a listener queues through the outbox commits with it)
# with a request's id whenever a decision, submission or withdrawal was logged on it one by one
# (not the bulk export moves, which change no printed form); e.g. the documents app queues a
# re-render of the request's PDFs. Listeners register from AppConfig.ready().
_CHANGE_LISTENERS: list[Callable[[int], None]] = []


def request_changed_listen(listener: Callable[[int], None]) -> None:
    if listener not in _CHANGE_LISTENERS:
        _CHANGE_LISTENERS.append(listener)


def request_changed(request_id: int) -> None:
    for listener in _CHANGE_LISTENERS:
        listener(request_id)


# Called inside the decision's transaction when someone approved, returned or rejected at a step,
# with the request, the step and the approval record just written (e.g. the stats app counts how
# long the step waited). Listeners register from AppConfig.ready().
_DECIDED_LISTENERS: list[Callable[[BackfillRequest, Any, Any], None]] = []


def step_decided_listen(listener: Callable[[BackfillRequest, Any, Any], None]) -> None:
    if listener not in _DECIDED_LISTENERS:
        _DECIDED_LISTENERS.append(listener)


def step_decided(request: BackfillRequest, step: Any, record: Any) -> None:
    for listener in _DECIDED_LISTENERS:
        listener(request, step, record)


Panel = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class RequestCheck:
    """A check that spans every kind (e.g. imports' possible double claims, 第五条).

    `panel(request, viewer, posted)` returns (template, context) of a panel on the request page,
    or None; the optional `guard(request, actor, step, decision, opinion, confirmations)` runs
    inside the decision's transaction, may refuse it (ApplicationError) and returns facts for the
    approval record's context. `confirmations` are the ticks the decider posted (name="confirm").
    """

    panel: Callable[
        [BackfillRequest, User, Mapping[str, Any] | None], tuple[str, dict[str, Any]] | None
    ]
    guard: (
        Callable[[BackfillRequest, User, RouteStep, str, str, frozenset[str]], dict[str, Any]]
        | None
    ) = None


_CHECKS: list[RequestCheck] = []


def request_check_register(check: RequestCheck) -> None:
    if check not in _CHECKS:
        _CHECKS.append(check)


def request_checks() -> list[RequestCheck]:
    return list(_CHECKS)
