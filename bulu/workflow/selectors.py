"""Reads of the shared workflow, already narrowed to what the user may see."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.models import Membership, Organization, User
from accounts.selectors import (
    Scope,
    user_scope,
    user_scope_classes,
    user_scope_colleges,
)
from bulu.workflow.models import (
    STEP_PERMISSION,
    ApprovalRecord,
    BackfillRequest,
    Decision,
    Kind,
    Notification,
    OwnerGapAlert,
    RouteStep,
    State,
    StepRole,
    Window,
)
from bulu.workflow.registry import kind_hooks, registered_kinds
from bulu.workflow.routing import OWNER_ROLE, STEP_ORG_KINDS

STEP_DECISIONS = (Decision.APPROVE, Decision.RETURN, Decision.REJECT)


def _acting_steps(scope: Scope) -> Q:
    """Route steps at which the scope's user may act: the step's permission on its organization."""
    q = Q(pk__in=[])
    for role, codename in STEP_PERMISSION.items():
        org_ids = scope.org_ids(codename)
        if org_ids:
            q |= Q(role=role, organization_id__in=sorted(org_ids))
    return q


def requests_visible_to(*, user: User) -> QuerySet[BackfillRequest]:
    """Own requests, those of units the user applies for, and those routed through the user.

    A draft is its author's alone until it is first submitted, whoever else may look.
    """
    qs = BackfillRequest.objects.all()
    scope = user_scope(user=user)
    if scope.school_wide:
        return qs.filter(Q(submitted_at__isnull=False) | Q(applicant=user))
    routed = RouteStep.objects.filter(_acting_steps(scope)).values("request_id")
    unit = sorted(scope.org_ids("submit_for_org"))
    return qs.filter(
        Q(applicant=user)
        | (Q(submitted_at__isnull=False) & (Q(applicant_org_id__in=unit) | Q(pk__in=routed)))
    )


def request_get_for_user(*, user: User, pk: int) -> BackfillRequest:
    try:
        return (
            requests_visible_to(user=user)
            .select_related(
                "applicant", "applicant_org__parent", "current_step__organization", "window"
            )
            .get(pk=pk)
        )
    except BackfillRequest.DoesNotExist as exc:
        raise Http404 from exc


def kept_approvals(
    *, request_id: Any, start_index: Any, submission: Any
) -> QuerySet[ApprovalRecord]:
    """The earlier submissions' approvals a submission that started at `start_index` keeps: the
    latest approval at each step before it (docs/decisions.md, "Returns"). None when it started
    at step 1. The arguments may be values or `OuterRef`s (the queues)."""
    newer = ApprovalRecord.objects.filter(
        request_id=OuterRef("request_id"),
        step_index=OuterRef("step_index"),
        decision=Decision.APPROVE,
        pk__gt=OuterRef("pk"),
    )
    return (
        ApprovalRecord.objects.filter(
            request_id=request_id,
            decision=Decision.APPROVE,
            step_index__lt=start_index,
            submission__lt=submission,
        )
        .exclude(Exists(newer))
        .order_by("step_index")
    )


def _decided_by(user: User) -> Q:
    """The user already decided at a step of this submission, or signed a step it keeps from an
    earlier one (four eyes: not again)."""
    return Q(
        Exists(
            ApprovalRecord.objects.filter(
                request_id=OuterRef("pk"),
                submission=OuterRef("submission"),
                actor_id=user.pk,
                decision__in=STEP_DECISIONS,
            )
        )
    ) | Q(
        Exists(
            kept_approvals(
                request_id=OuterRef("pk"),
                start_index=OuterRef("start_index"),
                submission=OuterRef("submission"),
            ).filter(actor_id=user.pk)
        )
    )


def requests_conflicted_for(*, user: User) -> Q:
    """Requests the user applied for or is listed in: they sign no step of those."""
    q = Q(applicant_id=user.pk)
    for kind in registered_kinds():
        listing = kind_hooks(kind).listing
        if listing is not None:
            q |= listing(user)
    return q


def request_conflicts_with(*, request: BackfillRequest, user: User) -> bool:
    if request.applicant_id == user.pk:
        return True
    listing = kind_hooks(request.kind).listing
    return listing is not None and (
        BackfillRequest.objects.filter(listing(user), pk=request.pk).exists()
    )


def people_conflicted(*, request: BackfillRequest) -> Q:
    """A Q over User: the applicant and everyone the request lists."""
    q = Q(pk=request.applicant_id)
    listed = kind_hooks(request.kind).listed
    if listed is not None:
        q |= listed(request)
    return q


def todo_for_user(*, user: User) -> QuerySet[BackfillRequest]:
    """我的待办: pending requests whose current step the user may act on.

    The current step's organization and role are copied onto the request (`waiting_org`,
    `waiting_role`, index `todo_queue` over pending requests), tested against the organizations
    the user acts for (literal ids: a user acts for a handful). Nobody reviews their own request,
    one they are listed in (a roster row, a cadre entry) or a request they already decided at
    another step of the same submission.
    """
    scope = user_scope(user=user)
    q = Q(pk__in=[])
    for role, codename in STEP_PERMISSION.items():
        org_ids = scope.org_ids(codename)
        if org_ids:
            q |= Q(waiting_role=role, waiting_org_id__in=sorted(org_ids))
    return (
        BackfillRequest.objects.filter(q, state=State.PENDING)
        .exclude(requests_conflicted_for(user=user))
        .exclude(_decided_by(user))
    )


def request_list_for_display(qs: QuerySet[BackfillRequest]) -> QuerySet[BackfillRequest]:
    """Everything a list row shows, in a constant number of queries."""
    return qs.select_related("applicant", "applicant_org", "college", "current_step")


def todo_filtered(
    *,
    user: User,
    kind: str = "",
    college: str = "",
    klass: str = "",
    window: str = "",
    waiting_days: int | None = None,
    search: str = "",
) -> QuerySet[BackfillRequest]:
    qs = todo_for_user(user=user)
    return requests_filter(
        qs,
        kind=kind,
        college=college,
        klass=klass,
        window=window,
        waiting_days=waiting_days,
        search=search,
    ).order_by("updated_at", "pk")


def requests_filter(
    qs: QuerySet[BackfillRequest],
    *,
    kind: str = "",
    college: str = "",
    klass: str = "",
    window: str = "",
    state: str = "",
    waiting_days: int | None = None,
    search: str = "",
) -> QuerySet[BackfillRequest]:
    if kind:
        qs = qs.filter(kind=kind)
    if college.isdigit():
        qs = qs.filter(college_id=int(college))
    if klass.isdigit():
        qs = qs.filter(applicant_org_id=int(klass))
    if window.isdigit():
        qs = qs.filter(window_id=int(window))
    if state:
        qs = qs.filter(state=state)
    if waiting_days:
        qs = qs.filter(updated_at__lt=timezone.now() - timedelta(days=waiting_days))
    search = search.strip()
    if search:
        qs = qs.filter(
            Q(applicant__username__startswith=search)
            | Q(applicant__name__contains=search)
            | Q(title__contains=search)
        )
    return qs


def request_log(*, request: BackfillRequest) -> QuerySet[ApprovalRecord]:
    return request.log.select_related("actor", "organization").order_by("created_at", "pk")


def request_may_act(*, user: User, request: BackfillRequest) -> bool:
    """Whether `user` may decide at the request's current step now (the queue's rule)."""
    step = request.current_step
    if request.state != State.PENDING or step is None or request.applicant_id == user.pk:
        return False
    if not user_scope(user=user).has(STEP_PERMISSION[step.role], step.organization_id):
        return False
    if request_conflicts_with(request=request, user=user):
        return False
    return user.pk not in request_deciders(request=request)


def request_deciders(*, request: BackfillRequest) -> set[int]:
    """Who decided at a step of the current submission, or signed a step it keeps (four eyes)."""
    current = Q(submission=request.submission, decision__in=STEP_DECISIONS)
    if request.start_index:
        kept = kept_approvals(
            request_id=request.pk, start_index=request.start_index, submission=request.submission
        )
        current |= Q(pk__in=kept.values("pk"))
    return set(
        ApprovalRecord.objects.filter(current, request_id=request.pk).values_list(
            "actor_id", flat=True
        )
    )


def my_requests(*, user: User) -> QuerySet[BackfillRequest]:
    """我的申请: the user's own requests of every kind."""
    return BackfillRequest.objects.filter(applicant=user).order_by("-created_at", "-pk")


