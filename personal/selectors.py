"""Reads of personal back-fill, narrowed to what the user may see."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django.http import Http404

from accounts.models import User
from bulu.workflow.models import Kind
from bulu.workflow.selectors import requests_visible_to
from imports.models import CreditStandardItem
from personal.models import Evidence, PersonalItem, PersonalRequest


def personal_requests_for_user(*, user: User) -> QuerySet[PersonalRequest]:
    visible = requests_visible_to(user=user).filter(kind=Kind.PERSONAL).values("pk")
    return PersonalRequest.objects.filter(pk__in=visible)


def personal_request_get(*, user: User, pk: int) -> PersonalRequest:
    """The request with items and evidence, or 404 when the user may not see it."""
    items = PersonalItem.objects.select_related(
        "category", "subcategory", "level", "credit_type", "standard_item"
    ).prefetch_related("evidence")
    try:
        return (
            personal_requests_for_user(user=user)
            .select_related(
                "applicant", "applicant_org__parent", "current_step__organization", "window"
            )
            .prefetch_related(Prefetch("items", queryset=items), "route_steps__organization")
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
        evidence = Evidence.objects.select_related("item").get(pk=pk)
    except Evidence.DoesNotExist as exc:
        raise Http404 from exc
    personal_request_get(user=user, pk=evidence.item.request_id)  # 404 when not visible
    return evidence


def my_personal_requests(*, user: User) -> QuerySet[PersonalRequest]:
    return (
        PersonalRequest.objects.filter(applicant=user)
        .select_related(
            "applicant", "applicant_org", "college", "current_step__organization", "window"
        )
        .order_by("-created_at")
    )


def standard_items() -> QuerySet[CreditStandardItem]:
    return CreditStandardItem.objects.filter(is_active=True).select_related(
        "subcategory__category", "level", "credit_type"
    )
