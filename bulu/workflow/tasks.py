"""Thin Celery tasks of the workflow: e-mail and the daily reminders."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail

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


send_notification_email = job_handler(SEND_EMAIL, time_limit=120)(notification_email_send)


@shared_task(name="workflow.remind_windows_closing")
def remind_windows_closing() -> int:
    from bulu.workflow.reminders import reminders_windows_closing

    return reminders_windows_closing()


@shared_task(name="workflow.remind_waiting_approvers")
def remind_waiting_approvers() -> int:
    from bulu.workflow.reminders import reminders_waiting_approvers

    return reminders_waiting_approvers()
