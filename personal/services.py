"""Writes of personal back-fill. The state changes go through `bulu.workflow.services`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import IO

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.selectors import student_class
from bulu.exceptions import ApplicationError
from bulu.workflow import routing
from bulu.workflow.models import BackfillRequest, Kind, State, StepRole
from bulu.workflow.services import request_decide, request_submit, request_withdraw
from imports.models import CreditRecord
from personal.models import Evidence, PersonalItem, PersonalRequest

EDITABLE_STATES = (State.DRAFT, State.RETURNED)
EVIDENCE_MAX_BYTES = 5 * 1024 * 1024
# Content is checked by its leading bytes, never by the file name alone.
EVIDENCE_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"%PDF-", "application/pdf", "pdf"),
)


def _ensure_editable(request: PersonalRequest, actor: User) -> None:
    if actor.pk != request.applicant_id:
        raise PermissionError(_("只能修改自己的申请。"))
    if request.state not in EDITABLE_STATES:
        raise ApplicationError(
            _("申请当前状态为“%(state)s”，不能修改。") % {"state": State(request.state).label}
        )


def personal_request_create(*, student: User, title: str) -> PersonalRequest:
    klass = student_class(user=student)
    if klass is None:
        raise ApplicationError(_("你的账号未关联班级，无法申请个人积分补录，请联系辅导员。"))
    title = title.strip() or _("个人成长积分补录")
    return PersonalRequest.objects.create(
        kind=Kind.PERSONAL,
        title=title[:200],
        applicant=student,
        applicant_org=klass,
        college=klass.parent,
    )


def personal_request_update(*, request: PersonalRequest, actor: User, title: str) -> None:
    _ensure_editable(request, actor)
    title = title.strip()
    if not title:
        raise ApplicationError(_("请填写申请标题。"))
    request.title = title[:200]
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


def personal_item_save(
    *,
    request: PersonalRequest,
    actor: User,
    data: ItemData,
    item: PersonalItem | None = None,
) -> PersonalItem:
    _ensure_editable(request, actor)
    if item is not None and item.request_id != request.pk:
        raise PermissionError(_("该事项不属于此申请。"))
    with transaction.atomic():
        target = item or PersonalItem(request=request, order=request.items.count())
        for field, value in data.__dict__.items():
            setattr(target, field, value)
        target.full_clean(exclude=["request"])
        target.save()
        request.save(update_fields=["updated_at"])
    return target


def personal_item_delete(*, item: PersonalItem, actor: User) -> None:
    _ensure_editable(item.request, actor)
    names = [e.file.name for e in item.evidence.all()]
    with transaction.atomic():
        item.delete()
        transaction.on_commit(lambda: _delete_files(names))


def personal_item_mark_online(
    *, item: PersonalItem, actor: User, applied: bool, applied_on: date | None
) -> PersonalItem:
    """第六条: the student records that the item was also filed online in 到梦空间."""
    if actor.pk != item.request.applicant_id:
        raise PermissionError(_("只能修改自己的申请。"))
    if item.request.state in (State.WITHDRAWN, State.REJECTED):
        raise ApplicationError(_("该申请已结束，无需再登记线上申请。"))
    item.online_applied = applied
    item.online_applied_on = applied_on if applied else None
    item.save(update_fields=["online_applied", "online_applied_on", "updated_at"])
    return item


def evidence_add(*, item: PersonalItem, actor: User, upload: IO[bytes], name: str) -> Evidence:
    _ensure_editable(item.request, actor)
    data = upload.read(EVIDENCE_MAX_BYTES + 1)
    if len(data) > EVIDENCE_MAX_BYTES:
        raise ApplicationError(
            _("文件“%(name)s”超过 %(mb)d MB，请压缩后再上传。")
            % {"name": name, "mb": EVIDENCE_MAX_BYTES // (1024 * 1024)}
        )
    if not data:
        raise ApplicationError(_("文件“%(name)s”是空的。") % {"name": name})
    kind = next(
        ((ct, ext) for magic, ct, ext in EVIDENCE_SIGNATURES if data.startswith(magic)), None
    )
    if kind is None:
        raise ApplicationError(
            _("文件“%(name)s”不是 JPG、PNG 或 PDF（按文件内容判断），请重新选择。") % {"name": name}
        )
    content_type, ext = kind
    if item.evidence.count() >= 10:
        raise ApplicationError(_("每个事项最多上传 10 个证明材料。"))
    evidence = Evidence(
        item=item,
        original_name=name[:200],
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    evidence.file.save(f"upload.{ext}", ContentFile(data), save=False)
    evidence.save()
    return evidence


def evidence_delete(*, evidence: Evidence, actor: User) -> None:
    _ensure_editable(evidence.item.request, actor)
    name = evidence.file.name
    with transaction.atomic():
        evidence.delete()
        transaction.on_commit(lambda: _delete_files([name]))


def _delete_files(names: list[str | None]) -> None:
    """Files go only once the rows are gone for good (after commit)."""
    for name in names:
        if name:
            default_storage.delete(name)


def personal_route(request: PersonalRequest) -> list[routing.StepSpec]:
    """Counselor (初步审核并签字) -> branch (审核并盖章) -> center (审核并认定积分).

    Counselor and branch are left out when nobody holds them; the center never is: it alone
    recognizes the credit (第六条).
    """
    klass = request.applicant_org
    center = routing.step_center(label=_("二课中心审核认定"))
    if not center:
        raise ApplicationError(_("二课中心尚未设置审核人员，暂时无法提交，请联系二课中心。"))
    return [
        *routing.step_counselor(klass=klass, label=_("辅导员初步审核")),
        *routing.step_branch(college=klass.parent, label=_("学院团总支审核盖章")),
        *center,
    ]


def personal_request_submit(
    *, request: PersonalRequest, actor: User, expected_version: int | None = None
) -> PersonalRequest:
    if actor.pk != request.applicant_id:
        raise PermissionError(_("只有申请人本人可以提交该申请。"))
    items = list(request.items.prefetch_related("evidence"))
    if not items:
        raise ApplicationError(_("请至少添加一项补录事项后再提交。"))
    missing = [i.content for i in items if not i.evidence.all()]
    if missing:
        raise ApplicationError(
            _("以下事项还没有上传证明材料：%(items)s") % {"items": "、".join(missing)}
        )
    request_submit(
        request=request,
        actor=actor,
        route=personal_route(request),
        expected_version=expected_version,
    )
    return request


@dataclass
class Recognition:
    value: Decimal | None
    reason: str
    delivery: str


def personal_request_decide(
    *,
    request: PersonalRequest,
    actor: User,
    decision: str,
    opinion: str = "",
    expected_version: int | None = None,
    recognitions: dict[int, Recognition] | None = None,
) -> PersonalRequest:
    """A decision at the current step; at the center's step it may carry recognized values."""
    with transaction.atomic():
        if recognitions:
            _recognize(request=request, actor=actor, recognitions=recognitions)
        request_decide(
            request=request,
            actor=actor,
            decision=decision,
            opinion=opinion,
            expected_version=expected_version,
        )
    return request


