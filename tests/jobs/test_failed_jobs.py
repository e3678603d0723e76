"""A job that gave up is shown: the center's 后台任务 page with 重试, a request's PDF panel."""

from __future__ import annotations

import io
import socket
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from bulu.celery import app as celery_app
from bulu.jobs.models import Job
from bulu.jobs.services import job_enqueue, job_run
from bulu.workflow.services import email_enqueue
from documents.tasks import RENDER_TASK, render_key
from imports.models import RosterUpload
from imports.services import roster_upload_create, roster_upload_retry
from imports.tasks import ROSTER_VALIDATE
from tests.collective.conftest import Kit, kit  # noqa: F401
from tests.conftest import School
from tests.documents.conftest import club_request
from tests.imports.conftest import credit_settings, make_student, registry, roster_xlsx, row  # noqa: F401


@pytest.fixture
def with_broker() -> Any:
    """As with a worker: jobs are kept for it (three attempts), nothing runs in-process."""
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = eager


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_until_given_up(job: Job) -> Job:
    for _ in range(job.max_attempts):
        job_run(job_id=job.pk, token=str(job.token))
    job.refresh_from_db()
    return job


@pytest.fixture
def failed_email(school: School, settings: Any, with_broker: None) -> Job:
    # A real SMTP send to a port nobody listens on: every attempt fails.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port(), 2
    email_enqueue(to=["alice@example.edu.cn"], text="你的申请已通过", url="/flow/requests/1/")
    job = run_until_given_up(Job.objects.get())
    assert (job.state, job.attempts) == ("failed", 3)
    return job


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_center_sees_a_failed_email_and_retries_it(school: School, failed_email: Job) -> None:
    center = client_for(school.dave)
    page = center.get(reverse("jobs:failed")).content.decode()
    assert "发送邮件" in page and "发给 alice@example.edu.cn：你的申请已通过" in page
    assert "ConnectionRefusedError" in page  # the reason, for the person who can fix it
    assert 'class="badge err"' in page  # the menu says something failed

    response = center.post(reverse("jobs:retry", args=[failed_email.pk]))
    assert response.status_code == 302
    failed_email.refresh_from_db()
    assert failed_email.retried_by == school.dave and failed_email.state == "failed"
    fresh = Job.objects.exclude(pk=failed_email.pk).get()
    assert (fresh.state, fresh.args, fresh.attempts) == ("pending", failed_email.args, 0)
    page = center.get(reverse("jobs:failed")).content.decode()
    assert "没有失败的后台任务" in page and 'class="badge err"' not in page
    # Asked twice (two tabs): the second finds nothing to retry.
    assert center.post(reverse("jobs:retry", args=[failed_email.pk])).status_code == 404
    assert Job.objects.count() == 2


@pytest.mark.parametrize("who", ["alice", "bob", "carol", "erin"])
def test_nobody_but_the_center_sees_or_retries_jobs(
    school: School, failed_email: Job, who: str
) -> None:
    client = client_for(getattr(school, who))
    assert client.get(reverse("jobs:failed")).status_code == 403
    assert client.post(reverse("jobs:retry", args=[failed_email.pk])).status_code == 403
    failed_email.refresh_from_db()
    assert failed_email.retried_at is None and Job.objects.count() == 1


@pytest.mark.usefixtures("registry", "with_broker")
def test_a_roster_retried_by_the_center_shows_queued_to_its_owner(school: School) -> None:
    upload = roster_upload_create(
        user=school.bob, fileobj=io.BytesIO(roster_xlsx([row()])), filename="名单.xlsx"
    )
    job = Job.objects.get(name=ROSTER_VALIDATE)
    Job.objects.filter(pk=job.pk).update(state="failed", attempts=3, error="WorkerLostError")
    RosterUpload.objects.filter(pk=upload.pk).update(status="failed")
    center = client_for(school.dave)
    assert "名单“名单.xlsx”（王博 上传）" in center.get(reverse("jobs:failed")).content.decode()
    center.post(reverse("jobs:retry", args=[job.pk]))
    upload.refresh_from_db()
    assert upload.status == "queued"
    assert Job.objects.filter(name=ROSTER_VALIDATE, state="pending").count() == 1


@pytest.mark.usefixtures("registry", "with_broker")
def test_the_owners_own_retry_answers_the_failed_job(school: School) -> None:
    upload = roster_upload_create(
        user=school.bob, fileobj=io.BytesIO(roster_xlsx([row()])), filename="名单.xlsx"
    )
    Job.objects.update(state="failed", attempts=3)
    RosterUpload.objects.filter(pk=upload.pk).update(status="failed")
    upload.refresh_from_db()
    roster_upload_retry(upload=upload)
    assert not Job.objects.filter(state="failed", retried_at__isnull=True).exists()
    assert Job.objects.filter(state="pending").count() == 1


@pytest.mark.django_db
def test_a_failed_pdf_render_is_shown_on_the_request_with_a_retry(
    school: School,
    kit: Kit,  # noqa: F811
) -> None:
    request = club_request(school, kit)
    celery_app.conf.task_always_eager = False  # restored by the autouse fixture of tests/
    job = job_enqueue(name=RENDER_TASK, args=[request.pk], key=render_key(request.pk))
    Job.objects.filter(pk=job.pk).update(state="failed", attempts=3, error="SoftTimeLimitExceeded")
    url = reverse("workflow:detail", args=[request.pk])
    applicant = client_for(school.gina)
    assert "申请表 PDF 生成失败" in applicant.get(url).content.decode()

    # Someone who may not see the request gets 404 and queues nothing.
    stranger = client_for(school.oscar)
    assert stranger.post(reverse("documents:render_retry", args=[request.pk])).status_code == 404
    assert Job.objects.filter(state="pending").count() == 0

    assert applicant.post(reverse("documents:render_retry", args=[request.pk])).status_code == 302
    assert Job.objects.filter(key=render_key(request.pk), state="pending").count() == 1
    assert "申请表 PDF 生成失败" not in applicant.get(url).content.decode()
    # Nothing left to retry: a clear message, nothing queued twice.
    response = applicant.post(reverse("documents:render_retry", args=[request.pk]), follow=True)
    assert "没有生成失败" in response.content.decode()
    assert Job.objects.filter(key=render_key(request.pk), state="pending").count() == 1


@pytest.mark.django_db
def test_without_a_worker_a_pdf_retry_leaves_the_render_to_the_next_download(
    school: School,
    kit: Kit,  # noqa: F811
) -> None:
    request = club_request(school, kit)  # the embedded default: tasks run in-process
    failed = Job.objects.create(
        name=RENDER_TASK, args=[request.pk], key=render_key(request.pk), state="failed", attempts=1
    )
    applicant = client_for(school.gina)
    assert applicant.post(reverse("documents:render_retry", args=[request.pk])).status_code == 302
    failed.refresh_from_db()
    assert failed.retried_at is not None
    assert Job.objects.filter(name=RENDER_TASK).count() == 1  # nothing queued: no worker
    page = applicant.get(reverse("workflow:detail", args=[request.pk])).content.decode()
    assert "申请表 PDF 生成失败" not in page
    response = applicant.get(reverse("documents:download", args=[request.pk, "form"]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
