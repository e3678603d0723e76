"""Writes of collective back-fill. State changes go through `bulu.workflow.services`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import IO

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organization, User
from accounts.selectors import organizations_acted_for
from bulu import limits
from bulu.exceptions import AccessDenied, ApplicationError
from bulu.files import atomic_with_files
from bulu.workflow import routing
from bulu.workflow.models import BackfillRequest, Decision, Kind
from bulu.workflow.services import (
    request_ensure_editable,
    request_submit,
    window_ensure_accepting,
)
from collective import letter
from collective.models import CollectiveRequest, LetterLine, LetterTier
from credits.models import CreditRecord
from credits.services import credit_records_announce
from imports.entries import roster_entries_flag, roster_entries_to_credits, roster_totals
from imports.models import CreditStandardItem, CreditType, RosterEntry, RosterUpload
from imports.services import roster_upload_create

UNIT_KINDS = (Organization.Kind.BRANCH, Organization.Kind.STUDENT_ORG, Organization.Kind.CLUB)
# Who may file for a unit: its applicant members (学生干部), its advisor, its branch secretary.
FILING_CODENAMES = ("submit_for_org", "approve_as_advisor", "approve_as_secretary")
ROW_PROBLEMS_SHOWN = 20  # rows named one by one on the form; the rest are counted


def collective_units_for(*, user: User) -> QuerySet[Organization]:
    """The units (团总支, 学生组织, 学生社团) `user` may file a collective request for."""
    return organizations_acted_for(user=user, codenames=FILING_CODENAMES, kinds=UNIT_KINDS)


def collective_request_create(*, actor: User, unit: Organization) -> CollectiveRequest:
    if not collective_units_for(user=actor).filter(pk=unit.pk).exists():
        raise AccessDenied(_("你不能以“%(unit)s”的名义申请。") % {"unit": unit.name})
    window_ensure_accepting(kind=Kind.COLLECTIVE)
    return CollectiveRequest.objects.create(
        kind=Kind.COLLECTIVE,
        title=_("%(unit)s集体活动积分补录") % {"unit": unit.name},
        applicant=actor,
        applicant_org=unit,
        college=unit.college or (unit.parent if unit.kind == Organization.Kind.BRANCH else None),
    )


@dataclass
class LineData:
    """A further credit type of the letter (附件2)."""

    credit_type_id: int
    points_per_person: Decimal | None = None
    declared_participants: int | None = None
    declared_total: Decimal | None = None


@dataclass
class TierData:
    """An award tier; no credit type means the letter's main type (the standard item's)."""

    award: str
    points: Decimal
    credit_type_id: int | None = None


# Children of the request, replaced as a whole when given (None leaves them as they are).
CHILDREN = ("extra_lines", "tiers")
# The typed texts, each refused over its field's limit (`bulu.limits`).
TEXTS = (
    "activity_name",
    "contact_phone",
    "location",
    "credit_details",
    "reason",
    "cause",
    "correct_procedure",
    "prevention",
    "summary",
)


@dataclass
class CollectiveData:
    """Everything typed into the request: savable at any time as a draft, complete or not."""

    case: str = ""
    activity_name: str = ""
    standard_item_id: int | None = None
    points_per_person: Decimal | None = None
    declared_participants: int | None = None
    declared_total: Decimal | None = None
    contact_phone: str = ""
    activity_start: date | None = None
    activity_end: date | None = None
    location: str = ""
    credit_details: str = ""
    reason: str = ""
    cause: str = ""
    correct_procedure: str = ""
    prevention: str = ""
    summary: str = ""
    extra_lines: list[LineData] | None = None
    tiers: list[TierData] | None = None


def _ensure_finished(start: date | None, end: date | None) -> None:
    """第二条: both cases concern an activity that 已完结."""
    today = timezone.localdate()
    if end is not None and end > today:
        raise ApplicationError(
            _("活动结束日期 %(d)s 晚于今天，活动未完结，不能补录。") % {"d": f"{end:%Y-%m-%d}"}
        )
    if end is None and start is not None and start > today:
        raise ApplicationError(
            _("活动开始日期 %(d)s 晚于今天，活动未完结，不能补录。") % {"d": f"{start:%Y-%m-%d}"}
        )


def _ensure_letter(data: CollectiveData, main_type_id: int | None) -> None:
    lines = data.extra_lines or []
    line_types = [line.credit_type_id for line in lines]
    names = dict(CreditType.objects.filter(pk__in=line_types).values_list("pk", "name"))
    seen: set[int] = set()
    for type_id in line_types:
        if type_id == main_type_id or type_id in seen:
            raise ApplicationError(
                _("申请书中学分类型“%(type)s”写了两次：每种学分类型只写一行。")
                % {"type": names.get(type_id, type_id)}
            )
        seen.add(type_id)
    tier_keys: set[tuple[int | None, str]] = set()
    for tier in data.tiers or []:
        award = tier.award.strip()
        tier_type = None if tier.credit_type_id == main_type_id else tier.credit_type_id
        if not award:
            raise ApplicationError(_("奖项档次请写明奖项名称（如 一等奖、参与）。"))
        limits.texts_ensure_fit(LetterTier, {"award": award})
        if tier.points is None or tier.points <= 0:
            raise ApplicationError(_("奖项档次“%(award)s”的分值应大于 0。") % {"award": award})
        if tier_type is not None and tier_type not in seen:
            raise ApplicationError(
                _("奖项档次“%(award)s”的学分类型不在申请书中，请先添加该学分类型。")
                % {"award": award}
            )
        if (tier_type, award) in tier_keys:
            raise ApplicationError(_("奖项档次“%(award)s”写了两次。") % {"award": award})
        tier_keys.add((tier_type, award))


def collective_request_update(
    *, request: CollectiveRequest, actor: User, data: CollectiveData
) -> CollectiveRequest:
    request_ensure_editable(request, actor)
    limits.texts_ensure_fit(CollectiveRequest, {name: getattr(data, name) for name in TEXTS})
    if data.case and data.case not in CollectiveRequest.Case.values:
        raise ApplicationError(_("集体活动补录只受理《办法》第二条的两种情形，请选择其中一种。"))
    _ensure_finished(data.activity_start, data.activity_end)
    main_type_id = (
        CreditStandardItem.objects.filter(pk=data.standard_item_id)
        .values_list("credit_type_id", flat=True)
        .first()
        if data.standard_item_id is not None
        else None
    )
    _ensure_letter(data, main_type_id)
    for field in dataclasses.fields(data):
        if field.name not in CHILDREN:
            setattr(request, field.name, getattr(data, field.name))
    if data.activity_name.strip():
        title = _("%(activity)s积分补录") % {"activity": data.activity_name.strip()}
        request.title = title[: limits.TITLE]  # made from the name: never refused for its length
    with transaction.atomic():
        request.save()
        if data.extra_lines is not None:
            LetterLine.objects.filter(request=request).delete()
            LetterLine.objects.bulk_create(
                LetterLine(
                    request=request,
                    order=i,
                    credit_type_id=line.credit_type_id,
                    points_per_person=line.points_per_person,
                    declared_participants=line.declared_participants,
                    declared_total=line.declared_total,
                )
                for i, line in enumerate(data.extra_lines)
            )
        if data.tiers is not None:
            LetterTier.objects.filter(request=request).delete()
            LetterTier.objects.bulk_create(
                LetterTier(
                    request=request,
                    order=i,
                    # The main type is stored as "no type", so a new standard item keeps them.
                    credit_type_id=(
                        None if tier.credit_type_id == main_type_id else tier.credit_type_id
                    ),
                    award=tier.award.strip(),
                    points=tier.points,
                )
                for i, tier in enumerate(data.tiers)
            )
    return request


def collective_roster_attach(
    *, request: CollectiveRequest, actor: User, fileobj: IO[bytes], filename: str
) -> RosterUpload:
    """A new roster replaces the current one (the old one stays, for the log)."""
    request_ensure_editable(request, actor)
    with atomic_with_files():
        locked = CollectiveRequest.objects.select_for_update().get(pk=request.pk)
        upload = roster_upload_create(
            user=actor, fileobj=fileobj, filename=filename, request=locked
        )
        RosterUpload.objects.filter(request=locked).exclude(pk=upload.pk).update(is_current=False)
        locked.roster = upload
        locked.roster_version = upload.version
        locked.save(update_fields=["roster", "roster_version", "updated_at"])
    request.refresh_from_db()
    return upload


@dataclass(frozen=True)
class Check:
    """One thing that keeps a request from being submitted (or a note for reviewers)."""

    field: str
    message: str
    blocking: bool = True


def collective_checks(request: CollectiveRequest) -> list[Check]:
    """What is missing or disagrees, shown on the form before submission (never to an approver
    first). Blocking checks refuse submission."""
    checks: list[Check] = []

    def need(field: str, value: object, label: str) -> None:
        if value in (None, "") or (isinstance(value, str) and not value.strip()):
            checks.append(Check(field, _("请填写%(label)s。") % {"label": label}))

    if not request.case:
        checks.append(Check("case", _("请选择补录情形（第二条的两种情形之一）。")))
    need("activity_name", request.activity_name, _("活动名称"))
    need("standard_item", request.standard_item_id, _("对应的认定标准条目"))
    lines = letter.letter_lines(request)
    main_tiers = bool(lines and lines[0].tiers)
    if not main_tiers:
        need("points_per_person", request.points_per_person, _("每人分值"))
    need("declared_participants", request.declared_participants, _("参与人数"))
    need("declared_total", request.declared_total, _("共计分值"))
    for line in lines[1:]:
        for value, label in (
            (line.points_per_person if not line.tiers else 0, _("每人分值")),
            (line.participants, _("参与人数")),
            (line.total, _("共计分值")),
        ):
            if value is None:
                checks.append(
                    Check(
                        "extra_lines",
                        _("请填写%(type)s的%(label)s。")
                        % {"type": line.credit_type, "label": label},
                    )
                )
    need("contact_phone", request.contact_phone, _("联系电话"))
    need("activity_start", request.activity_start, _("活动时间"))
    need("location", request.location, _("活动地点"))
    # 积分明细 prints one generated line per credit type; the typed text only adds to it.
    need("reason", request.reason, _("申请理由"))
    if request.needs_explanation:
        for field, label in (
            ("cause", _("情况说明：原因分析")),
            ("correct_procedure", _("情况说明：正常的流程/方法")),
            ("prevention", _("情况说明：今后如何避免")),
            ("summary", _("情况说明：活动总结")),
        ):
            need(field, getattr(request, field), label)
    try:
        _ensure_finished(request.activity_start, request.activity_end)
    except ApplicationError as exc:
        checks.append(Check("activity_end", exc.message))
    if (
        request.activity_start
        and request.activity_end
        and request.activity_end < request.activity_start
    ):
        checks.append(Check("activity_end", _("活动结束日期不能早于开始日期。")))
    standard = request.standard_item
    points = request.points_per_person
    if standard is not None and points is not None and points > standard.points:
        checks.append(
            Check(
                "points_per_person",
                _("每人分值 %(p)s 超过认定标准“%(s)s”的分值 %(max)s。")
                % {"p": points, "s": standard, "max": standard.points},
            )
        )
    checks.extend(Check("declared_total", m) for m in letter.line_problems(lines))
    checks.extend(_roster_checks(request, lines))
    return checks


def _roster_checks(request: CollectiveRequest, lines: list[letter.Line]) -> list[Check]:
    upload = request.roster
    if upload is None:
        return [Check("roster", _("请上传人员名单（附件4）。"))]
    if not upload.is_finished:
        return [Check("roster", _("人员名单正在校验，请稍候。"))]
    if upload.status != RosterUpload.Status.DONE or upload.error_count:
        return [
            Check(
                "roster",
                _("人员名单有 %(n)s 处错误，请下载标注文件修改后重新上传。")
                % {"n": max(upload.error_count, 1)},
            )
        ]
    totals = roster_totals(upload=upload)
    checks: list[Check] = []
    rows = [
        letter.Row(e["excel_row"], e["student_no"], e["credit_type"], e["award"], e["value"])
        for e in RosterEntry.objects.filter(upload=upload, excluded=False)
        .order_by("excel_row")
        .values("excel_row", "student_no", "credit_type", "award", "value")
    ]
    checks.extend(Check("roster", m) for m in letter.total_problems(lines, rows))
    problems = letter.row_problems(lines, rows)
    checks.extend(Check("roster", p.message) for p in problems[:ROW_PROBLEMS_SHOWN])
    if len(problems) > ROW_PROBLEMS_SHOWN:
        checks.append(
            Check(
                "roster",
                _("另有 %(n)s 行的学分值与申请书不符，请下载名单核对。")
                % {"n": len(problems) - ROW_PROBLEMS_SHOWN},
            )
        )
    standard = request.standard_item
    if standard is not None:
        # The credit type is judged row by row above (a letter may grant several types).
        wrong = RosterEntry.objects.filter(upload=upload).exclude(
            category=standard.subcategory.category.name
        )
        mismatched = wrong.count()
        if mismatched:
            checks.append(
                Check(
                    "roster",
                    _(
                        "人员名单中有 %(n)s 行的活动一级分类与所选认定标准"
                        "（%(category)s）不同，请核对。"
                    )
                    % {"n": mismatched, "category": standard.subcategory.category.name},
                    blocking=False,
                )
            )
    if totals["flagged"]:
        checks.append(
            Check(
                "roster",
                _("人员名单中有 %(n)s 行可能重复申请（已发放过或在另一申请中审核），审核人会看到。")
                % {"n": totals["flagged"]},
                blocking=False,
            )
        )
    return checks


def collective_route(request: BackfillRequest) -> list[routing.StepSpec]:
    """Advisor (org, club) or branch secretary (团总支) → the college's branch (a college's org
    or club) → 二课中心 → 校团委. A school-level org or club has no branch step by design.

    When the applicant is the unit's own advisor or secretary, another holder of that role signs
    step 1 (the workflow refuses the submission when there is none): a filing signs nothing.
    """
    unit = request.applicant_org
    if unit.kind == Organization.Kind.BRANCH:
        first = routing.step_branch(college=unit.parent, unit=unit, label=_("团总支书记审核"))
    else:
        first = routing.step_advisor(organization=unit, label=_("指导老师审核"))
    steps = [first]
    if unit.kind != Organization.Kind.BRANCH and unit.college is not None:
        steps.append(
            routing.step_branch(college=unit.college, unit=unit, label=_("学院团总支审核"))
        )
    steps.append(routing.step_center(label=_("二课中心审核")))
    steps.append(routing.step_committee(label=_("校团委审核")))
    return steps


def collective_request_submit(
    *, request: CollectiveRequest, actor: User, expected_version: int | None = None
) -> CollectiveRequest:
    if actor.pk != request.applicant_id:
        raise AccessDenied(_("只有申请人本人可以提交该申请。"))
    blocking = [c.message for c in collective_checks(request) if c.blocking]
    if blocking:
        raise ApplicationError(_("还不能提交：%(problems)s") % {"problems": "；".join(blocking)})
    assert request.roster is not None
    # Reviewers see double claims as they stand at submission (other requests moved on).
    roster_entries_flag(upload=request.roster)
    request_submit(request=request, actor=actor, expected_version=expected_version)
    return request


@dataclass
class RowExclusion:
    entry_id: int
    reason: str


def collective_review_rows(
    request: BackfillRequest, actor: User, decision: str, payload: object
) -> None:
    """At the center's step: leave flagged rows out of the credits (each with a reason)."""
    if decision != Decision.APPROVE or payload is None:
        return
    assert isinstance(payload, dict)
    collective = CollectiveRequest.objects.get(pk=request.pk)
    flagged = {
        e.pk: e for e in RosterEntry.objects.filter(upload_id=collective.roster_id, has_flags=True)
    }
    for entry_id, reason in payload.items():
        entry = flagged.get(entry_id)
        if entry is None:
            raise ApplicationError(_("只能排除有重复提醒的名单行。"))
        if not str(reason).strip():
            raise ApplicationError(
                _("第 %(row)s 行（%(name)s）不予发放，请写明原因。")
                % {"row": entry.excel_row, "name": entry.name}
            )
        limits.text_ensure_fits(
            str(reason).strip(),
            limit=limits.NOTE,
            label=_("第 %(row)s 行（%(name)s）不予发放的原因")
            % {"row": entry.excel_row, "name": entry.name},
        )
    for entry in flagged.values():
        reason = payload.get(entry.pk)
        entry.excluded = reason is not None
        entry.excluded_reason = str(reason or "").strip()
    RosterEntry.objects.bulk_update(list(flagged.values()), ["excluded", "excluded_reason"])


