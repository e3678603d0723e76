"""Writes of the shared workflow: guard -> transaction.atomic -> log row -> on_commit."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django_fsm import ConcurrentTransition, can_proceed, has_transition_perm

from accounts.models import Membership, Organization, User
from accounts.selectors import user_scope
from bulu import limits
from bulu.exceptions import AccessDenied, ApplicationError
from bulu.workflow.ledger import record_seal
from bulu.workflow.models import (
    STEP_PERMISSION,
    ApprovalRecord,
    BackfillRequest,
    Decision,
    Kind,
    Notification,
    OwnerGapAlert,
    RouteStep,
    SchoolYear,
    State,
    StepRole,
    Window,
)
from bulu.workflow.registry import (
    kind_hooks,
    registered_kinds,
    request_changed,
    request_checks,
    step_decided,
)
from bulu.workflow.resume import (
    RESTART,
    ResumePlan,
    destination_text,
    resume_plan,
    return_context,
)
from bulu.workflow.routing import OWNER_ROLE, MissingStepOwner, StepSpec
from bulu.workflow.selectors import (
    center_staff,
    moment_text,
    people_conflicted,
    request_conflicts_with,
    request_deciders,
    step_people,
    window_verdict,
)
from bulu.workflow.tallies import TallyKey, tally_key, tally_move, tally_move_counts

logger = logging.getLogger(__name__)

STALE_MESSAGE = _("该申请刚刚已被他人处理或已更新，请刷新页面后再操作。")
# Decisions at a step: one person makes at most one of them per submission (four eyes).
STEP_DECISIONS = (Decision.APPROVE, Decision.RETURN, Decision.REJECT)


# States in which the applicant may still change a request.
EDITABLE_STATES = (State.DRAFT, State.RETURNED)


def request_ensure_editable(request: BackfillRequest, actor: User) -> None:
    """The applicant, and only while the request is a draft or returned and its notice still
    takes changes (`window_ensure_accepting`), may change it."""
    if actor.pk != request.applicant_id:
        raise AccessDenied(_("只能修改自己的申请。"))
    if request.state not in EDITABLE_STATES:
        raise ApplicationError(
            _("申请当前状态为“%(state)s”，不能修改。") % {"state": State(request.state).label}
        )
    window_ensure_accepting(kind=request.kind, request=request)


# --- windows -------------------------------------------------------------------------------------


def window_for_submission(*, kind: str, at: datetime) -> Window | None:
    """The open window a new submission of `kind` goes into; refuses when none is open."""
    verdict = window_verdict(kind=kind, at=at)
    if not verdict.open:
        raise ApplicationError(verdict.reason)
    return verdict.window


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
                "end": moment_text(window.closes_at),
                "grace": (
                    _("（宽限期至 %(deadline)s）") % {"deadline": moment_text(deadline)}
                    if window.grace_days
                    else ""
                ),
            }
        )
    return window


def window_ensure_accepting(
    *, kind: str, request: BackfillRequest | None = None, at: datetime | None = None
) -> None:
    """第四、五条「学生应在规定时间内上报」: a closed notice takes no new drafts and no edits.

    A new request, or a change to a draft, needs a published notice of its kind that is open or
    still to open (collective: only once the center has published one). A returned request may
    be changed as long as it may be resubmitted: until its notice's close plus its grace days.
    """
    from bulu.workflow.selectors import window_next_for, window_open_for

    now = at or timezone.now()
    if request is not None and request.state == State.RETURNED and request.window_id:
        window = request.window
        assert window is not None
        deadline = window.closes_at + timedelta(days=window.grace_days)
        if now < deadline:
            return
        raise ApplicationError(
            _("《%(title)s》已于 %(end)s 截止%(grace)s，不能再修改退回的申请。")
            % {
                "title": window.title,
                "end": moment_text(window.closes_at),
                "grace": (
                    _("（宽限期至 %(deadline)s）") % {"deadline": moment_text(deadline)}
                    if window.grace_days
                    else ""
                ),
            }
        )
    if window_open_for(kind=kind, at=now) is not None:
        return
    if window_next_for(kind=kind, at=now) is not None:
        return  # drafts may be prepared for a published notice; submission waits for it
    verdict = window_verdict(kind=kind, at=now)
    if verdict.open:
        return  # collective, and the center published no collective notice
    raise ApplicationError(
        _("%(reason)s现在不能新建或修改%(kind)s申请。")
        % {"reason": verdict.reason, "kind": Kind(kind).label}
    )


@dataclass
class WindowData:
    kind: str
    title: str
    body: str
    opens_at: datetime
    closes_at: datetime
    grace_days: int = 0
    is_published: bool = True
    off_season_reason: str = ""
    school_year: SchoolYear | None = None


def _window_check(*, actor: User, data: WindowData) -> None:
    if not user_scope(user=actor).org_ids("approve_as_center"):
        raise AccessDenied(_("只有二课中心工作人员可以发布补录通知。"))
    if data.kind not in registered_kinds():
        raise ApplicationError(_("该补录类型尚未开通。"))
    if data.closes_at <= data.opens_at:
        raise ApplicationError(_("截止时间必须晚于开始时间。"))
    if not data.title.strip():
        raise ApplicationError(_("请填写通知标题。"))
    limits.texts_ensure_fit(
        Window,
        {"title": data.title, "body": data.body, "off_season_reason": data.off_season_reason},
    )
    if data.kind == Kind.CADRE and data.school_year is None:
        raise ApplicationError(
            _("学生干部补录通知须选择收集学年（《办法》第四条：收集工作满一年的学生干部）。")
        )
    problem = Window(
        kind=data.kind,
        opens_at=data.opens_at,
        closes_at=data.closes_at,
        off_season_reason=data.off_season_reason,
    ).months_problem()
    if problem:
        raise ApplicationError(problem)


def window_create(*, actor: User, data: WindowData) -> Window:
    _window_check(actor=actor, data=data)
    return Window.objects.create(**data.__dict__, created_by=actor)


def window_update(*, window: Window, actor: User, data: WindowData) -> Window:
    _window_check(actor=actor, data=data)
    with transaction.atomic():
        locked = Window.objects.select_for_update().get(pk=window.pk)
        for name, value in data.__dict__.items():
            setattr(locked, name, value)
        if locked.closes_at != window.closes_at:
            locked.reminded_at = None  # a new deadline deserves its own reminder
        locked.save()
    return locked


# --- notifications -------------------------------------------------------------------------------


def request_url(request: BackfillRequest) -> str:
    return reverse("workflow:detail", args=[request.pk])


def notify(
    *,
    recipients: Iterable[User],
    text: str,
    request: BackfillRequest | None = None,
    is_todo: bool = False,
) -> None:
    """In-app messages now, e-mails after commit (by a task)."""
    users = {u.pk: u for u in recipients}
    if not users:
        return
    url = request_url(request) if request else ""
    Notification.objects.bulk_create(
        [
            Notification(
                recipient_id=pk, request=request, text=text[:300], url=url, is_todo=is_todo
            )
            for pk in users
        ]
    )
    emails = [u.email for u in users.values() if u.email]
    if emails:
        email_enqueue(to=emails, text=text, url=url)


def email_enqueue(*, to: list[str], text: str, url: str) -> None:
    """One e-mail job, recorded with the change that causes it (the outbox): it is sent once
    the transaction commits and the broker takes it, however long the broker is down; a send
    that fails is tried again, then recorded as failed (`bulu.jobs`). Never raises into the
    page that made the change."""
    from bulu.jobs.services import job_enqueue
    from bulu.workflow.tasks import SEND_EMAIL

    job_enqueue(name=SEND_EMAIL, args=[to, text, url])


def _todos_done(request: BackfillRequest) -> None:
    """The request moved on: every 待办 about it is done, for everyone who got one."""
    now = timezone.now()
    Notification.objects.filter(request=request, is_todo=True, done_at__isnull=True).update(
        done_at=now, read_at=Coalesce("read_at", now)
    )


def _notify_arrival(request: BackfillRequest) -> None:
    step = request.current_step
    if request.state == State.PENDING and step is not None:
        deciders = set(_deciders(request))
        conflicted = set(
            User.objects.filter(people_conflicted(request=request)).values_list("pk", flat=True)
        )
        notify(
            recipients=[
                u for u in step_people(step) if u.pk not in conflicted and u.pk not in deciders
            ],
            request=request,
            is_todo=True,
            text=_("待办：%(title)s（%(applicant)s）等待你%(label)s。")
            % {"title": request.title, "applicant": request.applicant, "label": step.label},
        )


def owner_gap_report(*, role: str, organization: Organization | None, message: str) -> bool:
    """Tell the center, once per organization and step, that a route step has nobody.

    Runs in its own transaction (the refused submission writes nothing). Returns whether a
    message went out now.
    """
    if organization is None:
        organization = Organization.objects.filter(kind=_SCHOOL_UNIT.get(role, "")).first()
    if organization is None:
        return False  # no unit to record the gap on; the refusal message says what is missing
    try:
        with transaction.atomic():
            _alert, created = OwnerGapAlert.objects.get_or_create(
                organization=organization, role=role
            )
            if created:
                recipients = center_staff() or list(
                    User.objects.filter(is_superuser=True, is_active=True)
                )
                notify(
                    recipients=recipients,
                    text=_("缺少审核人：%(org)s 没有%(role)s，相关申请无法提交。%(message)s")
                    % {
                        "org": organization.name,
                        "role": StepRole(role).label,
                        "message": message,
                    },
                )
    except IntegrityError:  # a simultaneous refusal recorded it first
        return False
    return created


_SCHOOL_UNIT: dict[str, str] = {
    StepRole.CENTER: Organization.Kind.CENTER,
    StepRole.COMMITTEE: Organization.Kind.COMMITTEE,
}


# --- transitions ---------------------------------------------------------------------------------


def _lock(request: BackfillRequest, expected_version: int | None) -> BackfillRequest:
    """Re-read the request under a row lock; refuse when someone changed it meanwhile."""
    # No select_related here: PostgreSQL refuses FOR UPDATE on the nullable side of an outer join.
    locked = BackfillRequest.objects.select_for_update().get(pk=request.pk)
    if expected_version is not None and locked.version != expected_version:
        raise ApplicationError(STALE_MESSAGE)
    locked._tally_before = tally_key(locked)
    return locked


def _save(request: BackfillRequest) -> None:
    """Save a state change with what follows from it: version, queue columns, tallies."""
    request.version += 1
    step = request.current_step if request.state == State.PENDING else None
    request.waiting_org_id = step.organization_id if step else None
    request.waiting_role = step.role if step else ""
    try:
        request.save()
    except ConcurrentTransition as exc:
        raise ApplicationError(STALE_MESSAGE) from exc
    tally_move(getattr(request, "_tally_before", None), tally_key(request))


def _log(
    request: BackfillRequest,
    *,
    actor: User,
    decision: str,
    from_state: str,
    opinion: str = "",
    step: RouteStep | None = None,
    context: dict[str, Any] | None = None,
) -> ApprovalRecord:
    """Append a record to the request's log, chained to its previous record.

    Call with the request locked (`_lock`): the lock keeps one request's records in a line.
    """
    # Inside the decision's transaction: what listeners queue (PDF renders) is recorded with it.
    request_changed(request.pk)
    record = ApprovalRecord(
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
        submission=request.submission,
        context=context or {},
    )
    record_seal(record, _last_hashes([request.pk]).get(request.pk, ""))
    record.save()
    return record


def _last_hashes(request_ids: Sequence[int]) -> dict[int, str]:
    """The hash of each request's latest approval record (requests without one are absent)."""
    latest = (
        ApprovalRecord.objects.filter(request_id__in=request_ids)
        .values("request_id")
        .annotate(last=Max("pk"))
        .values("last")
    )
    return dict(
        ApprovalRecord.objects.filter(pk__in=Subquery(latest)).values_list("request_id", "hash")
    )


