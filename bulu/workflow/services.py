"""Writes of the shared workflow: guard -> transaction.atomic -> log row -> on_commit."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition, has_transition_perm
from guardian.shortcuts import get_users_with_perms

from accounts.models import User
from bulu.exceptions import ApplicationError
from bulu.workflow.models import (
    STEP_PERMISSION,
    ApprovalRecord,
    BackfillRequest,
    Decision,
    Kind,
    Notification,
    RouteStep,
    State,
    Window,
)
from bulu.workflow.registry import kind_hooks
from bulu.workflow.routing import StepSpec

STALE_MESSAGE = _("该申请刚刚已被他人处理或已更新，请刷新页面后再操作。")


# --- windows -------------------------------------------------------------------------------------


def _fmt(dt: datetime) -> str:
    return date_format(timezone.localtime(dt), "Y年n月j日 H:i")


def window_for_submission(*, kind: str, at: datetime) -> Window | None:
    """The open window a new submission of `kind` goes into; refuses when none is open.

    Collective requests need no window unless the center has published one for them.
    """
    published = Window.objects.filter(kind=kind, is_published=True)
    open_now = published.filter(opens_at__lte=at, closes_at__gt=at).order_by("closes_at").first()
    if open_now:
        return open_now
    if kind == Kind.COLLECTIVE and not published.exists():
        return None
    last = published.filter(closes_at__lte=at).order_by("-closes_at").first()
    upcoming = published.filter(opens_at__gt=at).order_by("opens_at").first()
    label = Kind(kind).label
    if upcoming:
        raise ApplicationError(
            _("%(kind)s尚未开放：《%(title)s》的提交时间为 %(start)s 至 %(end)s。")
            % {
                "kind": label,
                "title": upcoming.title,
                "start": _fmt(upcoming.opens_at),
                "end": _fmt(upcoming.closes_at),
            }
        )
    if last:
        raise ApplicationError(
            _(
                "%(kind)s已截止：《%(title)s》的提交时间为 %(start)s 至 %(end)s。"
                "按规定，因自身原因未按时提交的不再补录。"
            )
            % {
                "kind": label,
                "title": last.title,
                "start": _fmt(last.opens_at),
                "end": _fmt(last.closes_at),
            }
        )
    raise ApplicationError(
        _("%(kind)s当前没有开放的补录通知，请留意二课中心发布的通知。") % {"kind": label}
    )


def _window_for_resubmission(*, request: BackfillRequest, at: datetime) -> Window | None:
    window = request.window
    if window is None:
        return window_for_submission(kind=request.kind, at=at)
    deadline = window.closes_at + timedelta(days=window.grace_days)
    if at >= deadline:
        raise ApplicationError(
            _("《%(title)s》已于 %(end)s 截止%(grace)s，退回的申请不能再重新提交。")
            % {
                "title": window.title,
                "end": _fmt(window.closes_at),
                "grace": (
                    _("（宽限期至 %(deadline)s）") % {"deadline": _fmt(deadline)}
                    if window.grace_days
                    else ""
                ),
            }
        )
    return window


def window_create(
    *,
    actor: User,
    kind: str,
    title: str,
    body: str,
    opens_at: datetime,
    closes_at: datetime,
    grace_days: int = 0,
) -> Window:
    if closes_at <= opens_at:
        raise ApplicationError(_("截止时间必须晚于开始时间。"))
    return Window.objects.create(
        kind=kind,
        title=title,
        body=body,
        opens_at=opens_at,
        closes_at=closes_at,
        grace_days=grace_days,
        created_by=actor,
    )


# --- notifications -------------------------------------------------------------------------------


def request_url(request: BackfillRequest) -> str:
    hooks = kind_hooks(request.kind)
    try:
        if hooks:
            return reverse(hooks.detail_url_name, args=[request.pk])
    except NoReverseMatch:
        pass
    return reverse("workflow:detail", args=[request.pk])


def notify(
    *, recipients: Iterable[User], text: str, request: BackfillRequest | None = None
) -> None:
    """In-app messages now, e-mails after commit (by a task)."""
    users = {u.pk: u for u in recipients}
    if not users:
        return
    url = request_url(request) if request else ""
    Notification.objects.bulk_create(
        [Notification(recipient_id=pk, request=request, text=text, url=url) for pk in users]
    )
    emails = [u.email for u in users.values() if u.email]
    if emails:
        from bulu.workflow.tasks import send_notification_email

        transaction.on_commit(lambda: send_notification_email.delay(emails, text, url))


def step_people(step: RouteStep) -> list[User]:
    codename = STEP_PERMISSION[step.role]
    return list(
        get_users_with_perms(
            step.organization, with_group_users=False, only_with_perms_in=[codename]
        )
    )


def _notify_arrival(request: BackfillRequest) -> None:
    step = request.current_step
    if request.state == State.PENDING and step is not None:
        notify(
            recipients=step_people(step),
            request=request,
            text=_("待办：%(title)s（%(applicant)s）等待你%(label)s。")
            % {"title": request.title, "applicant": request.applicant, "label": step.label},
        )


# --- transitions ---------------------------------------------------------------------------------


def _lock(request: BackfillRequest, expected_version: int | None) -> BackfillRequest:
    """Re-read the request under a row lock; refuse when someone changed it meanwhile."""
    # No select_related here: PostgreSQL refuses FOR UPDATE on the nullable side of an outer join.
    locked = type(request).objects.select_for_update().get(pk=request.pk)
    if expected_version is not None and locked.version != expected_version:
        raise ApplicationError(STALE_MESSAGE)
    return locked


def _save(request: BackfillRequest) -> None:
    request.version += 1
    try:
        request.save()
    except ConcurrentTransition as exc:
        raise ApplicationError(STALE_MESSAGE) from exc


def _log(
    request: BackfillRequest,
    *,
    actor: User,
    decision: str,
    from_state: str,
    opinion: str = "",
    step: RouteStep | None = None,
) -> ApprovalRecord:
    return ApprovalRecord.objects.create(
        request=request,
        step_index=step.index if step else None,
        step_role=step.role if step else "",
        step_label=step.label if step else "",
        organization=step.organization if step else None,
        actor=actor,
        decision=decision,
        opinion=opinion,
        from_state=from_state,
        to_state=request.state,
    )


def request_submit(
    *,
    request: BackfillRequest,
    actor: User,
    route: Sequence[StepSpec],
    expected_version: int | None = None,
    at: datetime | None = None,
) -> BackfillRequest:
    """Submit a draft, or resubmit a returned request; the route starts again at step 1."""
    now = at or timezone.now()
    if actor.pk != request.applicant_id:
        raise ApplicationError(_("只有申请人本人可以提交该申请。"))
    if not route:
        raise ApplicationError(_("找不到可以审核该申请的老师或部门，请联系二课中心。"))
    with transaction.atomic():
        locked = _lock(request, expected_version)
        from_state = locked.state
        if from_state == State.DRAFT:
            locked.window = window_for_submission(kind=locked.kind, at=now)
            locked.submit()
            decision = Decision.SUBMIT
        elif from_state == State.RETURNED:
            locked.window = _window_for_resubmission(request=locked, at=now)
            locked.resubmit()
            decision = Decision.RESUBMIT
        else:
            raise ApplicationError(
                _("当前状态为“%(state)s”，不能提交。") % {"state": State(from_state).label}
            )
        locked.route_steps.all().delete()
        steps = RouteStep.objects.bulk_create(
            [
                RouteStep(
                    request=locked, index=i, role=s.role, organization=s.organization, label=s.label
                )
                for i, s in enumerate(route)
            ]
        )
        locked.current_step = steps[0]
        locked.submitted_at = now
        locked.decided_at = None
        _save(locked)
        _log(locked, actor=actor, decision=decision, from_state=from_state)
        _notify_arrival(locked)
    _copy_back(request, locked)
    return request


def _copy_back(target: BackfillRequest, source: BackfillRequest) -> None:
    """Keep the caller's instance current after we worked on a locked copy."""
    if target is not source:
        target.refresh_from_db()


