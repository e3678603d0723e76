"""Maintained counts of submitted requests (the overview's numbers without a table scan)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Sum

from bulu.workflow.models import BackfillRequest, RequestTally


@dataclass(frozen=True)
class TallyKey:
    kind: str
    state: str
    college_key: int
    window_key: int


def tally_key(request: BackfillRequest) -> TallyKey | None:
    """Where `request` counts now; None while it was never submitted (a private draft)."""
    if request.submitted_at is None:
        return None
    return TallyKey(request.kind, request.state, request.college_id or 0, request.window_id or 0)


def tally_move(before: TallyKey | None, after: TallyKey | None) -> None:
    """Move one request's count; call inside the transaction that changes its state."""
    if before == after:
        return
    if before is not None:
        RequestTally.objects.filter(**before.__dict__).update(n=F("n") - 1)
    if after is not None:
        updated = RequestTally.objects.filter(**after.__dict__).update(n=F("n") + 1)
        if not updated:
            try:
                with transaction.atomic():
                    RequestTally.objects.create(**after.__dict__, n=1)
            except IntegrityError:  # created by a simultaneous transaction meanwhile
                RequestTally.objects.filter(**after.__dict__).update(n=F("n") + 1)


def tallies_rebuild() -> int:
    """Recount everything (after bulk loads); returns the number of tally rows."""
    rows = (
        BackfillRequest.objects.filter(submitted_at__isnull=False)
        .values("kind", "state", "college_id", "window_id")
        .annotate(total=Count("pk"))
        .order_by()
    )
    with transaction.atomic():
        RequestTally.objects.all().delete()
        RequestTally.objects.bulk_create(
            [
                RequestTally(
                    kind=r["kind"],
                    state=r["state"],
                    college_key=r["college_id"] or 0,
                    window_key=r["window_id"] or 0,
                    n=r["total"],
                )
                for r in rows
            ]
        )
    return len(rows)


def tally_counts(
    *, kind: str = "", college: int | None = None, window: int | None = None
) -> dict[str, int]:
    """Submitted requests per state, optionally of one kind, college and notice."""
    qs = RequestTally.objects.all()
    if kind:
        qs = qs.filter(kind=kind)
    if college is not None:
        qs = qs.filter(college_key=college)
    if window is not None:
        qs = qs.filter(window_key=window)
    return {
        state: total
        for state, total in qs.values_list("state").annotate(total=Sum("n")).order_by()
        if total
    }


def tally_move_counts(moves: dict[tuple[TallyKey | None, TallyKey | None], int]) -> None:
    """Move many requests' counts at once: one update per tally key (the bulk state moves)."""
    delta: dict[TallyKey, int] = {}
    for (before, after), n in moves.items():
        if before == after or not n:
            continue
        if before is not None:
            delta[before] = delta.get(before, 0) - n
        if after is not None:
            delta[after] = delta.get(after, 0) + n
    for key, n in sorted(delta.items(), key=lambda kv: tuple(kv[0].__dict__.values())):
        if not n:
            continue
        updated = RequestTally.objects.filter(**key.__dict__).update(n=F("n") + n)
        if not updated:
            try:
                with transaction.atomic():
                    RequestTally.objects.create(**key.__dict__, n=n)
            except IntegrityError:  # created by a simultaneous transaction meanwhile
                RequestTally.objects.filter(**key.__dict__).update(n=F("n") + n)
