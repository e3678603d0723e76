"""Reads of the shared workflow, already narrowed to what the user may see."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import Organization, User
from accounts.selectors import organizations_for_user, user_is_school_wide
from bulu.workflow.models import (
    STEP_PERMISSION,
    ApprovalRecord,
    BackfillRequest,
    Notification,
    RouteStep,
    State,
    Window,
)


def _orgs(user: User, codename: str) -> QuerySet[Organization]:
    return organizations_for_user(user=user, perm=f"accounts.{codename}")


def _acting_steps(user: User) -> Q:
    """Route steps at which `user` may act: the step's permission on the step's organization."""
    q = Q(pk__in=[])
    for role, codename in STEP_PERMISSION.items():
        q |= Q(role=role, organization__in=_orgs(user, codename))
    return q


def requests_visible_to(*, user: User) -> QuerySet[BackfillRequest]:
    """Own requests, those of units the user applies for, and those routed through the user."""
    qs = BackfillRequest.objects.all()
    if user_is_school_wide(user=user):
        # A draft is the applicant's own until it is first submitted.
        return qs.filter(Q(submitted_at__isnull=False) | Q(applicant=user))
    routed = RouteStep.objects.filter(_acting_steps(user)).values("request_id")
    return qs.filter(
        Q(applicant=user) | Q(applicant_org__in=_orgs(user, "submit_for_org")) | Q(pk__in=routed)
    )


def request_get_for_user(*, user: User, pk: int) -> BackfillRequest:
    try:
        return requests_visible_to(user=user).get(pk=pk)
    except BackfillRequest.DoesNotExist as exc:
        raise Http404 from exc


def todo_for_user(*, user: User) -> QuerySet[BackfillRequest]:
    """我的待办: pending requests whose current step the user may act on.

    Joined through `current_step` (pending requests are few) rather than testing membership in
    the set of all route steps the user could act on (three per request, 300k at 100k requests).
    """
    q = Q(pk__in=[])
    for role, codename in STEP_PERMISSION.items():
        # A user acts for a handful of organizations: literal ids let the database start from
        # the route-step index instead of testing every pending request against a subquery.
        org_ids = list(_orgs(user, codename).values_list("pk", flat=True))
        if org_ids:
            q |= Q(current_step__role=role, current_step__organization_id__in=org_ids)
    # Nobody reviews their own request, whatever roles they hold.
    return BackfillRequest.objects.filter(q, state=State.PENDING).exclude(applicant=user)


def request_list_for_display(qs: QuerySet[BackfillRequest]) -> QuerySet[BackfillRequest]:
    """Everything a list row shows, in a constant number of queries."""
    return qs.select_related(
        "applicant", "applicant_org", "college", "current_step__organization", "window"
    )


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
    return request_list_for_display(
        requests_filter(
            qs,
            kind=kind,
            college=college,
            klass=klass,
            window=window,
            waiting_days=waiting_days,
            search=search,
        )
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
    return todo_for_user(user=user).filter(pk=request.pk).exists()


def windows_open(*, at: datetime | None = None, kind: str = "") -> QuerySet[Window]:
    now = at or timezone.now()
    qs = Window.objects.filter(is_published=True, opens_at__lte=now, closes_at__gt=now)
    return qs.filter(kind=kind) if kind else qs


def notifications_for(*, user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=user)


def notifications_unread_count(*, user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()
