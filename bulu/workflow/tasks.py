"""Thin Celery tasks of the workflow: e-mail and the daily reminders."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bulu.jobs.services import job_handler

SEND_EMAIL = "workflow.send_notification_email"


def notification_email_send(emails: list[str], text: str, url: str) -> int:
    body = f"{text}\n\n{url}" if url else text
    return send_mail(
        subject="【第二课堂积分补录】" + text[:40],
        message=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=emails,
        fail_silently=False,
    )


def _email_described(args: Sequence[Any]) -> tuple[str, str]:
    emails, text = args[0], args[1]
    return _("发给 %(to)s：%(text)s") % {"to": "、".join(emails), "text": text[:60]}, ""


send_notification_email = job_handler(
    SEND_EMAIL, time_limit=120, label=gettext_lazy("发送邮件"), describe=_email_described
)(notification_email_send)


@shared_task(name="workflow.remind_windows_closing")
def remind_windows_closing() -> int:
    from bulu.workflow.reminders import reminders_windows_closing

    return reminders_windows_closing()


@shared_task(name="workflow.remind_waiting_approvers")
def remind_waiting_approvers() -> int:
    from bulu.workflow.reminders import reminders_waiting_approvers

    return reminders_waiting_approvers()
