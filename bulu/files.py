"""Stored files that live and die with their rows.

- `atomic_with_files()` is `transaction.atomic()` for blocks that store files: a file stored
  inside it with `file_store` is deleted again when the block rolls back (an exception leaves
  it). Nested, the outermost such block decides.
- `files_delete_on_commit` deletes files whose rows are gone, once that is committed.
- `orphan_files_purge` is the net under both: a file no row points to, older than a grace
  period, is deleted (a rollback of a plain `atomic()` around ours, a worker killed between a
  commit and its deletions).

Everything goes through Django's storage API, so it works the same on object storage.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.apps import apps
from django.core.files import File
from django.core.files.storage import Storage, default_storage
from django.db import models, transaction
from django.db.models.fields.files import FieldFile
from django.utils import timezone

logger = logging.getLogger(__name__)

_written: ContextVar[list[tuple[Storage, str]] | None] = ContextVar("bulu_files", default=None)


@contextmanager
def atomic_with_files() -> Iterator[None]:
    """`transaction.atomic()` that takes the files stored inside it along when it rolls back."""
    outer = _written.get()
    written: list[tuple[Storage, str]] = []
    token = _written.set(written)
    try:
        with transaction.atomic():
            yield
    except BaseException:
        _delete_quietly(written)
        raise
    finally:
        _written.reset(token)
    if outer is not None:  # the enclosing block may still roll back: it decides
        outer.extend(written)


def file_store(field_file: FieldFile, name: str, content: File[bytes]) -> str:
    """Save `content` into the row's file field (the row itself is saved by the caller).

    Only inside `atomic_with_files()`: a file must be removed if its row is never committed.
    """
    scope = _written.get()
    if scope is None:
        raise RuntimeError("file_store() outside atomic_with_files()")
    field_file.save(name, content, save=False)
    scope.append((field_file.storage, str(field_file.name)))
    return str(field_file.name)


def files_delete_on_commit(names: Iterable[str | None], storage: Storage | None = None) -> None:
    """Delete stored files once the transaction that removed their rows has committed."""
    kept = [name for name in names if name]
    if not kept:
        return
    where = storage or default_storage
    transaction.on_commit(lambda: _delete_quietly([(where, name) for name in kept]))


def _delete_quietly(files: Iterable[tuple[Storage, str]]) -> None:
    for storage, name in files:
        try:
            storage.delete(name)
        except OSError:  # the purge will find it
            logger.warning("could not delete stored file %s", name, exc_info=True)


# --- files without rows --------------------------------------------------------------------------


def _file_fields() -> list[tuple[type[models.Model], str]]:
    return [
        (model, f.name)
        for model in apps.get_models()
        for f in model._meta.get_fields()
        if isinstance(f, models.FileField)
    ]


def referenced_file_names() -> set[str]:
    """Every file name a row points to (any model, any file field)."""
    names: set[str] = set()
    for model, name in _file_fields():
        names.update(
            model._base_manager.exclude(**{name: ""})
            .exclude(**{f"{name}__isnull": True})
            .values_list(name, flat=True)
            .iterator(chunk_size=5000)
        )
    return names


def _walk(storage: Storage, folder: str = "") -> Iterator[str]:
    dirs, files = storage.listdir(folder)
    for f in files:
        yield f"{folder}/{f}" if folder else f
    for d in dirs:
        yield from _walk(storage, f"{folder}/{d}" if folder else d)


@dataclass
class PurgeReport:
    checked: int = 0
    deleted: list[str] = field(default_factory=list)
    young: int = 0  # without a row, but inside the grace period (maybe not committed yet)


def orphan_files_purge(
    *, grace: timedelta, dry_run: bool = False, storage: Storage | None = None
) -> PurgeReport:
    """Delete stored files that no row points to and that are older than `grace`.

    The grace period keeps a file whose row is still in an uncommitted transaction. Names are
    read after the listing, so a row committed meanwhile keeps its file.
    """
    where = storage or default_storage
    report = PurgeReport()
    try:
        listed = list(_walk(where))
    except FileNotFoundError:  # nothing stored yet
        return report
    cutoff: datetime = timezone.now() - grace
    referenced = referenced_file_names()
    for name in listed:
        report.checked += 1
        if name in referenced:
            continue
        if where.get_modified_time(name) > cutoff:
            report.young += 1
            continue
        report.deleted.append(name)
        if not dry_run:
            _delete_quietly([(where, name)])
    return report
