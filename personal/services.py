"""Writes of personal back-fill. The state changes go through `bulu.workflow.services`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import IO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.selectors import student_class
from bulu import limits
from bulu.exceptions import AccessDenied, ApplicationError
from bulu.files import files_delete_on_commit
from bulu.uploads import evidence_store
from bulu.workflow import routing
from bulu.workflow.models import BackfillRequest, Decision, Kind, State
from bulu.workflow.services import (
    EDITABLE_STATES,
    request_ensure_editable,
    request_submit,
    window_ensure_accepting,
)
from credits.models import CreditRecord
from credits.services import credit_records_create
from imports import duplicates
from imports.models import FRACTION_UNITS, CreditStandardItem, CreditType, quantity_text
from personal.models import Evidence, PersonalItem, PersonalRequest
from personal.selectors import FROZEN_STATES, personal_item_lines_of

EVIDENCE_MAX_PER_ITEM = 10


def personal_request_create(*, student: User, title: str) -> PersonalRequest:
    klass = student_class(user=student)
    if klass is None:
        raise ApplicationError(_("你的账号未关联班级，无法申请个人积分补录，请联系辅导员。"))
    window_ensure_accepting(kind=Kind.PERSONAL)
    title = title.strip() or _("个人成长积分补录")
    limits.text_ensure_fits(title, limit=limits.TITLE, label=_("申请标题"))
    return PersonalRequest.objects.create(
        kind=Kind.PERSONAL,
        title=title,
        applicant=student,
        applicant_org=klass,
        college=klass.parent,
    )


def personal_request_update(*, request: PersonalRequest, actor: User, title: str) -> None:
    request_ensure_editable(request, actor)
    title = title.strip()
    if not title:
        raise ApplicationError(_("请填写申请标题。"))
    limits.text_ensure_fits(title, limit=limits.TITLE, label=_("申请标题"))
    request.title = title
    request.save(update_fields=["title", "updated_at"])


@dataclass
class ItemData:
    content: str
    start_date: date
    end_date: date | None
    category_id: int
    subcategory_id: int
    level_id: int
    awards: str
    credit_type_id: int
    claimed_value: Decimal
    standard_item_id: int | None = None
    # Units of a per-unit standard item (6 小时); dropped for any other item.
    quantity: Decimal | None = None


def _plausible(data: ItemData) -> None:
    """Dates not in the future, a claim within the chosen standard and the credit type's cap."""
    errors: dict[str, list[str]] = {
        field: [problem]
        for field, problem in limits.text_problems(
            PersonalItem, {"content": data.content, "awards": data.awards}
        ).items()
    }
    today = timezone.localdate()
    for field, value, label in (
        ("start_date", data.start_date, _("开始时间")),
        ("end_date", data.end_date, _("结束时间")),
    ):
        if value is not None and value > today:
            errors.setdefault(field, []).append(
                _("%(label)s %(date)s 晚于今天：只能补录已经发生的活动。")
                % {"label": label, "date": value.isoformat()}
            )
    if data.standard_item_id is not None:
        standard = (
            CreditStandardItem.objects.select_related("subcategory__category", "credit_type")
            .filter(pk=data.standard_item_id)
            .first()
        )
        if standard is not None and standard.per_unit:
            _check_quantity(data, standard, errors)
        elif standard is not None and data.claimed_value > standard.points:
            errors.setdefault("claimed_value", []).append(
                _("申请学分值 %(value)s 超过所选认定标准“%(standard)s”的分值 %(points)s。")
                % {"value": data.claimed_value, "standard": standard, "points": standard.points}
            )
        if standard is None or not standard.per_unit:
            data.quantity = None
    else:
        data.quantity = None
    cap = (
        CreditType.objects.filter(pk=data.credit_type_id)
        .values_list("max_value", flat=True)
        .first()
    )
    if cap is not None and data.claimed_value > cap:
        errors.setdefault("claimed_value", []).append(
            _("申请学分值 %(value)s 超过该学分类型单条记录的上限 %(cap)s。")
            % {"value": data.claimed_value, "cap": cap}
        )
    if errors:
        raise ValidationError(errors)


