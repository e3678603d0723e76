"""Keeping and reading the maintained counts of the statistics page (see stats.models).

Credit records are counted when `credits.services` reports them (`credit_records_create` or,
for rows a kind inserted itself, `credit_records_announce`); a step's
waiting time when someone approves, returns or rejects at it
(`bulu.workflow.registry.step_decided`).
`stats_rebuild` recounts both from the tables (after bulk loads; `manage.py rebuild_stats`), by
the same rules, so a test can hold the two side by side.

Waiting time of a step decision: from the request's previous approval record (the submission or
the previous step's decision) to the decision. Durations are counted in buckets (`BOUNDS`); a
percentile is read as the upper bound of the bucket it falls in, so it is exact to the bucket:
to 1 hour up to 2 hours, to 2–4 hours up to a day, to a day up to a week, to 3–9 days up to 30
days, to 15–30 days up to 90 days; beyond 90 days it reads "> 90 days".
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Lag

from bulu.workflow.models import ApprovalRecord, BackfillRequest, Decision, State
from credits.models import CreditRecord
from credits.services import CreditSums
from stats.models import CreditTally, Scope, WaitTally

CREDITED_STATES = (State.APPROVED, State.EXPORTED, State.IMPORTED)
STEP_DECISIONS = (Decision.APPROVE, Decision.RETURN, Decision.REJECT)

_H = 3600
# Upper bounds of the waiting-time buckets, in seconds; the last bucket is open-ended.
BOUNDS: tuple[float, ...] = (
    1 * _H,
    2 * _H,
    4 * _H,
    8 * _H,
    12 * _H,
    16 * _H,
    20 * _H,
    24 * _H,
    *(d * 24 * _H for d in (2, 3, 4, 5, 6, 7, 10, 14, 21, 30, 45, 60, 90)),
    math.inf,
)


def bucket_of(waited: timedelta) -> int:
    seconds = max(waited.total_seconds(), 0.0)
    for i, bound in enumerate(BOUNDS):
        if seconds <= bound:
            return i
    return len(BOUNDS) - 1  # pragma: no cover - the last bound is infinite


def scopes_of(college_id: int | None, unit_id: int | None) -> list[tuple[str, int]]:
    scopes = [(Scope.SCHOOL.value, 0)]
    if college_id:
        scopes.append((Scope.COLLEGE.value, college_id))
    if unit_id:
        scopes.append((Scope.UNIT.value, unit_id))
    return scopes


def _bump(model: type[models.Model], keys: dict[str, Any], **add: Any) -> None:
    """Add to one tally row, creating it on first use; inside the caller's transaction."""
    manager = model._default_manager
    if manager.filter(**keys).update(**{k: F(k) + v for k, v in add.items()}):
        return
    try:
        with transaction.atomic():
            manager.create(**keys, **add)
    except IntegrityError:  # created by a simultaneous transaction meanwhile
        manager.filter(**keys).update(**{k: F(k) + v for k, v in add.items()})


# --- keeping ---------------------------------------------------------------------------------


def credit_tally_add(request: BackfillRequest, sums: CreditSums) -> None:
    """Count newly created credit records (listener of credits.services)."""
    # Sorted, so concurrent approvals lock the tally rows in one order (no deadlock).
    for scope, scope_id in scopes_of(request.college_id, request.applicant_org_id):
        for (category, credit_type), (n, total) in sorted(sums.items()):
            _bump(
                CreditTally,
                {
                    "scope": scope,
                    "scope_id": scope_id,
                    "category": category,
                    "credit_type": credit_type,
                },
                n=n,
                total=total,
            )


def wait_tally_add(request: BackfillRequest, step: Any, record: ApprovalRecord) -> None:
    """Count how long the decided step waited (listener of bulu.workflow.registry.step_decided)."""
    if record.decision not in STEP_DECISIONS or not record.step_role:
        return
    since = (
        ApprovalRecord.objects.filter(request_id=record.request_id)
        .filter(
            Q(created_at__lt=record.created_at) | Q(created_at=record.created_at, pk__lt=record.pk)
        )
        .order_by("-created_at", "-pk")
        .values_list("created_at", flat=True)
        .first()
    )
    if since is None:
        return
    bucket = bucket_of(record.created_at - since)
    for scope, scope_id in scopes_of(request.college_id, request.applicant_org_id):
        _bump(
            WaitTally,
            {"scope": scope, "scope_id": scope_id, "role": record.step_role, "bucket": bucket},
            n=1,
        )


