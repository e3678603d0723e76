"""Reads of collective back-fill, narrowed to what the user may see."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from accounts.models import Organization, User
from bulu.workflow.models import BackfillRequest, Kind, State
from bulu.workflow.selectors import requests_visible_to
from bulu.workflow.services import EDITABLE_STATES
from collective import letter
from collective.models import CollectiveRequest
from collective.services import collective_checks
from imports.entries import FLAG_LABELS, roster_entries, roster_totals
from imports.models import RosterEntry

ROWS_PER_PAGE = 50


def collective_requests_for_user(*, user: User) -> QuerySet[CollectiveRequest]:
    visible = requests_visible_to(user=user).filter(kind=Kind.COLLECTIVE).values("pk")
    return CollectiveRequest.objects.filter(pk__in=visible)


def collective_request_get(*, user: User, pk: int) -> CollectiveRequest:
    try:
        return (
            collective_requests_for_user(user=user)
            .select_related(
                "applicant",
                "applicant_org__parent",
                "standard_item__subcategory__category",
                "standard_item__credit_type",
                "standard_item__level",
                "roster",
                "current_step__organization",
            )
            .get(pk=pk)
        )
    except CollectiveRequest.DoesNotExist as exc:
        raise Http404 from exc


def unit_phrase(unit: Organization) -> str:
    """How 附件2 names the applying unit: 学院团总支学生会 / 社团 / 学生组织."""
    if unit.kind == Organization.Kind.BRANCH:
        return f"{unit.name}学生会"
    return unit.name


def collective_page_context(
    request: BackfillRequest, user: User, params: Mapping[str, str]
) -> dict[str, Any]:
    """The letter, the form, the explanation and the roster as a paged, filterable table."""
    collective = CollectiveRequest.objects.select_related(
        "applicant_org__parent",
        "standard_item__subcategory__category",
        "standard_item__credit_type",
        "roster",
    ).get(pk=request.pk)
    lines = letter.letter_lines(collective)
    context: dict[str, Any] = {
        "collective": collective,
        "unit_phrase": unit_phrase(collective.applicant_org),
        "letter_phrase": letter.letter_phrase(lines),
        "detail_lines": letter.detail_lines(lines),
        "flag_labels": FLAG_LABELS,
    }
    upload = collective.roster
    if upload is not None and upload.ok:
        flagged_only = params.get("flagged") == "1"
        search = (params.get("q") or "")[:32]
        rows = roster_entries(upload=upload, flagged_only=flagged_only, search=search)
        context.update(
            {
                "totals": roster_totals(upload=upload),
                "rows_page": Paginator(rows, ROWS_PER_PAGE).get_page(params.get("rows")),
                "flagged_only": flagged_only,
                "search": search,
            }
        )
    if request.state in EDITABLE_STATES or request.state == State.PENDING:
        context["checks"] = [c for c in collective_checks(collective) if not c.blocking]
    return context


def flagged_rows(*, request: BackfillRequest) -> list[RosterEntry]:
    collective = CollectiveRequest.objects.get(pk=request.pk)
    if collective.roster_id is None:
        return []
    return list(
        RosterEntry.objects.filter(upload_id=collective.roster_id, has_flags=True).order_by(
            "excel_row"
        )
    )


# --- who the request lists (they sign no step of it) ------------------------------------------


def collective_requests_listing(user: User) -> Q:
    """Collective requests whose current roster has a row for `user` (by account or 学号)."""
    rows = RosterEntry.objects.filter(Q(student_id=user.pk) | Q(student_no=user.username))
    return Q(
        pk__in=CollectiveRequest.objects.filter(roster__in=rows.values("upload_id")).values("pk")
    )


def collective_people_listed(request: BackfillRequest) -> Q:
    """Users with a row on the request's current roster."""
    rows = RosterEntry.objects.filter(
        upload__in=CollectiveRequest.objects.filter(pk=request.pk).values("roster_id")
    )
    return Q(pk__in=rows.exclude(student=None).values("student_id")) | Q(
        username__in=rows.values("student_no")
    )


def collective_signed_content(request: BackfillRequest) -> dict[str, object]:
    """What the earlier steps signed for: the roster (附件4) and the values the letter grants
    (not the explanations, the contact or the evidence files). docs/decisions.md, "Returns"."""
    collective = CollectiveRequest.objects.get(pk=request.pk)
    values: dict[str, object] = {
        "case": collective.case,
        "activity": collective.activity_name,
        "dates": [collective.activity_start, collective.activity_end],
        "standard_item": collective.standard_item_id,
        "main": [
            collective.points_per_person,
            collective.declared_participants,
            collective.declared_total,
        ],
        "lines": list(
            collective.extra_lines.order_by("order", "pk").values_list(
                "credit_type_id", "points_per_person", "declared_participants", "declared_total"
            )
        ),
        "tiers": list(
            collective.tiers.order_by("order", "pk").values_list(
                "credit_type_id", "award", "points"
            )
        ),
    }
    return {
        str(_("人员名单")): [collective.roster_id, collective.roster_version],
        str(_("积分分值")): values,
    }
