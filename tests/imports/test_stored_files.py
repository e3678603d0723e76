"""No file outlives its row: a rollback takes its files along, a purge finds files without rows."""

from __future__ import annotations

import io
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.test import TestCase

from bulu.exceptions import ApplicationError
from bulu.files import atomic_with_files, file_store, orphan_files_purge
from bulu.jobs.tasks import orphan_files_purge_task
from imports import services as import_services
from imports.models import RosterUpload
from imports.services import roster_upload_create
from personal.models import Evidence, PersonalRequest
from personal.services import evidence_stage
from tests.collective.conftest import Kit, kit  # noqa: F401
from tests.conftest import School, decide
from tests.documents.conftest import club_request, render
from tests.files import jpeg_bytes, png_bytes
from tests.imports.conftest import roster_xlsx, row
from tests.personal.conftest import draft, mirror, personal_window  # noqa: F401

HOUR = 3600.0


def stored_files() -> set[str]:
    root = Path(default_storage.path(""))
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def age(name: str, hours: float) -> None:
    path = default_storage.path(name)
    then = time.time() - hours * HOUR
    os.utime(path, (then, then))


def test_a_file_stored_in_a_block_that_rolls_back_is_removed(school: School) -> None:
    upload = RosterUpload(uploaded_by=school.bob, original_name="x.xlsx", size=1, sha256="0" * 64)
    with pytest.raises(RuntimeError), atomic_with_files():
        name = file_store(upload.file, "roster.xlsx", ContentFile(b"x"))
        assert default_storage.exists(name)
        raise RuntimeError("refused after the file was written")
    assert not default_storage.exists(name)


def test_the_outermost_block_decides_for_files_of_an_inner_one(school: School) -> None:
    upload = RosterUpload(uploaded_by=school.bob, original_name="x.xlsx", size=1, sha256="0" * 64)
    with pytest.raises(RuntimeError), atomic_with_files():
        with atomic_with_files():
            name = file_store(upload.file, "roster.xlsx", ContentFile(b"x"))
        assert default_storage.exists(name)  # the inner block ended well ...
        raise RuntimeError("... and the outer one rolled back")
    assert not default_storage.exists(name)


def test_a_file_cannot_be_stored_outside_such_a_block(school: School) -> None:
    upload = RosterUpload(uploaded_by=school.bob, original_name="x.xlsx", size=1, sha256="0" * 64)
    with pytest.raises(RuntimeError, match="outside atomic_with_files"):
        file_store(upload.file, "roster.xlsx", ContentFile(b"x"))
    assert stored_files() == set()


def test_a_rolled_back_roster_upload_leaves_no_file(
    school: School, registry: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(upload: RosterUpload) -> None:
        raise ApplicationError("队列写入失败")

    monkeypatch.setattr(import_services, "_enqueue", refuse)
    with pytest.raises(ApplicationError):
        roster_upload_create(
            user=school.bob, fileobj=io.BytesIO(roster_xlsx([row()])), filename="名单.xlsx"
        )
    assert not RosterUpload.objects.exists()
    assert stored_files() == set()


def test_evidence_stored_in_a_block_that_rolls_back_is_removed(
    school: School,
    draft: PersonalRequest,  # noqa: F811
) -> None:
    before, rows = stored_files(), Evidence.objects.count()  # the draft has its own evidence
    with pytest.raises(ApplicationError), atomic_with_files():
        stored = evidence_stage(
            request=draft,
            actor=school.alice,
            uploads=[("证书.png", io.BytesIO(png_bytes())), ("聘书.jpg", io.BytesIO(jpeg_bytes()))],
        )
        assert len(stored) == 2 and len(stored_files() - before) == 2
        raise ApplicationError("保存证明材料之后被拒绝")
    assert Evidence.objects.count() == rows
    assert stored_files() == before


def test_the_purge_deletes_old_files_without_rows_and_keeps_the_rest(
    school: School, registry: dict[str, str]
) -> None:
    kept = roster_upload_create(
        user=school.bob, fileobj=io.BytesIO(roster_xlsx([row()])), filename="名单.xlsx"
    )
    kept_name = str(kept.file.name)
    age(kept_name, 48)  # old, but a row points to it
    old = default_storage.save("rosters/lost/roster.xlsx", ContentFile(b"left by a rollback"))
    age(old, 48)
    young = default_storage.save("rosters/new/roster.xlsx", ContentFile(b"maybe not committed"))

    dry = orphan_files_purge(grace=timedelta(hours=24), dry_run=True)
    assert dry.deleted == [old] and default_storage.exists(old)

    assert orphan_files_purge_task() == 1
    assert not default_storage.exists(old)
    assert default_storage.exists(young) and default_storage.exists(kept_name)
    assert stored_files() == {kept_name, young}


@pytest.mark.django_db
def test_a_superseded_pdf_left_by_a_killed_worker_is_purged(
    school: School,
    kit: Kit,  # noqa: F811
) -> None:
    request = club_request(school, kit)
    first = render(request, "form")
    old = str(first.file.name)
    with TestCase.captureOnCommitCallbacks(execute=True):
        decide(request, school.frank)
    # The worker commits the new PDF and dies before its after-commit deletion runs.
    with TestCase.captureOnCommitCallbacks(execute=False):
        second = render(request, "form")
    assert second.file.name != old and default_storage.exists(old)
    age(old, 30)
    call_command("purge_orphan_files", stdout=io.StringIO())
    assert not default_storage.exists(old)
    assert default_storage.exists(str(second.file.name))


def test_the_command_refuses_a_grace_too_short_to_be_safe(school: School) -> None:
    err = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("purge_orphan_files", "--grace-hours", "0.1", stderr=err)
    assert "宽限时间至少 1 小时" in err.getvalue()
