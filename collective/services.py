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
from bulu.exceptions import AccessDenied, ApplicationError
from bulu.workflow import routing
from bulu.workflow.models import BackfillRequest, Decision, Kind
from bulu.workflow.services import request_ensure_editable, request_submit
from collective.models import CollectiveRequest
from imports.credits import credit_records_announce
from imports.entries import roster_entries_flag, roster_entries_to_credits, roster_totals
from imports.models import CreditRecord, CreditStandardItem, RosterEntry, RosterUpload
from imports.services import roster_upload_create

UNIT_KINDS = (Organization.Kind.BRANCH, Organization.Kind.STUDENT_ORG, Organization.Kind.CLUB)
# Who may file for a unit: its applicant members (学生干部), its advisor, its branch secretary.
FILING_CODENAMES = ("submit_for_org", "approve_as_advisor", "approve_as_secretary")


def collective_units_for(*, user: User) -> QuerySet[Organization]:
    """The units (团总支, 学生组织, 学生社团) `user` may file a collective request for."""
    return organizations_acted_for(user=user, codenames=FILING_CODENAMES, kinds=UNIT_KINDS)


def collective_request_create(*, actor: User, unit: Organization) -> CollectiveRequest:
    if not collective_units_for(user=actor).filter(pk=unit.pk).exists():
        raise AccessDenied(_("你不能以“%(unit)s”的名义申请。") % {"unit": unit.name})
    return CollectiveRequest.objects.create(
        kind=Kind.COLLECTIVE,
        title=_("%(unit)s集体活动积分补录") % {"unit": unit.name},
        applicant=actor,
        applicant_org=unit,
        college=unit.college or (unit.parent if unit.kind == Organization.Kind.BRANCH else None),
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


def collective_request_update(
    *, request: CollectiveRequest, actor: User, data: CollectiveData
) -> CollectiveRequest:
    request_ensure_editable(request, actor)
    if data.case and data.case not in CollectiveRequest.Case.values:
        raise ApplicationError(_("集体活动补录只受理《办法》第二条的两种情形，请选择其中一种。"))
    for field in dataclasses.fields(data):
        setattr(request, field.name, getattr(data, field.name))
    if data.activity_name.strip():
        request.title = _("%(activity)s积分补录") % {"activity": data.activity_name.strip()}
    request.save()
    return request


def collective_roster_attach(
    *, request: CollectiveRequest, actor: User, fileobj: IO[bytes], filename: str
) -> RosterUpload:
    """A new roster replaces the current one (the old one stays, for the log)."""
    request_ensure_editable(request, actor)
    with transaction.atomic():
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
    need("points_per_person", request.points_per_person, _("每人分值"))
    need("declared_participants", request.declared_participants, _("参与人数"))
    need("declared_total", request.declared_total, _("共计分值"))
    need("contact_phone", request.contact_phone, _("联系电话"))
    need("activity_start", request.activity_start, _("活动时间"))
    need("location", request.location, _("活动地点"))
    need("credit_details", request.credit_details, _("积分明细"))
    need("reason", request.reason, _("申请理由"))
    if request.needs_explanation:
        for field, label in (
            ("cause", _("情况说明：原因分析")),
            ("correct_procedure", _("情况说明：正常的流程/方法")),
            ("prevention", _("情况说明：今后如何避免")),
            ("summary", _("情况说明：活动总结")),
        ):
            need(field, getattr(request, field), label)
    today = timezone.localdate()
    if request.activity_start and request.activity_start > today:
        checks.append(Check("activity_start", _("活动时间晚于今天：只能补录已经结束的活动。")))
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
    computed = request.computed_total
    if (
        computed is not None
        and request.declared_total is not None
        and computed != request.declared_total
    ):
        checks.append(
            Check(
                "declared_total",
                _("共计分值 %(total)s 与 每人 %(p)s 分 × %(n)s 人 = %(computed)s 不一致。")
                % {
                    "total": request.declared_total,
                    "p": request.points_per_person,
                    "n": request.declared_participants,
                    "computed": computed,
                },
            )
        )
    checks.extend(_roster_checks(request))
    return checks


def _roster_checks(request: CollectiveRequest) -> list[Check]:
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
    if (
        request.declared_participants is not None
        and totals["students"] != request.declared_participants
    ):
        checks.append(
            Check(
                "declared_participants",
                _("申请书写的参与人数为 %(declared)s 人，人员名单中有 %(roster)s 人。")
                % {"declared": request.declared_participants, "roster": totals["students"]},
            )
        )
    if request.declared_total is not None and totals["total"] != request.declared_total:
        checks.append(
            Check(
                "declared_total",
                _("申请书写的共计分值为 %(declared)s，人员名单的学分值合计为 %(roster)s。")
                % {"declared": request.declared_total, "roster": totals["total"]},
            )
        )
    standard = request.standard_item
    if standard is not None:
        wrong = RosterEntry.objects.filter(upload=upload).exclude(
            category=standard.subcategory.category.name, credit_type=standard.credit_type.name
        )
        mismatched = wrong.count()
        if mismatched:
            checks.append(
                Check(
                    "roster",
                    _(
                        "人员名单中有 %(n)s 行的活动一级分类或学分类型与所选认定标准"
                        "（%(category)s，%(type)s）不同，请核对。"
                    )
                    % {
                        "n": mismatched,
                        "category": standard.subcategory.category.name,
                        "type": standard.credit_type.name,
                    },
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
    for entry in flagged.values():
        reason = payload.get(entry.pk)
        entry.excluded = reason is not None
        entry.excluded_reason = str(reason or "").strip()[:200]
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
