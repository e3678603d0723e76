"""Rosters that belong to a request: their rows as a table, and the double claims among them.

When a roster uploaded into a request is judged clean, every row becomes a `RosterEntry` (one
per participant), so reviewers page and filter them and final approval turns them into credit
records. Double claims — a row whose student already got this credit (same 学号, 内容, 开始时间,
学分类型) in an approved request, or who appears in another pending request's roster for the
same activity — are flagged on the row, on both sides, with a link to the other request.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.utils.translation import gettext as _

from accounts.models import User
from bulu.workflow.models import State
from credits.models import CreditRecord
from imports import duplicates
from imports.models import RosterEntry, RosterUpload
from imports.roster import RosterRow

CHUNK = 1000
CENT = Decimal("0.01")
# A credit of a request in one of these states exists (or is about to) in 到梦空间.
CREDITED_STATES = (State.APPROVED, State.EXPORTED, State.IMPORTED)
ALREADY_CREDITED = "already_credited"
PENDING_ELSEWHERE = "pending_elsewhere"
FLAG_LABELS = {ALREADY_CREDITED: _("已发放过"), PENDING_ELSEWHERE: _("另一申请审核中")}


def _chunks(values: Collection[str]) -> Iterator[list[str]]:
    ordered = sorted(values)
    for i in range(0, len(ordered), CHUNK):
        yield ordered[i : i + CHUNK]


def roster_entries_store(*, upload: RosterUpload, rows: Sequence[RosterRow]) -> int:
    """Store a clean roster's rows (once: a second call for the same upload stores nothing)."""
    if upload.request_id is None or RosterEntry.objects.filter(upload=upload).exists():
        return 0
    numbers = {r.student_no for r in rows if r.student_no}
    students: dict[str, int] = {}
    for chunk in _chunks(numbers):
        students.update(User.objects.filter(username__in=chunk).values_list("username", "pk"))
    entries = [
        RosterEntry(
            upload=upload,
            excel_row=r.excel_row,
            student_no=r.student_no or "",
            student_id=students.get(r.student_no or ""),
            name=r.name,
            start_date=r.start,
            end_date=r.end,
            content=r.content,
            category=r.category or "",
            subcategory=r.subcategory or "",
            level=r.level or "",
            award=r.award,
            credit_type=r.credit_type or "",
            value=r.value,
        )
        for r in rows
        if r.ok and r.start is not None
    ]
    with transaction.atomic():
        RosterEntry.objects.bulk_create(entries, batch_size=CHUNK)
    roster_entries_flag(upload=upload)
    return len(entries)


def _flag(kind: str, message: str, request_id: int) -> dict[str, Any]:
    return {"code": kind, "message": message, "request": request_id}


def roster_entries_flag(*, upload: RosterUpload) -> int:
    """(Re)compute the double-claim flags of `upload`'s rows; returns how many rows are flagged.

    Matching is `imports.duplicates`' (tolerant, every kind: granted credits, personal items,
    cadre entries and rosters of other live requests). Rows of other pending rosters that clash
    with this roster get the matching flag too.
    """
    if upload.request_id is None:
        return 0
    entries = list(RosterEntry.objects.filter(upload=upload))
    lines = duplicates.roster_values(RosterEntry.objects.filter(upload=upload))
    found = duplicates.lines_duplicates(lines, exclude_request=upload.request_id, within=False)
    flags: dict[int, list[dict[str, Any]]] = {e.pk: [] for e in entries}
    mirrors: dict[int, list[dict[str, Any]]] = {}
    for d in found:
        code = ALREADY_CREDITED if d.granted else PENDING_ELSEWHERE
        flags[d.line.ref].append(_flag(code, d.message, d.other.request_id))
        if d.other.source == duplicates.ROSTER_ENTRY:
            mirror = duplicates.Duplicate(line=d.other, other=d.line)
            mirrors.setdefault(d.other.ref, []).append(
                _flag(PENDING_ELSEWHERE, mirror.message, upload.request_id)
            )
    touched: list[RosterEntry] = []
    for other in RosterEntry.objects.filter(pk__in=list(mirrors)):
        new = [m for m in mirrors[other.pk] if m not in other.flags]
        if new:
            other.flags = _unique([*other.flags, *new])
            other.has_flags = True
            touched.append(other)
    for e in entries:
        e.flags = _unique(flags[e.pk])
        e.has_flags = bool(e.flags)
    with transaction.atomic():
        RosterEntry.objects.bulk_update(entries, ["flags", "has_flags"], batch_size=CHUNK)
        RosterEntry.objects.bulk_update(touched, ["flags", "has_flags"], batch_size=CHUNK)
    return sum(1 for e in entries if e.has_flags)


