"""E-mail goes through the outbox: recorded with the change, handed over after commit; a broker
that is down is logged, never raised into the page, never stops the e-mails after it, and the
job stays for the sweeper."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import transaction

from bulu.celery import app as celery_app
from bulu.jobs.models import Job
from bulu.workflow.models import BackfillRequest, Decision, Notification, State
from bulu.workflow.services import requests_move_bulk
from personal import services
from personal.models import PersonalRequest
from tests.conftest import School
from tests.exports.conftest import approved_request

DELAY = "bulu.workflow.tasks.send_notification_email.apply_async"


def _emails(job_ids: object) -> list[list[str]]:
    return [Job.objects.get(pk=pk).args[0] for pk in job_ids]  # type: ignore[attr-defined]


@pytest.fixture
def broker() -> object:
    """Tasks go to a broker (not run in-process), as in production."""
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = eager


def test_a_broker_failure_does_not_break_the_submission(
    broker: None,
    school: School,
    draft: PersonalRequest,
    django_capture_on_commit_callbacks: object,
    caplog: pytest.LogCaptureFixture,
) -> None:
    school.bob.email = "bob@example.edu.cn"
    school.bob.save()
    with (
        mock.patch(DELAY, side_effect=ConnectionError("broker down")) as delay,
        django_capture_on_commit_callbacks(execute=True),  # type: ignore[operator]
    ):
        services.personal_request_submit(request=draft, actor=school.alice)
    delay.assert_called_once()
    job = Job.objects.get(pk=delay.call_args.kwargs["args"][0])
    assert job.args[0] == ["bob@example.edu.cn"]
    assert (job.state, job.published_at) == ("pending", None)  # kept for the sweeper
    draft.refresh_from_db()
    assert draft.state == State.PENDING
    assert Notification.objects.filter(recipient=school.bob, request=draft).exists()
    assert "broker unreachable, kept for later" in caplog.text


def test_one_failed_e_mail_does_not_stop_the_others_of_a_bulk_move(
    broker: None, school: School, django_capture_on_commit_callbacks: object
) -> None:
    school.alice.email = "alice@example.edu.cn"
    school.alice.save()
    school.olivia.email = "olivia@example.edu.cn"
    school.olivia.save()
    approved_request(school)
    approved_request(school, applicant=school.olivia)
    with (
        mock.patch(DELAY, side_effect=[ConnectionError("broker down"), None]) as delay,
        django_capture_on_commit_callbacks(execute=True),  # type: ignore[operator]
        transaction.atomic(),
    ):
        requests_move_bulk(
            requests=BackfillRequest.objects.all(),
            transition="mark_exported",
            actor=school.dave,
            decision=Decision.EXPORT,
            notify_text="“%(title)s”已导出",
        )
    assert delay.call_count == 2
    sent = _emails(c.kwargs["args"][0] for c in delay.call_args_list)
    assert {tuple(e) for e in sent} == {
        ("alice@example.edu.cn",),
        ("olivia@example.edu.cn",),
    }
    assert set(BackfillRequest.objects.values_list("state", flat=True)) == {State.EXPORTED}


def test_without_a_broker_a_mail_server_refusing_does_not_break_the_submission(
    settings: object,
    school: School,
    draft: PersonalRequest,
    django_capture_on_commit_callbacks: object,
) -> None:
    """In-process (no broker): the real SMTP backend against a port nobody listens on."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"  # type: ignore[attr-defined]
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # type: ignore[attr-defined]
    settings.EMAIL_TIMEOUT = 2  # type: ignore[attr-defined]
    school.bob.email = "bob@example.edu.cn"
    school.bob.save()
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        services.personal_request_submit(request=draft, actor=school.alice)
    draft.refresh_from_db()
    assert draft.state == State.PENDING
    # Tried in-process once, recorded as failed (the mail server said no): nothing lost silently.
    job = Job.objects.get(name="workflow.send_notification_email")
    assert job.state == "failed" and job.error