DECISIONS_NEEDING_OPINION = {Decision.RETURN, Decision.REJECT}


def request_decide(
    *,
    request: BackfillRequest,
    actor: User,
    decision: str,
    opinion: str = "",
    expected_version: int | None = None,
) -> BackfillRequest:
    """Approve, return (退回修改) or reject (不予通过) at the current step."""
    opinion = (opinion or "").strip()
    if decision not in (Decision.APPROVE, Decision.RETURN, Decision.REJECT):
        raise ApplicationError(_("未知的审核操作。"))
    if decision in DECISIONS_NEEDING_OPINION and not opinion:
        raise ApplicationError(_("退回修改或不予通过时，请填写意见（说明原因）。"))
    with transaction.atomic():
        locked = _lock(request, expected_version)
        if locked.state != State.PENDING:
            raise ApplicationError(STALE_MESSAGE)
        step = locked.current_step
        methods: dict[str, Any] = {
            Decision.APPROVE: locked.approve,
            Decision.RETURN: locked.return_for_changes,
            Decision.REJECT: locked.reject,
        }
        method = methods[decision]
        if step is None or not has_transition_perm(method, actor):
            raise PermissionError(_("你不是该申请当前环节的审核人。"))
        if actor.pk == locked.applicant_id:
            raise PermissionError(_("不能审核自己提交的申请，请由其他审核人处理。"))
        from_state = locked.state
        if decision == Decision.APPROVE:
            steps = list(locked.route_steps.all())
            is_last = locked.step_index >= len(steps) - 1
            locked.approve(is_last=is_last)
            locked.current_step = None if is_last else steps[locked.step_index]
        else:
            method()
            locked.current_step = None
        if locked.state in (State.APPROVED, State.REJECTED):
            locked.decided_at = timezone.now()
        _save(locked)
        _log(
            locked,
            actor=actor,
            decision=decision,
            from_state=from_state,
            opinion=opinion,
            step=step,
        )
        if locked.state == State.APPROVED:
            hooks = kind_hooks(locked.kind)
            if hooks:
                hooks.on_approved(locked)
        _notify_decision(locked, decision=decision, actor=actor, opinion=opinion, step=step)
        _notify_arrival(locked)
    _copy_back(request, locked)
    return request


