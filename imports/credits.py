"""Creating credit records: the one place every kind's final approval goes through.

Each kind builds its `CreditRecord` rows; `credit_records_create` inserts those the request does
not have yet (by `source_key`, so a retried approval adds nothing) and hands exactly the new rows
to the listeners registered from `AppConfig.ready()` (the stats app keeps its credit tallies so),
inside the approval's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from bulu.workflow.models import BackfillRequest
from imports.models import CreditRecord

_CREATED_LISTENERS: list[Callable[[BackfillRequest, Sequence[CreditRecord]], None]] = []


def credit_records_created_listen(
    listener: Callable[[BackfillRequest, Sequence[CreditRecord]], None],
) -> None:
    if listener not in _CREATED_LISTENERS:
        _CREATED_LISTENERS.append(listener)


def credit_records_create(
    *, request: BackfillRequest, records: Iterable[CreditRecord], batch_size: int = 1000
) -> list[CreditRecord]:
    """Insert the request's records it does not hold yet; returns the new ones.

    Call it inside the approval's transaction (the request row is locked there, so nobody adds
    the same records meanwhile; `ignore_conflicts` stays as the database's last word).
    """
    have = set(
        CreditRecord.objects.filter(request_id=request.pk).values_list("source_key", flat=True)
    )
    new: list[CreditRecord] = []
    for record in records:
        if record.source_key in have:
            continue
        have.add(record.source_key)
        new.append(record)
    if not new:
        return []
    CreditRecord.objects.bulk_create(new, batch_size=batch_size, ignore_conflicts=True)
    for listener in _CREATED_LISTENERS:
        listener(request, new)
    return new