def _recognize(
    *, request: PersonalRequest, actor: User, recognitions: dict[int, Recognition]
) -> None:
    step = request.current_step
    if request.state != State.PENDING or step is None or step.role != StepRole.CENTER:
        raise ApplicationError(_("只有二课中心在认定环节可以调整认定学分值。"))
    if not actor.has_perm("accounts.approve_as_center", step.organization):
        raise PermissionError(_("你不是该申请当前环节的审核人。"))
    if actor.pk == request.applicant_id:
        raise PermissionError(_("不能审核自己提交的申请，请由其他审核人处理。"))
    items = {i.pk: i for i in request.items.all()}
    for pk, rec in recognitions.items():
        item = items.get(pk)
        if item is None:
            raise ApplicationError(_("事项 %(pk)s 不属于此申请。") % {"pk": pk})
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
        if rec.delivery not in CreditRecord.Delivery.values:
            raise ApplicationError(_("未知的发放方式。"))
        item.recognized_value = rec.value
        item.recognition_reason = rec.reason.strip()[:200]
        item.delivery = rec.delivery
        item.save(update_fields=["recognized_value", "recognition_reason", "delivery"])


def _valid_points(value: Decimal) -> bool:
    return (
        value.is_finite()
        and Decimal(0) <= value <= Decimal("99999.99")
        and value == value.quantize(Decimal("0.01"))
    )


def personal_request_withdraw(
    *, request: PersonalRequest, actor: User, expected_version: int | None = None
) -> PersonalRequest:
    request_withdraw(request=request, actor=actor, expected_version=expected_version)
    return request


def personal_on_approved(request: BackfillRequest) -> None:
    """Final approval: one credit record per recognized item, created exactly once."""
    personal = PersonalRequest.objects.get(pk=request.pk)
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
    CreditRecord.objects.bulk_create(records, ignore_conflicts=True)


def personal_summary(request: BackfillRequest) -> str:
    """E.g. "2 项：校园歌手大赛 2.00 文体活动学分；无偿献血 4.00 志愿者工时"."""
    items = PersonalItem.objects.filter(request_id=request.pk).select_related("credit_type")
    parts = [f"{i.content} {i.final_value} {i.credit_type.name}" for i in items]
    return _("%(n)d 项：%(items)s") % {"n": len(parts), "items": "；".join(parts)}
