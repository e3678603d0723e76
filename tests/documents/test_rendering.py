"""The renderer's safety (fetcher, hostile text, time guard), caching, the system check, the
command and the hook that renders after a decision."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import TestCase

from bulu.celery import app as celery_app
from documents import checks, rendering, services, verification
from documents.models import RequestDocument
from tests.collective.conftest import Kit
from tests.conftest import School, decide
from tests.documents.conftest import club_request, pdf_bytes, pdf_text, render, squash

HOSTILE = '<img src=file:///etc/passwd> url(file:///etc/passwd) <link rel=stylesheet href="http://example.com/x.css">'


@pytest.fixture
def fetch_log(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every URL WeasyPrint asks the fetcher for, allowed or not."""
    seen: list[str] = []
    fetcher: Any = rendering.fetcher_class()
    original = fetcher.fetch

    def spy(self: Any, url: str, headers: Any = None) -> Any:
        seen.append(url)
        return original(self, url, headers)

    monkeypatch.setattr(fetcher, "fetch", spy)
    return seen


def test_the_fetcher_allows_data_and_our_static_files_only() -> None:
    fetcher = rendering.fetcher_class()()
    css = rendering.static_root() / "css" / "bulu.css"
    assert fetcher.fetch(css.as_uri()).read() == css.read_bytes()
    assert fetcher.fetch("data:text/plain,hi").read() == b"hi"
    for url in (
        "file:///etc/passwd",
        (rendering.static_root() / ".." / "bulu" / "settings.py").as_uri(),
        "http://127.0.0.1:8000/",
        "https://example.com/a.png",
        "ftp://example.com/x",
    ):
        with pytest.raises(ValueError):
            fetcher.fetch(url)
    assert len(fetcher.blocked) == 5


@pytest.mark.django_db
def test_hostile_text_is_printed_literally_and_fetches_nothing(
    school: School, kit: Kit, fetch_log: list[str]
) -> None:
    request = club_request(
        school, kit, activity_name=HOSTILE[:200], location="url(file:///etc/passwd)"
    )
    doc = render(request, "form")
    text = squash(pdf_text(pdf_bytes(doc)))
    assert squash("<img src=file:///etc/passwd>") in text
    assert "url(file:///etc/passwd)" in text
    assert "root:" not in text  # /etc/passwd was never read into the document
    assert fetch_log and all(url.startswith("data:") for url in fetch_log), fetch_log


@pytest.mark.django_db
def test_a_stored_pdf_is_reused_until_what_it_shows_changes(school: School, kit: Kit) -> None:
    request = club_request(school, kit)
    first = render(request, "form")
    name = first.file.name
    with mock.patch.object(rendering, "render", side_effect=AssertionError("rendered again")):
        assert render(request, "form").pk == first.pk
    with TestCase.captureOnCommitCallbacks(execute=True):
        decide(request, school.frank)
    with TestCase.captureOnCommitCallbacks(execute=True):
        second = render(request, "form")
    assert second.pk == first.pk and second.code != first.code
    assert second.log_count == first.log_count + 1
    assert second.file.name != name
    assert name and not second.file.storage.exists(name)  # the outdated file is gone
    assert verification.code_verify(second.code).status == "genuine"
    assert verification.code_verify(first.code).status == "outdated"


@pytest.mark.django_db
def test_the_web_guard_stops_a_render_that_takes_too_long(school: School, kit: Kit) -> None:
    import threading

    request = club_request(school, kit)
    form = services.form_get(request=request, key="form")
    built = services.document_html(request=request, form=form)
    # On the main thread: a timer signal; off it (a threaded server): a forked child.
    with pytest.raises(rendering.RenderTimeout):
        rendering.render_guarded(built.html, timeout=0.001)
    assert rendering.render_guarded(built.html, timeout=120).pages == 2
    outcome: dict[str, Any] = {}

    def off_main_thread() -> None:
        try:
            rendering.render_guarded(built.html, timeout=0.001)
        except rendering.RenderTimeout as exc:
            outcome["timeout"] = exc
        outcome["ok"] = rendering.render_guarded(built.html, timeout=120)

    worker = threading.Thread(target=off_main_thread)
    worker.start()
    worker.join(180)
    assert isinstance(outcome.get("timeout"), rendering.RenderTimeout)
    assert outcome["ok"].pdf.startswith(b"%PDF-") and outcome["ok"].pages == 2


def test_the_check_reports_a_missing_font_or_harfbuzz(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checks, "harfbuzz_subset_found", lambda: True)
    monkeypatch.setattr(checks, "cjk_families", lambda: {"AR PL UMing CN", "AR PL UKai CN"})
    assert checks.pdf_fonts_check() == []
    monkeypatch.setattr(checks, "cjk_families", lambda: {"Noto Sans CJK SC"})
    assert [c.id for c in checks.pdf_fonts_check()] == ["documents.W001"]
    monkeypatch.setattr(checks, "cjk_families", lambda: {"DejaVu Sans"})
    assert [c.id for c in checks.pdf_fonts_check()] == ["documents.E003"]
    monkeypatch.setattr(checks, "cjk_families", lambda: None)
    assert [c.id for c in checks.pdf_fonts_check()] == ["documents.E002"]
    monkeypatch.setattr(checks, "harfbuzz_subset_found", lambda: False)
    assert "documents.E001" in [c.id for c in checks.pdf_fonts_check()]