def _check_quantity(
    data: ItemData, standard: CreditStandardItem, errors: dict[str, list[str]]
) -> None:
    """A per-unit item (每小时 …): a quantity is given, the claim at most quantity × points."""
    noun = standard.quantity_noun
    quantity = data.quantity
    if quantity is None or quantity <= 0:
        errors.setdefault("quantity", []).append(
            _("所选认定标准按%(unit)s计分，请填写数量（%(noun)s数），须大于 0。")
            % {"unit": standard.get_unit_display(), "noun": noun}
        )
        return
    if standard.unit not in FRACTION_UNITS and quantity != quantity.to_integral_value():
        errors.setdefault("quantity", []).append(
            _("数量 %(quantity)s 须是整数（按%(unit)s计分）。")
            % {"quantity": quantity_text(quantity), "unit": standard.get_unit_display()}
        )
        return
    most = (quantity * standard.points).quantize(Decimal("0.01"))
    if data.claimed_value > most:
        errors.setdefault("claimed_value", []).append(
            _(
                "申请学分值 %(value)s 超过所选认定标准“%(standard)s”按数量计算的分值 "
                "%(most)s（%(claim)s）。"
            )
            % {
                "value": data.claimed_value,
                "standard": standard,
                "most": most,
                "claim": standard.claim_text(quantity),
            }
        )


def _items_editable(request: BackfillRequest) -> None:
    """The item's own state check, inside its write's transaction: the request's committed
    state, its row locked, so neither a stale instance nor a submission or decision landing
    meanwhile lets an item of a request under review (or decided) change."""
    state = (
        BackfillRequest.objects.select_for_update()
        .filter(pk=request.pk)
        .values_list("state", flat=True)
        .first()
    )
    if state not in EDITABLE_STATES:
        raise ApplicationError(
            _("申请当前状态为“%(state)s”，事项不能修改或删除。")
            % {"state": State(state).label if state in State.values else state}
        )


def personal_item_save(
    *,
    request: PersonalRequest,
    actor: User,
    data: ItemData,
    item: PersonalItem | None = None,
    staged: Sequence[int] = (),
) -> PersonalItem:
    """Save an item and attach the evidence uploaded with its form, in one transaction.

    Raises ValidationError (per field) for implausible input; nothing is written then.
    """
    request_ensure_editable(request, actor)
    if item is not None and item.request_id != request.pk:
        raise AccessDenied(_("该事项不属于此申请。"))
    _plausible(data)
    _not_twice(request, data, item)
    with transaction.atomic():
        _items_editable(request)
        target = item or PersonalItem(request=request, order=request.items.count())
        for field, value in data.__dict__.items():
            setattr(target, field, value)
        target.full_clean(exclude=["request"])
        target.save()
        if staged:
            attach = Evidence.objects.filter(
                pk__in=list(staged), request=request, item__isnull=True
            )
            if target.evidence.count() + attach.count() > EVIDENCE_MAX_PER_ITEM:
                raise ValidationError(
                    {
                        "evidence_files": _("每个事项最多 %(n)d 个证明材料。")
                        % {"n": EVIDENCE_MAX_PER_ITEM}
                    }
                )
            attach.update(item=target)
        request.save(update_fields=["updated_at"])
    return target


def _not_twice(request: PersonalRequest, data: ItemData, item: PersonalItem | None) -> None:
    """第五条: one request never claims the same credit twice (tolerant matching)."""
    others = [
        line for line in personal_item_lines_of(request.pk) if item is None or line.ref != item.pk
    ]
    if not others:
        return
    credit_type = CreditType.objects.filter(pk=data.credit_type_id).values_list("name", flat=True)
    line = duplicates.Line(
        duplicates.PERSONAL_ITEM,
        item.pk if item is not None else 0,
        request.pk,
        others[0].student_no,
        data.content,
        data.start_date,
        data.end_date,
        credit_type.first() or "",
    )
    found = duplicates.duplicates_within([*others, line])
    clash = next((d for d in found if line in (d.line, d.other)), None)
    if clash is not None:
        first = clash.other if clash.line == line else clash.line
        raise ValidationError(
            {
                "content": _(
                    "与本申请第 %(n)s 项「%(c)s」重复（同一内容、日期、学分类型），"
                    "同一事项只能申请一次。"
                )
                % {"n": first.position, "c": first.content}
            }
        )


