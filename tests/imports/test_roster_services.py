"""The validation service: idempotent, safe to run twice, never half-recorded."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta
from typing import Any

import openpyxl
import pytest
from django.utils import timezone

from bulu.exceptions import ApplicationError
from imports import services
from imports.models import RosterUpload
from imports.roster import reading
from imports.services import roster_upload_create, roster_upload_retry, roster_validate
from imports.tasks import roster_validate_job
from tests.conftest import School
from tests.imports.conftest import roster_xlsx, row

FAULTY = [row(), row(活动等级="乡级", 内容="另一项")]


@pytest.fixture
def upload(school: School, registry: dict[str, str]) -> RosterUpload:
    # Created without running the on-commit task (the test's transaction never commits).
    return roster_upload_create(
        user=school.bob, fileobj=io.BytesIO(roster_xlsx(FAULTY)), filename="名单.xlsx"
    )


def test_it_records_the_result_once_and_a_second_run_changes_nothing(upload: RosterUpload) -> None:
    assert upload.status == "queued"
    done = roster_validate(upload_id=upload.pk)
    assert done is not None
    assert (done.status, done.progress, done.attempts, done.error_count) == ("done", 100, 1, 1)
    assert done.result is not None and done.result["errors"][0]["code"] == "unknown_level"
    assert done.result["summary"]["students"] == 1
    annotated = done.annotated.name
    assert annotated

    again = roster_validate(upload_id=upload.pk)
    assert again is not None
    assert (again.attempts, again.annotated.name, again.result) == (1, annotated, done.result)
    assert roster_validate_job(upload.pk) == "done"


def test_an_upload_left_running_by_a_dead_worker_is_run_again(upload: RosterUpload) -> None:
    RosterUpload.objects.filter(pk=upload.pk).update(status="running", progress=40, attempts=1)
    done = roster_validate(upload_id=upload.pk)
    assert done is not None
    assert (done.status, done.attempts, done.error_count) == ("done", 2, 1)


def test_a_twin_run_that_finishes_second_does_not_overwrite(upload: RosterUpload) -> None:
    stale = RosterUpload.objects.get(pk=upload.pk)  # what a second worker loaded earlier
    first = roster_validate(upload_id=upload.pk)
    assert first is not None
    result = services._validate(stale)
    assert result.annotated.name == first.annotated.name
    assert RosterUpload.objects.get(pk=upload.pk).finished_at == first.finished_at


def test_a_task_for_other_content_is_ignored(upload: RosterUpload) -> None:
    assert roster_validate_job(upload.pk, "0" * 64) == "queued"
    assert roster_validate_job(upload.pk + 1000) == "missing"


def test_a_crash_leaves_no_half_recorded_result(
    upload: RosterUpload, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: Any, **kwargs: Any) -> bytes:
        raise MemoryError("worker ran out of memory while annotating")

    monkeypatch.setattr(services, "roster_annotate", boom)
    with pytest.raises(MemoryError):  # raised on to the outbox, which tries again or gives up
        roster_validate_job(upload.pk)
    upload.refresh_from_db()
    assert upload.status == "failed"
    assert (upload.result, upload.error_count, bool(upload.annotated)) == (None, 0, False)
    monkeypatch.undo()
    monkeypatch.setattr(reading, "PROGRESS_EVERY", 1)
    RosterUpload.objects.filter(pk=upload.pk).update(status="queued")
    done = roster_validate(upload_id=upload.pk)
    assert done is not None and done.status == "done" and done.attempts == 2


def test_a_changed_stored_file_fails_instead_of_judging_other_bytes(upload: RosterUpload) -> None:
    with open(upload.file.path, "ab") as stored:
        stored.write(b"tampered")
    with pytest.raises(RuntimeError, match="does not match"):
        roster_validate_job(upload.pk)
    assert RosterUpload.objects.get(pk=upload.pk).status == "failed"


def test_an_annotation_that_cannot_be_made_still_records_the_result(
    upload: RosterUpload, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> bytes:
        raise ApplicationError("无法在该文件上标注错误（文件结构异常）。")

    monkeypatch.setattr(services, "roster_annotate", refuse)
    done = roster_validate(upload_id=upload.pk)
    assert done is not None and done.status == "done" and done.error_count == 1
    assert not done.annotated
    assert done.result is not None and "无法在该文件上标注" in done.result["annotated_error"]


def test_progress_is_written_while_judging(
    school: School, registry: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reading, "PROGRESS_EVERY", 10)
    rows = [row(学号="2021010001", 内容=f"活动{i}") for i in range(100)]
    upload = roster_upload_create(
        user=school.bob, fileobj=io.BytesIO(roster_xlsx(rows)), filename="名单.xlsx"
    )
    seen: list[int] = []
    original = services._ProgressWriter.set

    def spy(self: Any, percent: int) -> None:
        original(self, percent)
        seen.append(RosterUpload.objects.get(pk=upload.pk).progress)

    monkeypatch.setattr(services._ProgressWriter, "set", spy)
    done = roster_validate(upload_id=upload.pk)
    assert done is not None and done.status == "done" and done.data_rows == 100
    assert len(set(seen)) >= 5
    assert seen == sorted(seen)
    assert seen[-1] == 99 and done.progress == 100


def test_the_file_is_stored_under_a_random_name_with_its_hash(upload: RosterUpload) -> None:
    name = upload.file.name or ""
    assert name.startswith("rosters/") and "名单" not in name
    with upload.file.open("rb") as stored:
        assert hashlib.sha256(stored.read()).hexdigest() == upload.sha256
    assert upload.original_name == "名单.xlsx" and upload.size > 0


def test_a_stalled_upload_may_be_queued_again_but_a_fresh_one_may_not(
    upload: RosterUpload, django_capture_on_commit_callbacks: Any
) -> None:
    with pytest.raises(ApplicationError, match="无需重新校验"):
        roster_upload_retry(upload=upload)  # queued a moment ago: its task may still come
    RosterUpload.objects.filter(pk=upload.pk).update(
        status="running", started_at=timezone.now() - timedelta(minutes=30)
    )
    upload.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        roster_upload_retry(upload=upload)
    upload.refresh_from_db()
    assert upload.status == "done" and upload.error_count == 1


def test_old_uploads_and_their_files_are_purged(
    upload: RosterUpload, school: School, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from pathlib import Path

    from imports.tasks import roster_uploads_purge_task

    roster_validate(upload_id=upload.pk)
    upload.refresh_from_db()
    stored = [Path(upload.file.path), Path(upload.annotated.path)]
    assert all(p.is_file() for p in stored)
    fresh = roster_upload_create(
        user=school.bob, fileobj=io.BytesIO(roster_xlsx([row()])), filename="新名单.xlsx"
    )
    RosterUpload.objects.filter(pk=upload.pk).update(created_at=timezone.now() - timedelta(days=31))
    settings.BULU_ROSTER_RETENTION_DAYS = 30
    with django_capture_on_commit_callbacks(execute=True):  # files go once the rows are gone
        assert roster_uploads_purge_task() == 1
    assert not RosterUpload.objects.filter(pk=upload.pk).exists()
    assert not any(p.exists() for p in stored)
    assert RosterUpload.objects.filter(pk=fresh.pk).exists()
    assert Path(fresh.file.path).is_file()


def test_a_stored_result_keeps_the_first_problems_and_the_totals(
    school: School, registry: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "RESULT_MAX_PROBLEMS", 2)
    rows = [row(活动等级="乡级", 内容=f"活动{i}") for i in range(3)]
    upload = roster_upload_create(
        user=school.bob, fileobj=io.BytesIO(roster_xlsx(rows)), filename="名单.xlsx"
    )
    done = roster_validate(upload_id=upload.pk)
    assert done is not None and done.error_count == 3
    assert done.result is not None
    assert [e["row"] for e in done.result["errors"]] == [7, 8]
    assert (done.result["errors_total"], done.result["warnings_total"]) == (3, 0)
    # The annotated copy still marks every one of them.
    with done.annotated.open("rb") as stored:
        lines = list(openpyxl.load_workbook(stored)["错误说明"].iter_rows(min_row=2))
    assert len(lines) == 3
