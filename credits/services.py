"""Creating credit records: every kind's final approval tells the listeners what it created.

`credit_records_create` inserts the request's records it does not hold yet (by `source_key`, so a
retried approval adds nothing) and reports exactly those. A kind that inserts its records another
way (one `INSERT … SELECT`) calls `credit_records_announce` with the rows it just inserted. The
listeners, registered from `AppConfig.ready()` (the stats app keeps its credit tallies so), get
the new records summed per (category, credit type), inside the approval's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal

from django.db.models import Count, QuerySet, Sum

from bulu.workflow.models import BackfillRequest
from credits.models import CreditRecord

# (category, credit type) -> (records, total value)
CreditSums = dict[tuple[str, str], tuple[int, Decimal]]

_CREATED_LISTENERS: list[Callable[[BackfillRequest, CreditSums], None]] = []


def credit_records_created_listen(listener: Callable[[BackfillRequest, CreditSums], None]) -> None:
    if listener not in _CREATED_LISTENERS:
        _CREATED_LISTENERS.append(listener)


def _tell(request: BackfillRequest, sums: CreditSums) -> None:
    if sums:
        for listener in _CREATED_LISTENERS:
            listener(request, sums)


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
    acc: dict[tuple[str, str], tuple[int, Decimal]] = {}
    for r in new:
        n, total = acc.get((r.category, r.credit_type), (0, Decimal(0)))
        value = Decimal(str(r.value)) if r.value is not None else Decimal(0)
        acc[(r.category, r.credit_type)] = (n + 1, total + value)
    _tell(request, acc)
    return new


def credit_records_announce(*, request: BackfillRequest, created: QuerySet[CreditRecord]) -> None:
    """Report records a kind inserted itself (e.g. by one INSERT … SELECT): `created` selects
    exactly those rows; they are summed in the database, never read one by one."""
    rows = (
        created.values_list("category", "credit_type")
        .annotate(n=Count("pk"), total=Sum("value"))
        .order_by()
    )
    _tell(request, {(c, t): (n, Decimal(str(v or 0))) for c, t, n, v in rows})
