"""Reads for printable forms: the opinion boxes of a request, the images of a decision, and
the requests a 补录通知 or a date range archives."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from bulu.jobs.models import Job
from bulu.jobs.selectors import job_latest
from bulu.workflow.models import ApprovalRecord, BackfillRequest, Decision, State, StepRole
from bulu.workflow.registry import PrintForm, kind_hooks
from documents.images import png_data_uri
from documents.models import SealImage, SignatureImage

STEP_DECISIONS = (Decision.APPROVE, Decision.RETURN, Decision.REJECT)
FILING_DECISIONS = (Decision.SUBMIT, Decision.RESUBMIT)
# Requests whose forms go into the school's paper file.
ARCHIVED_STATES = (State.APPROVED, State.EXPORTED, State.IMPORTED)


@dataclass(frozen=True)
class OpinionBox:
    """One route step's box on a form: empty (as on paper) until someone decided there."""

    index: int
    role: str
    role_label: str
    label: str
    organization: str
    decided: bool = False
    decision: str = ""
    decision_label: str = ""
    opinion: str = ""
    signer: str = ""
    signature: str = ""  # data URI of the signature image valid when the decision was made
    seal: str = ""  # data URI of the unit's seal valid then (团总支, 二课中心, 校团委)
    date: date | None = None
    signed_at_filing: bool = False


def request_forms(*, request: BackfillRequest) -> list[PrintForm]:
    hooks = kind_hooks(request.kind)
    return list(hooks.forms(request)) if hooks.forms else []


def signature_at(*, user_id: int, at: datetime) -> SignatureImage | None:
    """The signature the user had uploaded when deciding at `at` (None if none or removed)."""
    found = (
        SignatureImage.objects.filter(user_id=user_id, created_at__lte=at)
        .order_by("-created_at", "-pk")
        .first()
    )
    return found if found is not None and found.png else None


def signature_current(*, user: User) -> SignatureImage | None:
    return signature_at(user_id=user.pk, at=timezone.now())


ImageRow = tuple[int, datetime, bool]  # pk, created_at, has a PNG (False: removed)


def _image_rows(
    model: type[SignatureImage | SealImage], owner_field: str, owner_ids: set[int]
) -> dict[int, list[ImageRow]]:
    """Every upload of the given owners, oldest first: one query for all the boxes of a form."""
    rows: dict[int, list[ImageRow]] = {}
    if not owner_ids:
        return rows
    found = (
        model.objects.filter(**{f"{owner_field}__in": owner_ids})
        .order_by("created_at", "pk")
        .annotate(has_png=ExpressionWrapper(Q(png__isnull=False), output_field=BooleanField()))
        .values_list(owner_field, "pk", "created_at", "has_png")
    )
    for owner, pk, created_at, has_png in found:
        rows.setdefault(owner, []).append((pk, created_at, has_png))
    return rows


def _image_at(
    model: type[SignatureImage | SealImage], rows: list[ImageRow] | None, at: datetime
) -> str:
    """The data URI of the owner's image current at `at` ("" when none or removed).

    Images are never changed (a new upload is a new row), so their data URIs are cached by id
    and a form rebuilt for a download reads no image bytes."""
    current = None
    for row in rows or ():
        if row[1] > at:
            break
        current = row
    if current is None or not current[2]:
        return ""
    return _image_uri(model, current[0], current[1])


@functools.lru_cache(maxsize=256)
def _image_uri(model: type[SignatureImage | SealImage], pk: int, created_at: datetime) -> str:
    # Keyed with the upload time too: a test database that rolls back may reuse an id.
    return png_data_uri(model.objects.values_list("png", flat=True).get(pk=pk))


SEAL_ROLES = (StepRole.SECRETARY, StepRole.CENTER, StepRole.COMMITTEE)