def _deciders(request: BackfillRequest) -> set[int]:
    """Who already decided at a step of the request's current submission, or signed a step it
    keeps from an earlier one (`bulu.workflow.resume`)."""
    return request_deciders(request=request)


def request_route(request: BackfillRequest) -> list[StepSpec]:
    """The kind's route; a missing owner refuses the submission and tells the center once."""
    try:
        route = list(kind_hooks(request.kind).route(request))
    except MissingStepOwner as gap:
        owner_gap_report(role=gap.role, organization=gap.organization, message=gap.message)
        raise
    if not route:
        raise ApplicationError(_("找不到可以审核该申请的老师或部门，请联系二课中心。"))
    for spec in route:
        _conflict_check(request, spec)
    return route


# Whom to ask for another holder of a step's role (as the missing-owner messages say).
_ASK_FOR_ANOTHER: dict[str, str] = {
    StepRole.COUNSELOR: gettext_noop("学院团总支"),
    StepRole.ADVISOR: gettext_noop("二课中心"),
    StepRole.SECRETARY: gettext_noop("二课中心"),
    StepRole.CENTER: gettext_noop("系统管理员"),
    StepRole.COMMITTEE: gettext_noop("二课中心"),
}


def _conflict_check(request: BackfillRequest, spec: StepSpec) -> None:
    """A step needs a holder who neither applied for the request nor is listed in it.

    Nobody signs a step of a request they are in (not even by filing it); when every holder of
    the step's role on its unit is, the submission is refused and says whom to ask.
    """
    holders = User.objects.filter(
        is_active=True,
        organizationuserobjectpermission__content_object_id=spec.organization.pk,
        organizationuserobjectpermission__permission__codename=STEP_PERMISSION[spec.role],
    ).distinct()
    conflicted = list(holders.filter(people_conflicted(request=request)))
    if not conflicted or holders.exclude(people_conflicted(request=request)).exists():
        return
    role = Membership.Role(OWNER_ROLE[spec.role]).label
    raise ApplicationError(
        _(
            "“%(label)s”须由%(org)s的%(role)s签署，但%(org)s的%(role)s（%(names)s）"
            "是本申请的申请人或名单中的人员，不能审核本申请。"
            "请联系%(whom)s为%(org)s增设一名%(role)s后再提交。"
        )
        % {
            "label": spec.label,
            "org": spec.organization.name,
            "role": role,
            "names": "、".join(u.get_full_name() for u in conflicted),
            "whom": _(_ASK_FOR_ANOTHER.get(spec.role, gettext_noop("二课中心"))),
        },
        extra={"role": spec.role},
    )