# --- windows ---------------------------------------------------------------------------------


def windows_open(*, at: datetime | None = None, kind: str = "") -> QuerySet[Window]:
    now = at or timezone.now()
    qs = Window.objects.filter(
        is_published=True, opens_at__lte=now, closes_at__gt=now, kind__in=registered_kinds()
    )
    return qs.filter(kind=kind) if kind else qs


# --- windows -------------------------------------------------------------------------------------


def moment_text(dt: datetime) -> str:
    return date_format(timezone.localtime(dt), "Y年n月j日 H:i")


@dataclass(frozen=True)
class WindowVerdict:
    """Whether `kind` takes submissions at a moment, the window they go into, and why not."""

    open: bool
    window: Window | None
    reason: str = ""


def window_verdict(
    *, kind: str, at: datetime, published: Sequence[Window] | None = None
) -> WindowVerdict:
    """Collective requests need no window unless the center has published one for them."""
    windows = [
        w
        for w in (
            published
            if published is not None
            else Window.objects.filter(kind=kind, is_published=True)
        )
        if w.kind == kind and w.is_published
    ]
    open_now = sorted(
        (w for w in windows if w.opens_at <= at < w.closes_at), key=lambda w: w.closes_at
    )
    if open_now:
        return WindowVerdict(True, open_now[0])
    if kind == Kind.COLLECTIVE and not windows:
        return WindowVerdict(True, None)
    label = Kind(kind).label
    upcoming = sorted((w for w in windows if w.opens_at > at), key=lambda w: w.opens_at)
    past = sorted((w for w in windows if w.closes_at <= at), key=lambda w: w.closes_at)
    if upcoming:
        w = upcoming[0]
        reason = _("%(kind)s尚未开放：《%(title)s》的提交时间为 %(start)s 至 %(end)s。") % {
            "kind": label,
            "title": w.title,
            "start": moment_text(w.opens_at),
            "end": moment_text(w.closes_at),
        }
    elif past:
        w = past[-1]
        reason = _(
            "%(kind)s已截止：《%(title)s》的提交时间为 %(start)s 至 %(end)s。"
            "按规定，因自身原因未按时提交的不再补录。"
        ) % {
            "kind": label,
            "title": w.title,
            "start": moment_text(w.opens_at),
            "end": moment_text(w.closes_at),
        }
    else:
        reason = _("%(kind)s当前没有开放的补录通知，请留意二课中心发布的通知。") % {"kind": label}
    return WindowVerdict(False, None, reason)