def test_this_machine_passes_the_check() -> None:
    assert checks.pdf_fonts_check() == []


@pytest.mark.django_db
def test_render_pdf_writes_the_requests_pdfs(school: School, kit: Kit, tmp_path: Path) -> None:
    request = club_request(school, kit)
    out = io.StringIO()
    call_command("render_pdf", str(request.pk), "--out", str(tmp_path), stdout=out)
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == [f"{request.pk}-form.pdf", f"{request.pk}-letter.pdf"]
    assert "申请书" in pdf_text((tmp_path / f"{request.pk}-letter.pdf").read_bytes())
    assert "code" in out.getvalue()


@pytest.mark.django_db
def test_render_pdf_refuses_a_draft(school: School, kit: Kit, tmp_path: Path) -> None:
    from django.core.management.base import CommandError

    from collective import services as collective_services

    draft = collective_services.collective_request_create(actor=school.gina, unit=school.club)
    with pytest.raises(CommandError, match="draft"):
        call_command("render_pdf", str(draft.pk), "--out", str(tmp_path))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.django_db
def test_each_decision_enqueues_a_render_after_commit(school: School, kit: Kit) -> None:
    from bulu.jobs.models import Job

    request = club_request(school, kit)
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        with mock.patch("documents.tasks.documents_render_task.apply_async") as publish:
            with TestCase.captureOnCommitCallbacks(execute=False) as callbacks:
                decide(request, school.frank)
                decide(request, school.carol)  # two decisions before the commit: one render
            publish.assert_not_called()  # nothing reaches the broker before the commit ...
            job = Job.objects.get(key=f"render:{request.pk}")  # ... but it is recorded with it
            assert (job.name, job.args, job.state) == (
                "documents.render_request",
                [request.pk],
                "pending",
            )
            for callback in callbacks:
                callback()
            job.refresh_from_db()
            publish.assert_called_once_with(args=[job.pk, str(job.token)], retry=False)
    finally:
        celery_app.conf.task_always_eager = eager
    # Without a broker (tasks in-process) a decision does not wait for a render.
    with mock.patch("documents.tasks.documents_render_task.apply_async") as publish:
        with TestCase.captureOnCommitCallbacks(execute=True):
            decide(request, school.dave)
        publish.assert_not_called()
    assert not RequestDocument.objects.filter(request=request).exists()


@pytest.mark.django_db
def test_the_task_renders_every_form_of_the_request(school: School, kit: Kit) -> None:
    from documents.tasks import documents_render_request, documents_render_task

    request = club_request(school, kit)
    assert documents_render_request(request.pk) == ["letter", "form"]
    assert set(
        RequestDocument.objects.filter(request=request).values_list("form_key", flat=True)
    ) == {
        "letter",
        "form",
    }
    soft, hard = documents_render_task.soft_time_limit, documents_render_task.time_limit
    assert soft == settings.BULU_PDF_TASK_SOFT_LIMIT
    assert hard is not None and hard > settings.BULU_PDF_TASK_SOFT_LIMIT


def test_a_worker_preloads_weasyprint_only_if_it_takes_the_render_task() -> None:
    from celery import Celery

    from documents.tasks import _consumes_render_queue

    everything = Celery("probe", broker="memory://")
    assert _consumes_render_queue(everything)  # no -Q: every queue, the render's too
    rosters_only = Celery("probe", broker="memory://")
    rosters_only.amqp.queues.select(["rosters"])
    assert not _consumes_render_queue(rosters_only)
    routed = Celery("probe", broker="memory://")
    routed.conf.task_routes = {"documents.render_request": {"queue": "pdf"}}
    routed.amqp.queues.select(["pdf"])
    assert _consumes_render_queue(routed)


@pytest.mark.django_db
def test_a_broker_failure_does_not_undo_the_decision(school: School, kit: Kit) -> None:
    request = club_request(school, kit)
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        with (
            mock.patch(
                "documents.tasks.documents_render_task.apply_async",
                side_effect=ConnectionError("down"),
            ),
            TestCase.captureOnCommitCallbacks(execute=True),
        ):
            decide(request, school.frank)
    finally:
        celery_app.conf.task_always_eager = eager
    request.refresh_from_db()
    assert request.step_index == 1  # approved at the advisor's step all the same
    # The render is kept, not handed over: the sweeper hands it over once the broker is back.
    from bulu.jobs.models import Job

    job = Job.objects.get(key=f"render:{request.pk}")
    assert (job.state, job.published_at, job.attempts) == ("pending", None, 0)


@pytest.mark.django_db
def test_control_characters_never_reach_the_pdf(school: School, kit: Kit) -> None:
    request = club_request(school, kit, activity_name="科技\x07节\x1b\x01活动", location="A\x0bB")
    text = pdf_text(pdf_bytes(render(request, "form")))
    assert "科技节活动" in squash(text) and "AB" in squash(text)
    assert not any(ch in text for ch in "\x07\x1b\x01\x0b")