def request_submit(
    *,
    request: BackfillRequest,
    actor: User,
    expected_version: int | None = None,
    at: datetime | None = None,
) -> BackfillRequest:
    """Submit a draft, or resubmit a returned request: the route starts at step 1, or, when the
    returner chose so and nothing the earlier steps signed for changed, at the returner's step
    (`bulu.workflow.resume`).

    Call it outside any transaction of your own: when a step has no owner the submission is
    refused, and the alert to the center is committed on its own before the refusal is raised.
    """
    now = at or timezone.now()
    if actor.pk != request.applicant_id:
        raise AccessDenied(_("只有申请人本人可以提交该申请。"))
    route = request_route(request)
    with transaction.atomic():
        locked = _lock(request, expected_version)
        from_state = locked.state
        plan = ResumePlan()
        if from_state == State.DRAFT:
            locked.window = window_for_submission(kind=locked.kind, at=now)
            locked.submit()
            decision = Decision.SUBMIT
        elif from_state == State.RETURNED:
            locked.window = _window_for_resubmission(request=locked, at=now)
            locked.resubmit()
            decision = Decision.RESUBMIT
            plan = resume_plan(locked, route)
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
        # A filing never signs a step (a unit's own advisor or secretary who files needs another
        # holder of the role, see request_route): the route starts at step 1, or at the
        # returner's step with the earlier steps' signatures kept (named in the record).
        locked.start_index = locked.step_index = plan.start
        locked.current_step = steps[plan.start]
        locked.submitted_at = now
        locked.decided_at = None
        _save(locked)
        _log(
            locked,
            actor=actor,
            decision=decision,
            from_state=from_state,
            context={**_log_context(locked), **plan.context},
        )
        _todos_done(locked)
        _notify_arrival(locked)
    _copy_back(request, locked)
    return request


