"""Daily reminders run by Celery beat: windows about to close, requests waiting too long."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from bulu.workflow.models import BackfillRequest, Notification, RouteStep, State, Window
from bulu.workflow.selectors import moment_text, request_conflicts_with, step_people
from bulu.workflow.services import notify

WINDOW_REMINDER_DAYS = 3


def reminders_windows_closing() -> int:
    """Three days before a window closes, remind students whose draft or returned request waits.

    Each window reminds once (`Window.reminded_at`).
    """
    now = timezone.now()
    sent = 0
    windows = Window.objects.filter(
        is_published=True,
        reminded_at__isnull=True,
        closes_at__gt=now,
        closes_at__lte=now + timedelta(days=WINDOW_REMINDER_DAYS),
    )
    for window in windows:
        with transaction.atomic():
            locked = Window.objects.select_for_update().get(pk=window.pk)
            if locked.reminded_at is not None:
                continue
            # Drafts have no window yet; returned requests belong to the one they were sent in.
            waiting = BackfillRequest.objects.filter(
                Q(window__isnull=True) | Q(window=window),
                kind=window.kind,
                state__in=[State.DRAFT, State.RETURNED],
            )
            users = User.objects.filter(pk__in=waiting.values("applicant_id"))
            text = _("《%(title)s》将于 %(end)s 截止，你还有未提交的申请，请尽快提交。") % {
                "title": window.title,
                "end": moment_text(window.closes_at),
            }
            notify(recipients=users, text=text)
            sent += users.count()
            locked.reminded_at = now
            locked.save(update_fields=["reminded_at"])
    return sent


def reminders_waiting_approvers() -> int:
    """One digest per approver for requests that wait at their step longer than configured."""
    days = settings.BULU_REMINDER_WAITING_DAYS
    cutoff = timezone.now() - timedelta(days=days)
    waiting = BackfillRequest.objects.filter(
        state=State.PENDING, updated_at__lt=cutoff, current_step__isnull=False
    ).values_list("current_step_id", flat=True)
    per_user: dict[int, tuple[User, int]] = {}
    counts: dict[int, int] = defaultdict(int)
    steps = RouteStep.objects.filter(pk__in=list(waiting)).select_related("organization", "request")
    for step in steps:
        for user in step_people(step):
            if request_conflicts_with(request=step.request, user=user):
                continue  # they may not decide it (their own request, or they are listed)
            per_user[user.pk] = (user, 0)
            counts[user.pk] += 1
    sent = 0
    today = timezone.localdate()
    for pk, (user, _zero) in per_user.items():
        text = _("你有 %(n)d 个申请已等待超过 %(days)d 天，请尽快审核。") % {
            "n": counts[pk],
            "days": days,
        }
        already = Notification.objects.filter(
            recipient=user, text=text, created_at__date=today
        ).exists()
        if not already:
            notify(recipients=[user], text=text)
            sent += 1
    return sent