# --- recounting ------------------------------------------------------------------------------


def credit_counts_from_records() -> dict[tuple[str, int, str, str], tuple[int, Decimal]]:
    """Credit tallies as a full recount computes them: (scope, id, category, type) -> (n, total)."""
    acc: dict[tuple[str, int, str, str], list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    rows = (
        CreditRecord.objects.filter(request__state__in=CREDITED_STATES)
        .values("category", "credit_type", "request__college_id", "request__applicant_org_id")
        .annotate(n=Count("pk"), total=Sum("value"))
        .order_by()
    )
    for r in rows:
        for scope, scope_id in scopes_of(r["request__college_id"], r["request__applicant_org_id"]):
            a = acc[(scope, scope_id, r["category"], r["credit_type"])]
            a[0] += r["n"]
            a[1] += Decimal(str(r["total"] or 0))
    return {k: (v[0], v[1]) for k, v in acc.items()}


def wait_counts_from_log() -> dict[tuple[str, int, str, int], int]:
    """Wait tallies as a full recount computes them: (scope, id, role, bucket) -> n."""
    acc: dict[tuple[str, int, str, int], int] = defaultdict(int)
    rows = (
        ApprovalRecord.objects.annotate(
            since=models.Window(
                Lag("created_at"),
                partition_by=[F("request_id")],
                order_by=[F("created_at").asc(), F("pk").asc()],
            )
        )
        .values_list(
            "decision",
            "step_role",
            "created_at",
            "since",
            "request__college_id",
            "request__applicant_org_id",
        )
        .order_by()
    )
    for decision, role, at, since, college_id, unit_id in rows.iterator(chunk_size=5000):
        if decision not in STEP_DECISIONS or not role or since is None:
            continue
        bucket = bucket_of(at - since)
        for scope, scope_id in scopes_of(college_id, unit_id):
            acc[(scope, scope_id, role, bucket)] += 1
    return dict(acc)


def stats_rebuild() -> tuple[int, int]:
    """Recount the credit and wait tallies; returns their row counts."""
    credits = credit_counts_from_records()
    waits = wait_counts_from_log()
    with transaction.atomic():
        CreditTally.objects.all().delete()
        CreditTally.objects.bulk_create(
            [
                CreditTally(scope=s, scope_id=i, category=c, credit_type=t, n=n, total=total)
                for (s, i, c, t), (n, total) in credits.items()
            ],
            batch_size=2000,
        )
        WaitTally.objects.all().delete()
        WaitTally.objects.bulk_create(
            [
                WaitTally(scope=s, scope_id=i, role=r, bucket=b, n=n)
                for (s, i, r, b), n in waits.items()
            ],
            batch_size=2000,
        )
    return len(credits), len(waits)


# --- reading ---------------------------------------------------------------------------------


def credit_sums(*, scope: str, ids: Iterable[int]) -> list[tuple[str, str, int, Decimal]]:
    """(category, credit type, records, total value) in one scope."""
    rows = (
        CreditTally.objects.filter(scope=scope, scope_id__in=sorted(ids))
        .values_list("category", "credit_type")
        .annotate(records=Sum("n"), value=Sum("total"))
        .order_by("category", "credit_type")
    )
    cent = Decimal("0.01")
    return [(c, t, int(n or 0), Decimal(str(v or 0)).quantize(cent)) for c, t, n, v in rows if n]


def wait_histograms(*, scope: str, ids: Iterable[int]) -> dict[str, list[int]]:
    """Per step role, the number of decisions in each bucket."""
    hist: dict[str, list[int]] = {}
    rows = (
        WaitTally.objects.filter(scope=scope, scope_id__in=sorted(ids))
        .values_list("role", "bucket")
        .annotate(total=Sum("n"))
        .order_by()
    )
    for role, bucket, total in rows:
        hist.setdefault(role, [0] * len(BOUNDS))[bucket] += int(total or 0)
    return hist


def percentile_bucket(counts: Sequence[int], q: float) -> int | None:
    """The bucket holding the q-quantile (nearest rank) of the counted durations."""
    total = sum(counts)
    if not total:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for i, n in enumerate(counts):
        seen += n
        if seen >= rank:
            return i
    return len(counts) - 1  # pragma: no cover