def _copy_back(target: BackfillRequest, source: BackfillRequest) -> None:
    """Keep the caller's instance current after we worked on a locked copy."""
    if target is not source:
        target.refresh_from_db()


def _log_context(request: BackfillRequest) -> dict[str, Any]:
    hooks = kind_hooks(request.kind)
    return hooks.log_context(request) if hooks.log_context else {}


DECISIONS_NEEDING_OPINION = {Decision.RETURN, Decision.REJECT}


def opinion_ensure_fits(opinion: str) -> None:
    """An opinion over `limits.OPINION` is refused (typed, or written by a service)."""
    limits.text_ensure_fits(opinion, limit=limits.OPINION, label=_("审核意见"))


def request_decide(
    *,
    request: BackfillRequest,
    actor: User,
    decision: str,
    expected_version: int,
    opinion: str = "",
    payload: object = None,
    confirmations: frozenset[str] = frozenset(),
    resume: str = "",
) -> BackfillRequest:
    """Approve, return (退回修改) or reject (不予通过) at the current step.

    `resume` (returns only): where the resubmission goes, `resume.RESTART` (step 1, the default)
    or `resume.OWN_STEP` (back to this step, offered after the first step).

    `expected_version` is the version the approver saw (required: a decision on a page that
    changed meanwhile is refused). `payload` is the kind's parsed extra input for this step
    (e.g. the center's recognized values), applied in the same transaction.
    """
    opinion = (opinion or "").strip()
    if decision not in STEP_DECISIONS:
        raise ApplicationError(_("未知的审核操作。"))
    if decision in DECISIONS_NEEDING_OPINION and not opinion:
        raise ApplicationError(_("退回修改或不予通过时，请填写意见（说明原因）。"))
    opinion_ensure_fits(opinion)
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
            raise AccessDenied(_("你不是该申请当前环节的审核人。"))
        if actor.pk == locked.applicant_id:
            raise AccessDenied(_("不能审核自己提交的申请，请由其他审核人处理。"))
        if request_conflicts_with(request=locked, user=actor):
            raise AccessDenied(_("你在该申请的名单中，不能审核该申请，请由其他审核人处理。"))
        if actor.pk in _deciders(locked):
            raise AccessDenied(
                _(
                    "你已在本次提交中审核过该申请的其他环节；同一人不能审核两个环节，请由其他审核人处理。"
                )
            )
        returning = (
            return_context(locked, step=step, resume=resume or RESTART)
            if decision == Decision.RETURN
            else {}
        )
        hooks = kind_hooks(locked.kind)
        if hooks.decision_apply is not None and step.role in hooks.decision_roles:
            hooks.decision_apply(locked, actor, decision, payload)
        # After the kind's own inputs: the checks judge what this decision will grant.
        checked: dict[str, Any] = {}
        for check in request_checks():
            if check.guard is not None:
                checked.update(check.guard(locked, actor, step, decision, opinion, confirmations))
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
        record = _log(
            locked,
            actor=actor,
            decision=decision,
            from_state=from_state,
            opinion=opinion,
            step=step,
            context={**_log_context(locked), **checked, **returning},
        )
        step_decided(locked, step, record)
        if locked.state == State.APPROVED:
            hooks.on_approved(locked)
        _todos_done(locked)
        _notify_decision(locked, decision=decision, opinion=opinion, step=step, record=record)
        _notify_arrival(locked)
    _copy_back(request, locked)
    return request