# --- who acts ------------------------------------------------------------------------------------


def step_people(step: RouteStep) -> list[User]:
    """Everyone who may act at `step` (holders of its permission on its organization)."""
    codename = STEP_PERMISSION[step.role]
    return list(
        User.objects.filter(
            is_active=True,
            organizationuserobjectpermission__content_object_id=step.organization_id,
            organizationuserobjectpermission__permission__codename=codename,
        ).distinct()
    )


def center_staff() -> list[User]:
    return list(
        User.objects.filter(
            is_active=True,
            memberships__role=Membership.Role.CENTER_STAFF,
            memberships__organization__is_active=True,
        ).distinct()
    )


def window_open_for(*, kind: str, at: datetime | None = None) -> Window | None:
    """The open published notice of `kind` (the one closing first when several overlap)."""
    return windows_open(at=at, kind=kind).order_by("closes_at", "pk").first()


def window_next_for(*, kind: str, at: datetime | None = None) -> Window | None:
    """The next published notice of `kind` that has not opened yet."""
    now = at or timezone.now()
    return (
        Window.objects.filter(kind=kind, is_published=True, opens_at__gt=now)
        .order_by("opens_at", "pk")
        .first()
    )


@dataclass(frozen=True)
class NewRequestEntry:
    kind: str
    label: str
    url_name: str


