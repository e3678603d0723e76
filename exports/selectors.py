"""Reads for the center's export desk; every one is for center staff only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, OuterRef, QuerySet, Sum
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organization, User
from accounts.selectors import user_is_center
from bulu.workflow.models import BackfillRequest, Kind, State, Window
from credits.models import CreditRecord
from exports.models import ExportBatch, ExportItem

# Requests whose credits exist (final approval done); IN_PLATFORM records of any of them.
CREDITED_STATES = (State.APPROVED, State.EXPORTED, State.IMPORTED)


@dataclass(frozen=True)
class ExportFilters:
    """What the staff member chose; empty means "all". Delivery is always 名单导入."""

    kind: str = ""
    window_id: int | None = None
    college_id: int | None = None
    credit_type: str = ""
    approved_from: date | None = None
    approved_to: date | None = None

    def describe(self) -> dict[str, str]:
        """The choice as labels, stored with a batch (shown even if a notice is renamed)."""
        out: dict[str, str] = {_("发放方式"): str(CreditRecord.Delivery.BATCH.label)}
        if self.kind:
            out[_("补录类型")] = str(Kind(self.kind).label)
        if self.window_id:
            window = Window.objects.filter(pk=self.window_id).first()
            out[_("补录通知")] = window.title if window else f"#{self.window_id}"
        if self.college_id:
            college = Organization.objects.filter(pk=self.college_id).first()
            out[_("二级学院")] = college.name if college else f"#{self.college_id}"
        if self.credit_type:
            out[_("学分类型")] = self.credit_type
        if self.approved_from:
            out[_("审核通过日期从")] = self.approved_from.isoformat()
        if self.approved_to:
            out[_("审核通过日期到")] = self.approved_to.isoformat()
        return out


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _request_filters(filters: ExportFilters, prefix: str = "") -> dict[str, Any]:
    """Filters on the request, as a range on columns (no function around an indexed column)."""
    q: dict[str, Any] = {}
    if filters.kind:
        q[f"{prefix}kind"] = filters.kind
    if filters.window_id:
        q[f"{prefix}window_id"] = filters.window_id
    if filters.college_id:
        q[f"{prefix}college_id"] = filters.college_id
    if filters.approved_from:
        q[f"{prefix}decided_at__gte"] = _local_midnight(filters.approved_from)
    if filters.approved_to:
        q[f"{prefix}decided_at__lt"] = _local_midnight(filters.approved_to + timedelta(days=1))
    return q


def live_item_exists() -> Exists:
    """The record is in a batch that is not cancelled (live, or confirmed imported)."""
    return Exists(ExportItem.objects.filter(record_id=OuterRef("pk"), active=True))


def export_pool(*, filters: ExportFilters) -> QuerySet[CreditRecord]:
    """Records waiting for a batch: 名单导入, their request approved, in no batch yet.

    Only `approved` requests can hold such records (a request moves to `exported` once all of
    its 名单导入 records are in batches), so the database starts from the few approved requests
    (index on state) and reaches their records through the request foreign key; the partial
    unique index on active export items answers "already in a batch".
    """
    return (
        CreditRecord.objects.filter(
            delivery=CreditRecord.Delivery.BATCH,
            request__state=State.APPROVED,
            **_request_filters(filters, "request__"),
        )
        .filter(**({"credit_type": filters.credit_type} if filters.credit_type else {}))
        .exclude(live_item_exists())
    )


def export_pool_held_back(*, filters: ExportFilters) -> QuerySet[CreditRecord]:
    """Records of the selection a batch leaves out (第五条): each duplicates another granted
    record and its request's center approval did not confirm it (`imports.duplicates`).

    Judged against the whole pool, not the selection: of two unconfirmed duplicates the first
    granted goes out whichever filter picks it, the other waits."""
    from imports.duplicates import credit_records_held_back

    held = credit_records_held_back(pool=export_pool(filters=ExportFilters()))
    return export_pool(filters=filters).filter(pk__in=held).order_by("pk")


@dataclass(frozen=True)
class TypeTotal:
    credit_type: str
    records: int
    total: Decimal


def export_pool_summary(*, filters: ExportFilters) -> list[TypeTotal]:
    """Records and total credit per credit type of the current selection (one query)."""
    rows = (
        export_pool(filters=filters)
        .order_by()
        .values("credit_type")
        .annotate(n=Count("pk"), total=Sum("value"))
        .order_by("credit_type")
    )
    return [TypeTotal(r["credit_type"], r["n"], r["total"] or Decimal(0)) for r in rows]


def credit_types_in_pool() -> list[str]:
    """Credit types offered in the filter: those of the settings mirror, by name."""
    from imports.models import CreditType

    return list(CreditType.objects.order_by("order", "name").values_list("name", flat=True))


def in_platform_records(*, filters: ExportFilters) -> QuerySet[CreditRecord]:
    """Records approved inside 到梦空间 (第六条 online application): listed, never exported."""
    # Records exist only from final approval on, and requests never leave the credited states
    # (approved, exported, imported): no join on the state (a whole-table count at 600k rows).
    qs = CreditRecord.objects.filter(
        delivery=CreditRecord.Delivery.IN_PLATFORM, **_request_filters(filters, "request__")
    )
    if filters.credit_type:
        qs = qs.filter(credit_type=filters.credit_type)
    return qs


def batches_for_user(*, user: User) -> QuerySet[ExportBatch]:
    if not user_is_center(user):
        return ExportBatch.objects.none()
    return ExportBatch.objects.select_related("created_by", "confirmed_by", "cancelled_by")


def batch_get_for_user(*, user: User, pk: int) -> ExportBatch:
    """A batch for center staff; 404 for anyone else (batches are not theirs to see)."""
    try:
        return batches_for_user(user=user).get(pk=pk)
    except ExportBatch.DoesNotExist as exc:
        raise Http404 from exc


def batch_records(*, batch: ExportBatch) -> QuerySet[CreditRecord]:
    """The batch's records in sheet order (record id)."""
    return CreditRecord.objects.filter(
        pk__in=ExportItem.objects.filter(batch=batch).values("record_id")
    ).order_by("pk")


def batch_requests_imported(*, batch: ExportBatch) -> tuple[int, int]:
    """(requests of the batch now 已导入到梦空间, requests of the batch in all)."""
    states = list(
        BackfillRequest.objects.filter(
            pk__in=ExportItem.objects.filter(batch=batch).values("record__request_id")
        ).values_list("state", flat=True)
    )
    return sum(1 for s in states if s == State.IMPORTED), len(states)