def _notify_decision(
    request: BackfillRequest,
    *,
    decision: str,
    opinion: str,
    step: RouteStep | None,
    record: ApprovalRecord,
) -> None:
    label = step.label if step else ""
    if request.state == State.APPROVED:
        text = _("你的申请“%(title)s”已审核通过。") % {"title": request.title}
        note_hook = kind_hooks(request.kind).approved_note
        note = note_hook(request) if note_hook else ""
        if note:
            text = f"{text}{note}"
    elif decision == Decision.APPROVE:
        text = _("你的申请“%(title)s”已通过%(label)s，进入下一环节。") % {
            "title": request.title,
            "label": label,
        }
    elif decision == Decision.RETURN:
        text = _("你的申请“%(title)s”被退回修改（%(where)s）：%(opinion)s") % {
            "title": request.title,
            "where": destination_text(record.context).rstrip("。"),
            "opinion": opinion,
        }
    else:
        text = _("你的申请“%(title)s”未获通过：%(opinion)s") % {
            "title": request.title,
            "opinion": opinion,
        }
    # The mail carries the whole text; the in-app message keeps its first 300 characters and
    # links to the request page, which shows every item.
    notify(recipients=[request.applicant], request=request, text=text)


def request_withdraw(
    *, request: BackfillRequest, actor: User, expected_version: int | None = None
) -> BackfillRequest:
    with transaction.atomic():
        locked = _lock(request, expected_version)
        if actor.pk != locked.applicant_id:
            raise AccessDenied(_("只有申请人本人可以撤回。"))
        if not has_transition_perm(locked.withdraw, actor):
            raise ApplicationError(_("审核已经开始，不能再撤回。"))
        from_state = locked.state
        locked.withdraw()
        locked.current_step = None
        _save(locked)
        _log(locked, actor=actor, decision=Decision.WITHDRAW, from_state=from_state)
        _todos_done(locked)
    _copy_back(request, locked)
    return request