def kinds_user_may_start(*, user: User, roles: frozenset[str]) -> list[NewRequestEntry]:
    """ "新建…" entries: registered kinds open for submission now that this user may apply for."""
    now = timezone.now()
    published = list(Window.objects.filter(is_published=True, kind__in=registered_kinds()))
    entries = []
    for kind in registered_kinds():
        hooks = kind_hooks(kind)
        if not hooks.may_apply(roles):
            continue
        if not window_verdict(kind=kind, at=now, published=published).open:
            continue
        entries.append(NewRequestEntry(kind, str(Kind(kind).label), hooks.create_url_name))
    return entries


# --- messages --------------------------------------------------------------------------------


def notifications_for(*, user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=user)


def notifications_unread_count(*, user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


# --- step owners ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OwnerGap:
    """An organization (or a school unit that does not exist yet) lacking a step's owner."""

    role: str
    kind_label: str
    organization: Organization | None
    college: Organization | None
    notified_at: datetime | None

    @property
    def owner_role(self) -> str:
        return OWNER_ROLE[self.role]

    @property
    def role_label(self) -> str:
        return str(Membership.Role(self.owner_role).label)


def owner_gaps() -> list[OwnerGap]:
    """Every organization that lacks an owner for a step some route needs.

    Classes (with students) need a counselor, 团总支 a secretary, organizations and clubs an
    advisor; the school needs center staff and a committee reviewer. One query per step role.
    """
    alerts = {(a.organization_id, a.role): a.notified_at for a in OwnerGapAlert.objects.all()}
    gaps: list[OwnerGap] = []
    for role, org_kinds in STEP_ORG_KINDS.items():
        holders = Membership.objects.filter(
            organization_id=OuterRef("pk"), role=OWNER_ROLE[role], user__is_active=True
        )
        orgs = Organization.objects.filter(kind__in=org_kinds, is_active=True).select_related(
            "parent"
        )
        if role == StepRole.COUNSELOR:
            students = Membership.objects.filter(
                organization_id=OuterRef("pk"), role=Membership.Role.STUDENT
            )
            orgs = orgs.filter(Exists(students))
        found = list(orgs.annotate(has_owner=Exists(holders)).order_by("parent__name", "name"))
        if role in (StepRole.CENTER, StepRole.COMMITTEE) and not found:
            gaps.append(OwnerGap(role, "", None, None, None))
            continue
        for org in found:
            if not org.has_owner:
                gaps.append(
                    OwnerGap(
                        role,
                        org.get_kind_display(),
                        org,
                        org.college,
                        alerts.get((org.pk, role)),
                    )
                )
    return gaps


@dataclass(frozen=True)
class FilterChoices:
    colleges: list[tuple[int, str]]
    classes: list[tuple[int, str]]
    windows: list[tuple[int, str]]
    pick_college_first: bool  # school-wide and no college chosen: no class list yet


def queue_filter_choices(*, user: User, college: str) -> FilterChoices:
    """The choices of the queue and overview filters: the user's colleges, the classes of the
    chosen college (or of the user's scope), the last dozen notices.

    They change a few times a term, and reading them was three queries on every queue page:
    kept in the cache per user and chosen college for BULU_FILTER_CHOICES_SECONDS (a class or
    notice added meanwhile shows up in the lists that much later)."""
    college = college if college.isdigit() else ""
    key = f"workflow:filter-choices:{user.pk}:{college}"
    found = cache.get(key)
    if isinstance(found, FilterChoices):
        return found
    school_wide = user_scope(user=user).school_wide
    colleges = user_scope_colleges(user=user).order_by("name").values_list("pk", "name")
    classes = user_scope_classes(user=user)
    if college:
        classes = classes.filter(parent_id=int(college))
    elif school_wide:  # a school has hundreds of classes: choose the college first
        classes = classes.none()
    # Notices are a few a year: the last dozen cover the ones anyone still filters by.
    windows = Window.objects.order_by("-opens_at").values_list("pk", "title")[:12]
    choices = FilterChoices(
        colleges=list(colleges),
        classes=list(classes.order_by("name").values_list("pk", "name")[:200]),
        windows=list(windows),
        pick_college_first=school_wide and not college,
    )
    cache.set(key, choices, settings.BULU_FILTER_CHOICES_SECONDS)
    return choices