def _unique(items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def roster_entries(
    *, upload: RosterUpload, flagged_only: bool = False, search: str = ""
) -> QuerySet[RosterEntry]:
    qs = RosterEntry.objects.filter(upload=upload)
    if flagged_only:
        qs = qs.filter(has_flags=True)
    search = search.strip()
    if search:
        qs = qs.filter(Q(student_no__startswith=search) | Q(name__contains=search))
    return qs.order_by("excel_row")


def roster_totals(*, upload: RosterUpload) -> dict[str, Any]:
    """Participants, rows and the total per credit type (excluded rows left out)."""
    qs = RosterEntry.objects.filter(upload=upload, excluded=False)
    # Two decimals whatever the database returns (SQLite's SUM drops the trailing zeros).
    per_type = {
        t: Decimal(total or 0).quantize(CENT)
        for t, total in qs.values_list("credit_type").annotate(total=Sum("value")).order_by()
    }
    agg = qs.aggregate(rows=Count("pk"), students=Count("student_no", distinct=True))
    flagged = RosterEntry.objects.filter(upload=upload, has_flags=True).count()
    excluded = RosterEntry.objects.filter(upload=upload, excluded=True).count()
    return {
        "rows": agg["rows"],
        "students": agg["students"],
        "per_type": dict(sorted(per_type.items())),
        "total": sum(per_type.values(), Decimal(0)),
        "flagged": flagged,
        "excluded": excluded,
    }


# The columns a credit record copies from its roster row, in CreditRecord's own field names.
_COPIED = (
    ("student_id", "student_id"),
    ("student_no", "student_no"),
    ("student_name", "name"),
    ("start_date", "start_date"),
    ("end_date", "end_date"),
    ("content", "content"),
    ("category", "category"),
    ("subcategory", "subcategory"),
    ("level", "level"),
    ("award", "award"),
    ("credit_type", "credit_type"),
    ("value", "value"),
)


def roster_entries_to_credits(*, request_id: int, upload_id: int) -> int:
    """Every kept row of the roster `upload_id` becomes a credit record of `request_id`, keyed
    "roster-entry:<row id>" so a retry creates nothing new. One INSERT … SELECT in the caller's
    transaction: the rows never travel through Python (5,000 rows: one statement, not 10,000
    model instances). Returns the number of records created."""
    from django.db import connection
    from django.utils import timezone

    qn = connection.ops.quote_name
    credit = {f.name: str(f.column) for f in CreditRecord._meta.concrete_fields}
    entry = {f.name: str(f.column) for f in RosterEntry._meta.concrete_fields}
    targets = ["request", "source_key", "delivery", "created_at"] + [c for c, _e in _COPIED]
    # "request" is a ForeignKey: its column is request_id; the name map holds both spellings.
    columns = ", ".join(qn(credit.get(t, t)) for t in targets)
    copied = ", ".join(qn(entry.get(e, e)) for _c, e in _COPIED)
    # Every identifier comes from the models' own metadata and is quoted; values are parameters.
    sql = (
        f"INSERT INTO {qn(CreditRecord._meta.db_table)} ({columns}) "  # noqa: S608
        f"SELECT %s, %s || {qn(entry['id'])}, %s, %s, {copied} "
        f"FROM {qn(RosterEntry._meta.db_table)} "
        f"WHERE {qn(entry['upload'])} = %s AND NOT {qn(entry['excluded'])} "
        f"ORDER BY {qn(entry['excel_row'])} "
        "ON CONFLICT DO NOTHING"
    )
    params: list[Any] = [
        request_id,
        "roster-entry:",
        str(CreditRecord.Delivery.BATCH),
        timezone.now(),
        upload_id,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)