def requests_decide_bulk(
    *, actor: User, items: Sequence[tuple[int, int]], opinion: str = ""
) -> tuple[list[BackfillRequest], list[tuple[int, str]]]:
    """Approve many requests with one opinion, each through the state machine on its own.

    `items` are (pk, version seen by the approver). Returns approved ones and (pk, reason) failures.
    """
    from bulu.workflow.selectors import todo_for_user

    opinion_ensure_fits((opinion or "").strip())  # one opinion for all: refused before any
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
        except ApplicationError as exc:
            failed.append((pk, exc.message))
    return done, failed


BULK_CHUNK = 2000
# Transitions that change the state and nothing else, with no conditions: the bulk path may
# apply them row by row in SQL after the state machine said where each source state leads.
BULK_TRANSITIONS = ("mark_exported", "unmark_exported", "confirm_imported")


def _bulk_target(transition: str, source: str) -> str:
    """Where `transition` takes a request in state `source`, asked of the state machine itself
    (django-fsm on a request in that state); a transition it refuses aborts the whole move."""
    probe = BackfillRequest(state=source)
    method = getattr(probe, transition)
    if not can_proceed(method):
        raise ApplicationError(STALE_MESSAGE)
    method()
    return str(probe.state)


def requests_move_bulk(
    *,
    requests: QuerySet[BackfillRequest],
    transition: str | None,
    actor: User,
    decision: str,
    opinion: str = "",
    context: dict[str, Any] | None = None,
    notify_text: str = "",
) -> list[int]:
    """Move many requests through one transition at once, keeping the per-request invariants.

    The same as `_lock` + transition + `_save` + `_log` + `notify` per request, in set-wise
    statements: rows locked (`FOR UPDATE`, in id order); the state machine decides each source
    state's target (django-fsm refuses a wrong source state: then nothing is written); one
    UPDATE per (from, to) state and chunk (version + 1, queue columns cleared: none of the bulk
    targets waits at a step); tally moves summed into one update per key; approval records and
    notifications by `bulk_create`, each record chained to its request's log (the rows are
    locked, so no decision appends in between). The `request_changed` listeners are not told:
    a bulk move (export, import, cancel) decides at no step, so nothing a printed form shows
    changes — and a 100k-record batch would otherwise queue ~20k PDF renders.
    `transition=None` only logs (the state stays; e.g. part of the request's records exported).
    `notify_text` (with `%(title)s`) goes to each applicant. Call inside a transaction.
    Returns the ids handled.
    """
    if transition is not None and transition not in BULK_TRANSITIONS:
        raise ValueError(f"{transition} is not a bulk transition")
    opinion_ensure_fits(opinion)
    ids = list(requests.select_for_update().order_by("pk").values_list("pk", flat=True))
    now = timezone.now()
    targets: dict[str, str] = {}
    moves: dict[tuple[TallyKey | None, TallyKey | None], int] = {}
    emails: list[tuple[list[str], str, str]] = []
    for first in range(0, len(ids), BULK_CHUNK):
        chunk = ids[first : first + BULK_CHUNK]
        rows = BackfillRequest.objects.filter(pk__in=chunk).values_list(
            "pk",
            "state",
            "kind",
            "title",
            "college_id",
            "window_id",
            "submitted_at",
            "submission",
            "applicant_id",
            "applicant__email",
        )
        groups: dict[tuple[str, str], list[int]] = {}
        records: list[ApprovalRecord] = []
        last = _last_hashes(chunk)
        notes: list[Notification] = []
        for (
            pk,
            state,
            kind,
            title,
            college,
            window,
            submitted,
            submission,
            applicant,
            email,
        ) in rows:
            target = state
            if transition is not None:
                if state not in targets:
                    targets[state] = _bulk_target(transition, state)
                target = targets[state]
                groups.setdefault((state, target), []).append(pk)
                if submitted is not None:
                    key = (
                        TallyKey(kind, state, college or 0, window or 0),
                        TallyKey(kind, target, college or 0, window or 0),
                    )
                    moves[key] = moves.get(key, 0) + 1
            record = ApprovalRecord(
                request_id=pk,
                actor=actor,
                decision=decision,
                opinion=opinion,
                from_state=state,
                to_state=target,
                submission=submission,
                context=context or {},
                created_at=now,
            )
            record_seal(record, last.get(pk, ""))
            records.append(record)
            if notify_text:
                text = (notify_text % {"title": title})[:300]
                url = reverse("workflow:detail", args=[pk])
                notes.append(
                    Notification(recipient_id=applicant, request_id=pk, text=text, url=url)
                )
                if email:
                    emails.append(([email], text, url))
        for (source, target), pks in groups.items():
            updated = BackfillRequest.objects.filter(pk__in=pks, state=source).update(
                state=target,
                version=F("version") + 1,
                waiting_org=None,
                waiting_role="",
                updated_at=now,
            )
            if updated != len(pks):
                raise ApplicationError(STALE_MESSAGE)
        if transition is not None:
            Notification.objects.filter(
                request_id__in=chunk, is_todo=True, done_at__isnull=True
            ).update(done_at=now, read_at=Coalesce("read_at", now))
        ApprovalRecord.objects.bulk_create(records, batch_size=BULK_CHUNK)
        Notification.objects.bulk_create(notes, batch_size=BULK_CHUNK)
    tally_move_counts(moves)
    for to, text, url in emails:
        email_enqueue(to=to, text=text, url=url)
    return ids


def notification_mark_read(*, user: User, pks: Iterable[int] | None = None) -> int:
    qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if pks is not None:
        qs = qs.filter(pk__in=list(pks))
    return qs.update(read_at=timezone.now())


def owner_gap_alerts_clear(*, organization_id: int, membership_role: str) -> None:
    """Someone now holds the role: a later gap there is reported again."""
    step_roles = [s for s, r in OWNER_ROLE.items() if r == membership_role]
    OwnerGapAlert.objects.filter(
        Q(organization_id=organization_id), Q(role__in=step_roles)
    ).delete()
