"""Celery tasks of privacy: thin wrappers around the services."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from privacy.selectors import graduation_cutoff
from privacy.services import students_anonymize


@shared_task(name="privacy.graduates_anonymize")
def graduates_anonymize_task() -> dict[str, int]:
    """The monthly run (beat): students whose retention period after graduation has ended."""
    cutoff = graduation_cutoff(
        today=timezone.localdate(), years=settings.BULU_RETENTION_YEARS_AFTER_GRADUATION
    )
    summary = students_anonymize(graduated_before=cutoff, dry_run=False)
    return {
        "candidates": summary.candidates,
        "anonymized": summary.anonymized,
        "postponed": sum(summary.postponed.values()),
        "files": summary.files,
    }