def personal_item_delete(*, item: PersonalItem, actor: User) -> None:
    request_ensure_editable(item.request, actor)
    names = [e.file.name for e in item.evidence.all()]
    with transaction.atomic():
        _items_editable(item.request)
        item.delete()
        files_delete_on_commit(names)


def personal_item_mark_online(
    *, item: PersonalItem, actor: User, applied: bool, applied_on: date | None
) -> PersonalItem:
    """第六条: the student records that the item was also filed online in 到梦空间."""
    if actor.pk != item.request.applicant_id:
        raise AccessDenied(_("只能修改自己的申请。"))
    if item.request.state in FROZEN_STATES:
        raise ApplicationError(
            _("申请已“%(state)s”，线上申请登记不能再更改。")
            % {"state": State(item.request.state).label}
        )
    item.online_applied = applied
    item.online_applied_on = applied_on if applied else None
    item.save(update_fields=["online_applied", "online_applied_on", "updated_at"])
    return item


def evidence_stage(
    *, request: PersonalRequest, actor: User, uploads: Sequence[tuple[str, IO[bytes]]]
) -> list[Evidence]:
    """Keep the files uploaded with an item form until the item is saved.

    Every file is checked before any is stored: one bad file stores none and says which.
    """
    request_ensure_editable(request, actor)
    return evidence_store(Evidence, uploads, request=request)


def evidence_delete(*, evidence: Evidence, actor: User) -> None:
    request = PersonalRequest.objects.get(pk=evidence.request_id)
    request_ensure_editable(request, actor)
    name = evidence.file.name
    with transaction.atomic():
        evidence.delete()
        files_delete_on_commit([name])


def _staged_discard(request: PersonalRequest) -> None:
    staged = Evidence.objects.filter(request=request, item__isnull=True)
    names = [e.file.name for e in staged]
    staged.delete()
    files_delete_on_commit(names)


def personal_route(request: BackfillRequest) -> list[routing.StepSpec]:
    """第六条: counselor (初步审核并签字) -> branch (审核并盖章) -> center (审核并认定积分).

    Every step is required: a missing owner refuses the submission (routing.MissingStepOwner).
    """
    klass = request.applicant_org
    return [
        routing.step_counselor(klass=klass, label=_("辅导员初步审核")),
        routing.step_branch(college=klass.parent, unit=klass, label=_("学院团总支审核盖章")),
        routing.step_center(label=_("二课中心审核认定")),
    ]


def personal_request_submit(
    *, request: PersonalRequest, actor: User, expected_version: int | None = None
) -> PersonalRequest:
    if actor.pk != request.applicant_id:
        raise AccessDenied(_("只有申请人本人可以提交该申请。"))
    items = list(request.items.prefetch_related("evidence"))
    if not items:
        raise ApplicationError(_("请至少添加一项补录事项后再提交。"))
    twice = duplicates.duplicates_within(personal_item_lines_of(request.pk))
    if twice:
        raise ApplicationError(
            _("有重复的事项，请删除后再提交：%(items)s")
            % {"items": "；".join(f"第 {d.line.position} 项{d.message}" for d in twice)}
        )
    missing = [i.content for i in items if not i.evidence.all()]
    if missing:
        raise ApplicationError(
            _("以下事项还没有上传证明材料：%(items)s") % {"items": "、".join(missing)}
        )
    if settings.BULU_REQUIRE_ONLINE_SUBMISSION:
        offline = [i.content for i in items if not i.online_applied]
        if offline:
            raise ApplicationError(
                _(
                    "《办法》第六条要求每一项先在到梦空间在线提交。以下事项还没有勾选"
                    "“已在到梦空间在线提交”：%(items)s"
                )
                % {"items": "、".join(offline)}
            )
    # Not inside an outer transaction: a refusal for a missing step owner must still record
    # (and send) its alert to the center.
    request_submit(request=request, actor=actor, expected_version=expected_version)
    with transaction.atomic():
        _staged_discard(request)
    return request