def _box(
    step: Any,
    record: ApprovalRecord | None,
    signatures: dict[int, list[ImageRow]],
    seals: dict[int, list[ImageRow]],
) -> OpinionBox:
    base = {
        "index": step.index,
        "role": step.role,
        "role_label": str(StepRole(step.role).label),
        "label": step.label,
        "organization": step.organization.name,
    }
    if record is None:
        return OpinionBox(**base)
    filing = record.decision in FILING_DECISIONS
    signature = _image_at(SignatureImage, signatures.get(record.actor_id), record.created_at)
    seal = (
        _image_at(SealImage, seals.get(step.organization_id), record.created_at)
        if step.role in SEAL_ROLES
        else ""
    )
    return OpinionBox(
        **base,
        decided=True,
        decision=Decision.APPROVE if filing else record.decision,
        decision_label=_("同意（提交申请时签署）")
        if filing
        else str(Decision(record.decision).label),
        opinion=record.opinion,
        signer=record.actor.get_full_name(),
        signature=signature,
        seal=seal,
        date=timezone.localtime(record.created_at).date(),
        signed_at_filing=filing,
    )


def _kept(record: ApprovalRecord, request: BackfillRequest) -> bool:
    """An approval of an earlier submission at a step the current one kept: the current
    submission started at the returner's step (`bulu.workflow.resume`); the latest approval at
    each earlier step is still valid (records come oldest first, the latest wins)."""
    return (
        record.decision == Decision.APPROVE
        and record.submission < request.submission
        and record.step_index is not None
        and record.step_index < request.start_index
    )


def opinion_boxes(
    *, request: BackfillRequest, records: list[ApprovalRecord] | None = None
) -> list[OpinionBox]:
    """One box per route step of the current submission, filled from its decision record (or,
    at a step the submission kept from an earlier one, that one's approval).

    `records`: the request's log, oldest first, with actors (verification.signed_records, which
    the forms read anyway); read here when not given. Four queries whatever the route."""
    steps = list(request.route_steps.select_related("organization").order_by("index"))
    if records is None:
        records = list(
            ApprovalRecord.objects.filter(
                request_id=request.pk, decision__in=(*STEP_DECISIONS, *FILING_DECISIONS)
            )
            .select_related("actor")
            .order_by("created_at", "pk")
        )
    by_step: dict[int, ApprovalRecord] = {}
    for record in records:
        if _kept(record, request):
            by_step[record.step_index] = record  # type: ignore[index]  # an earlier approval kept
            continue
        if (
            record.submission != request.submission
            or record.step_index is None
            or record.decision not in (*STEP_DECISIONS, *FILING_DECISIONS)
        ):
            continue
        if record.decision in FILING_DECISIONS and not record.context.get("signed_at_filing"):
            continue
        by_step[record.step_index] = record  # the latest decision at that step
    signatures = _image_rows(SignatureImage, "user_id", {r.actor_id for r in by_step.values()})
    seals = _image_rows(
        SealImage,
        "organization_id",
        {s.organization_id for s in steps if s.role in SEAL_ROLES and s.index in by_step},
    )
    return [_box(step, by_step.get(step.index), signatures, seals) for step in steps]


def document_links(request: BackfillRequest, user: User) -> list[tuple[str, str]]:
    """The request page's download buttons (the page is already narrowed to who may see it)."""
    if request.submitted_at is None:
        return []
    return [
        (
            _("下载%(form)s（PDF）") % {"form": form.label},
            reverse("documents:download", args=[request.pk, form.key]),
        )
        for form in request_forms(request=request)
    ]


def requests_for_archive(
    *, window_id: int | None = None, start: date | None = None, end: date | None = None
) -> QuerySet[BackfillRequest]:
    """Finally approved requests of a 补录通知, or decided within [start, end] (local dates)."""
    qs = BackfillRequest.objects.filter(state__in=ARCHIVED_STATES)
    if window_id is not None:
        qs = qs.filter(window_id=window_id)
    if start is not None:
        qs = qs.filter(decided_at__date__gte=start)
    if end is not None:
        qs = qs.filter(decided_at__date__lte=end)
    return qs.select_related("applicant", "applicant_org").order_by("kind", "decided_at", "pk")


def render_job_failed(*, request: BackfillRequest) -> Job | None:
    """The request's background PDF render, when its last run gave up and nobody retried."""
    from documents.tasks import render_key

    job = job_latest(key=render_key(request.pk))
    if job is None or job.state != Job.State.FAILED or job.retried_at is not None:
        return None
    return job