def collective_on_approved(request: BackfillRequest) -> None:
    """Final approval: every roster row becomes a credit record, all in the approval's
    transaction, exactly once (a retried approval creates nothing new)."""
    collective = CollectiveRequest.objects.get(pk=request.pk)
    if collective.roster_id is None:
        return
    # A retry inserts nothing (ON CONFLICT DO NOTHING): rows inserted now are all of them.
    if roster_entries_to_credits(request_id=collective.pk, upload_id=collective.roster_id):
        credit_records_announce(
            request=collective,
            created=CreditRecord.objects.filter(
                request_id=collective.pk, source_key__startswith="roster-entry:"
            ),
        )


def collective_log_context(request: BackfillRequest) -> dict[str, object]:
    collective = CollectiveRequest.objects.select_related("roster").get(pk=request.pk)
    upload = collective.roster
    if upload is None:
        return {}
    totals = roster_totals(upload=upload)
    return {
        "roster_upload": upload.pk,
        "roster_version": collective.roster_version,
        "seen": _("人员名单第 %(v)s 版（%(n)s 人，%(rows)s 行）")
        % {"v": collective.roster_version, "n": totals["students"], "rows": totals["rows"]},
    }


def collective_summary(request: BackfillRequest) -> str:
    collective = CollectiveRequest.objects.get(pk=request.pk)
    if collective.roster is None:
        return ""
    totals = roster_totals(upload=collective.roster)
    parts = [f"{t} {v}" for t, v in totals["per_type"].items()]
    return _("%(activity)s：%(n)s 人；%(totals)s") % {
        "activity": collective.activity_name,
        "n": totals["students"],
        "totals": "；".join(parts),
    }


def standard_items() -> QuerySet[CreditStandardItem]:
    return CreditStandardItem.objects.filter(is_active=True).select_related(
        "subcategory__category", "level", "credit_type"
    )
