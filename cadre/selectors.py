"""Reads of cadre back-fill, narrowed to what the user may see."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from accounts.models import Membership, Organization, User
from bulu.workflow.models import BackfillRequest, Kind, State, Window
from bulu.workflow.selectors import requests_visible_to
from cadre.models import CadreEntry, CadreEvidence, CadreRequest, UnitKind
from cadre.texts import entry_content
from imports import duplicates


def cadre_requests_for_user(*, user: User) -> QuerySet[CadreRequest]:
    visible = requests_visible_to(user=user).filter(kind=Kind.CADRE).values("pk")
    return CadreRequest.objects.filter(pk__in=visible)


def cadre_request_get(*, user: User, pk: int) -> CadreRequest:
    try:
        return (
            cadre_requests_for_user(user=user)
            .select_related("applicant", "applicant_org__parent", "current_step__organization")
            .get(pk=pk)
        )
    except CadreRequest.DoesNotExist as exc:
        raise Http404 from exc


def evidence_get(*, user: User, pk: int) -> CadreEvidence:
    evidence = CadreEvidence.objects.filter(pk=pk).first()
    if evidence is None:
        raise Http404
    cadre_request_get(user=user, pk=evidence.request_id)
    return evidence


def cadre_page_context(
    request: BackfillRequest, user: User, params: Mapping[str, str]
) -> dict[str, Any]:
    cadre = CadreRequest.objects.select_related("applicant_org").get(pk=request.pk)
    entries = list(
        cadre.entries.select_related(
            "school_year",
            "position__standard_item__credit_type",
            "position__standard_item__subcategory__category",
        )
    )
    for e in entries:
        e.content = entry_content(e, cadre.applicant_org)
    return {
        "cadre": cadre,
        "entries": entries,
        "flagged": sum(1 for e in entries if e.has_flags),
        "evidence": list(cadre.evidence.all()),
    }


def my_cadre_entries(*, user: User) -> list[CadreEntry]:
    """Every service of this student in any cadre request (their own or a unit's list)."""
    return list(
        CadreEntry.objects.filter(student=user)
        .exclude(request__state=State.DRAFT)
        .select_related("request__applicant_org", "position", "school_year")
        .order_by("-term_start")
    )


def units_expected(*, window: Window) -> list[tuple[Organization, bool]]:
    """Every unit expected to hand in a cadre list in `window`, and whether it has: classes with
    students, organizations, clubs, and the colleges' 学生会 (团总支)."""
    handed_in = CadreRequest.objects.filter(
        applicant_org_id=OuterRef("pk"),
        mode=CadreRequest.Mode.UNIT_LIST,
        window=window,
    ).exclude(state=State.WITHDRAWN)
    students = Membership.objects.filter(
        organization_id=OuterRef("pk"), role=Membership.Role.STUDENT
    )
    units = (
        Organization.objects.filter(kind__in=UnitKind.values, is_active=True)
        .annotate(handed_in=Exists(handed_in), has_students=Exists(students))
        .select_related("parent")
        .order_by("parent__name", "kind", "name")
    )
    return [
        (u, bool(u.handed_in)) for u in units if u.kind != Organization.Kind.CLASS or u.has_students
    ]


# --- who the request lists (they sign no step of it) ------------------------------------------


def cadre_requests_listing(user: User) -> Q:
    """Cadre requests with an entry for `user`."""
    return Q(pk__in=CadreEntry.objects.filter(student_id=user.pk).values("request_id"))


def cadre_people_listed(request: BackfillRequest) -> Q:
    return Q(pk__in=CadreEntry.objects.filter(request_id=request.pk).values("student_id"))


# --- possible double claims (imports.duplicates) -----------------------------------------------


def _cadre_lines(qs: QuerySet[CadreEntry]) -> list[duplicates.Line]:
    """Entries as the credit they would become (content as the credit record writes it)."""
    qs = qs.select_related(
        "request__applicant_org__parent", "position__standard_item__credit_type", "school_year"
    )
    return [
        duplicates.Line(
            duplicates.CADRE_ENTRY,
            e.pk,
            e.request_id,
            e.student_no,
            entry_content(e, e.request.applicant_org),
            e.term_start,
            e.term_end,
            e.position.standard_item.credit_type.name,
            position=e.row,
        )
        for e in qs
    ]


def cadre_entry_lines_of(request_id: int) -> list[duplicates.Line]:
    return _cadre_lines(CadreEntry.objects.filter(request_id=request_id))


def cadre_entry_lines_live(
    student_nos: Collection[str], exclude_request: int | None
) -> list[duplicates.Line]:
    return duplicates.live_lines(
        student_nos,
        exclude_request,
        queryset=CadreEntry.objects.all(),
        student_field="student_no",
        request_field="request",
        to_lines=_cadre_lines,
    )


def cadre_signed_content(request: BackfillRequest) -> dict[str, object]:
    """What the earlier steps signed for: who served where, in which position, for which term
    and school year (not the evidence files). docs/decisions.md, "Returns"."""
    entries = CadreEntry.objects.filter(request_id=request.pk, live=True)
    return {
        str(_("任职名单")): sorted(
            entries.values_list(
                "student_id", "unit_id", "position_id", "term_start", "term_end", "school_year_id"
            ),
            key=str,
        )
    }
