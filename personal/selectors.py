"""Reads of personal back-fill, narrowed to what the user may see."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from django.conf import settings
from django.db.models import F, Prefetch, QuerySet, Window
from django.db.models.functions import RowNumber
from django.http import Http404
from django.utils.translation import gettext as _

from accounts.models import User
from bulu.workflow.models import BackfillRequest, Kind, State
from bulu.workflow.selectors import requests_visible_to
from credits.models import CreditRecord
from imports import duplicates
from imports.models import CreditStandardItem
from personal.models import Evidence, PersonalItem, PersonalRequest

# After final approval nothing the applicant does changes the request (nor after it ended).
FROZEN_STATES = (State.APPROVED, State.EXPORTED, State.IMPORTED, State.WITHDRAWN, State.REJECTED)


def personal_requests_for_user(*, user: User) -> QuerySet[PersonalRequest]:
    visible = requests_visible_to(user=user).filter(kind=Kind.PERSONAL).values("pk")
    return PersonalRequest.objects.filter(pk__in=visible)


def _items() -> QuerySet[PersonalItem]:
    # The standard items are read apart: joined in, they made one query of eleven tables, which
    # PostgreSQL spent ~3 ms planning on every view of the page (0.3 ms running it).
    standards = CreditStandardItem.objects.select_related(
        "subcategory__category", "credit_type", "level"
    )
    return PersonalItem.objects.select_related(
        "category", "subcategory", "level", "credit_type"
    ).prefetch_related(Prefetch("standard_item", queryset=standards), "evidence")


def personal_request_get(*, user: User, pk: int) -> PersonalRequest:
    """The request with items and evidence, or 404 when the user may not see it."""
    try:
        return (
            personal_requests_for_user(user=user)
            .select_related(
                "applicant", "applicant_org__parent", "current_step__organization", "window"
            )
            .prefetch_related(Prefetch("items", queryset=_items()), "route_steps__organization")
            .get(pk=pk)
        )
    except PersonalRequest.DoesNotExist as exc:
        raise Http404 from exc


def personal_item_get(*, user: User, request_pk: int, item_pk: int) -> PersonalItem:
    request = personal_request_get(user=user, pk=request_pk)
    try:
        return request.items.get(pk=item_pk)
    except PersonalItem.DoesNotExist as exc:
        raise Http404 from exc


def evidence_get(*, user: User, pk: int) -> Evidence:
    try:
        evidence = Evidence.objects.get(pk=pk)
    except Evidence.DoesNotExist as exc:
        raise Http404 from exc
    personal_request_get(user=user, pk=evidence.request_id)  # 404 when not visible
    return evidence


def evidence_staged(*, request: PersonalRequest, pks: list[int]) -> list[Evidence]:
    """Files uploaded with an item form that is not saved yet."""
    return list(Evidence.objects.filter(request=request, item__isnull=True, pk__in=pks))


def personal_page_context(
    request: BackfillRequest, user: User, params: Mapping[str, str]
) -> dict[str, Any]:
    """The personal part of the shared request page: items, evidence, the online record."""
    items = list(_items().filter(request_id=request.pk))
    personal_items_mark_duplicates(request=request, items=items)
    is_owner = request.applicant_id == user.pk
    return {
        "items": items,
        "credits": list(CreditRecord.objects.filter(request_id=request.pk)),
        "online_editable": is_owner and request.state not in FROZEN_STATES,
        "online_required": settings.BULU_REQUIRE_ONLINE_SUBMISSION,
        # Once 已导入到梦空间 the credits are there: nobody is asked for the online step any more.
        "online_asked": request.state != State.IMPORTED,
    }


# --- possible double claims (imports.duplicates) -----------------------------------------------

_LINE_FIELDS = (
    "pk",
    "request_id",
    "request__applicant__username",
    "content",
    "start_date",
    "end_date",
    "credit_type__name",
)


def personal_item_lines_of(request_id: int) -> list[duplicates.Line]:
    """A request's items as lines, numbered as the page numbers them (1, 2, …)."""
    rows = PersonalItem.objects.filter(request_id=request_id).order_by("order", "pk")
    return [_line(row, n) for n, row in enumerate(rows.values_list(*_LINE_FIELDS), start=1)]


def _line(row: Any, position: int) -> duplicates.Line:
    pk, request_id, student_no, content, start, end, credit_type = row[:7]
    return duplicates.Line(
        duplicates.PERSONAL_ITEM,
        pk,
        request_id,
        student_no,
        content,
        start,
        end,
        credit_type,
        position=position,
    )


def personal_item_lines_live(
    student_nos: Collection[str], exclude_request: int | None
) -> list[duplicates.Line]:
    """Items of these students' live (submitted, not ended) requests."""

    def to_lines(qs: QuerySet[PersonalItem]) -> list[duplicates.Line]:
        # Whole requests are selected (by applicant and state), so the numbering is the page's.
        qs = qs.annotate(
            n=Window(RowNumber(), partition_by=[F("request_id")], order_by=[F("order"), F("pk")])
        )
        return [_line(row, row[7]) for row in qs.values_list(*_LINE_FIELDS, "n")]

    return duplicates.live_lines(
        student_nos,
        exclude_request,
        queryset=PersonalItem.objects.all(),
        student_field="request__applicant__username",
        request_field="request",
        to_lines=to_lines,
    )


def personal_items_mark_duplicates(
    *, request: BackfillRequest, items: Iterable[PersonalItem]
) -> None:
    """Set `possible_duplicates` (messages) on each item, for the warnings on the pages."""
    found = duplicates.duplicates_by_line(duplicates.duplicates_for(request))
    for item in items:
        item.possible_duplicates = [  # type: ignore[attr-defined]
            d.message for d in found.get((duplicates.PERSONAL_ITEM, item.pk), [])
        ]


def personal_signed_content(request: BackfillRequest) -> dict[str, object]:
    """What the earlier steps signed for: the items claimed, as the student entered them (not
    their evidence files, the title or the center's recognition). docs/decisions.md, "Returns"."""
    items = PersonalItem.objects.filter(request_id=request.pk).order_by("order", "pk")
    return {
        str(_("申报条目")): list(
            items.values_list(
                "content",
                "start_date",
                "end_date",
                "category_id",
                "subcategory_id",
                "level_id",
                "awards",
                "credit_type_id",
                "claimed_value",
                "quantity",
                "standard_item_id",
            )
        )
    }