def _notify_decision(
    request: BackfillRequest, *, decision: str, actor: User, opinion: str, step: RouteStep | None
) -> None:
    label = step.label if step else ""
    if request.state == State.APPROVED:
        text = _("你的申请“%(title)s”已审核通过。") % {"title": request.title}
    elif decision == Decision.APPROVE:
        text = _("你的申请“%(title)s”已通过%(label)s，进入下一环节。") % {
            "title": request.title,
            "label": label,
        }
    elif decision == Decision.RETURN:
        text = _("你的申请“%(title)s”被退回修改：%(opinion)s") % {
            "title": request.title,
            "opinion": opinion,
        }
    else:
        text = _("你的申请“%(title)s”未获通过：%(opinion)s") % {
            "title": request.title,
            "opinion": opinion,
        }
    notify(recipients=[request.applicant], request=request, text=text[:300])


def request_withdraw(
    *, request: BackfillRequest, actor: User, expected_version: int | None = None
) -> BackfillRequest:
    with transaction.atomic():
        locked = _lock(request, expected_version)
        if actor.pk != locked.applicant_id:
            raise PermissionError(_("只有申请人本人可以撤回。"))
        if not has_transition_perm(locked.withdraw, actor):
            raise ApplicationError(_("审核已经开始，不能再撤回。"))
        from_state = locked.state
        locked.withdraw()
        locked.current_step = None
        _save(locked)
        _log(locked, actor=actor, decision=Decision.WITHDRAW, from_state=from_state)
    _copy_back(request, locked)
    return request


def requests_decide_bulk(
    *, actor: User, items: Sequence[tuple[int, int]], opinion: str = ""
) -> tuple[list[BackfillRequest], list[tuple[int, str]]]:
    """Approve many requests with one opinion, each through the state machine on its own.

    `items` are (pk, version seen by the approver). Returns approved ones and (pk, reason) failures.
    """
    from bulu.workflow.selectors import todo_for_user

    done: list[BackfillRequest] = []
    failed: list[tuple[int, str]] = []
    # Only what waits for this user; anything else gets one answer that reveals nothing.
    waiting = todo_for_user(user=actor).in_bulk([pk for pk, _version in items])
    for pk, version in items:
        req = waiting.get(pk)
        if req is None:
            failed.append((pk, _("该申请不在你的待办中，可能已被他人处理。")))
            continue
        try:
            done.append(
                request_decide(
                    request=req,
                    actor=actor,
                    decision=Decision.APPROVE,
                    opinion=opinion,
                    expected_version=version,
                )
            )
        except (ApplicationError, PermissionError) as exc:
            failed.append((pk, str(exc)))
    return done, failed


def notification_mark_read(*, user: User, pks: Iterable[int] | None = None) -> int:
    qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if pks is not None:
        qs = qs.filter(pk__in=list(pks))
    return qs.update(read_at=timezone.now())