@dataclass
class Recognition:
    value: Decimal | None
    reason: str
    delivery: str


def personal_recognize(
    request: BackfillRequest, actor: User, decision: str, payload: object
) -> None:
    """The center's recognized values, applied with its approval (the workflow checked who)."""
    if decision != Decision.APPROVE or not payload:
        return
    assert isinstance(payload, dict)
    items = {i.pk: i for i in PersonalItem.objects.filter(request_id=request.pk)}
    for pk, rec in payload.items():
        item = items.get(pk)
        if item is None:
            raise ApplicationError(_("事项 %(pk)s 不属于此申请。") % {"pk": pk})
        assert isinstance(rec, Recognition)
        if rec.value is not None and not _valid_points(rec.value):
            raise ApplicationError(
                _("事项“%(item)s”的认定学分值须是 0 到 99999.99 之间、最多两位小数的数字。")
                % {"item": item.content}
            )
        differs = rec.value is not None and rec.value != item.claimed_value
        if differs and not rec.reason.strip():
            raise ApplicationError(
                _("事项“%(item)s”的认定学分值与申请值不同，请填写认定说明。")
                % {"item": item.content}
            )
        limits.text_ensure_fits(
            rec.reason.strip(),
            limit=limits.NOTE,
            label=_("事项“%(item)s”的认定说明") % {"item": item.content},
        )
        if rec.delivery not in CreditRecord.Delivery.values:
            raise ApplicationError(_("未知的发放方式。"))
        item.recognized_value = rec.value
        item.recognition_reason = rec.reason.strip()
        item.delivery = rec.delivery
        item.save(update_fields=["recognized_value", "recognition_reason", "delivery"])


def _valid_points(value: Decimal) -> bool:
    return (
        value.is_finite()
        and Decimal(0) <= value <= Decimal("99999.99")
        and value == value.quantize(Decimal("0.01"))
    )


def personal_on_approved(request: BackfillRequest) -> None:
    """Final approval: one credit record per recognized item, created exactly once."""
    personal = PersonalRequest.objects.select_related("applicant").get(pk=request.pk)
    student = personal.applicant
    records = []
    for item in personal.items.select_related("category", "subcategory", "level", "credit_type"):
        value = item.final_value
        if value is not None and Decimal(str(value)) == 0 and item.recognized_value is not None:
            continue  # the center recognized nothing for this item
        records.append(
            CreditRecord(
                request=personal,
                source_key=f"personal-item:{item.pk}",
                student=student,
                student_no=student.username,
                student_name=student.name,
                start_date=item.start_date,
                end_date=item.end_date,
                content=item.content,
                category=item.category.name,
                subcategory=item.subcategory.name,
                level=item.level.name,
                award=item.awards,
                credit_type=item.credit_type.name,
                value=value,
                delivery=item.delivery,
            )
        )
    credit_records_create(request=personal, records=records)


def personal_approved_note(request: BackfillRequest) -> str:
    """The items the center recognized at another value than claimed, with its reasons."""
    changed = [
        i
        for i in PersonalItem.objects.filter(
            request_id=request.pk, recognized_value__isnull=False
        ).select_related("credit_type")
        if i.recognized_value != i.claimed_value
    ]
    if not changed:
        return ""
    parts = [
        _("“%(item)s”申请 %(claimed)s %(unit)s，认定 %(recognized)s %(unit)s，原因：%(reason)s")
        % {
            "item": i.content,
            "claimed": i.claimed_value,
            "recognized": i.recognized_value,
            "unit": i.credit_type.name,
            "reason": i.recognition_reason,
        }
        for i in changed
    ]
    return _("二课中心认定的学分值与申请不同：%(items)s。") % {"items": "；".join(parts)}


def personal_summary(request: BackfillRequest) -> str:
    """E.g. "2 项：校园歌手大赛 2.00 文体活动学分；无偿献血 4.00 志愿者工时"."""
    items = PersonalItem.objects.filter(request_id=request.pk).select_related("credit_type")
    parts = [f"{i.content} {i.final_value} {i.credit_type.name}" for i in items]
    return _("%(n)d 项：%(items)s") % {"n": len(parts), "items": "；".join(parts)}
