"""Writes of cadre back-fill. State changes go through `bulu.workflow.services`."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date
from typing import IO

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, Organization, User
from accounts.selectors import organizations_acted_for, student_class, user_scope
from bulu.exceptions import AccessDenied, ApplicationError
from bulu.files import atomic_with_files
from bulu.uploads import evidence_store
from bulu.workflow import routing
from bulu.workflow.models import BackfillRequest, Kind, SchoolYear, State, Window
from bulu.workflow.services import (
    request_ensure_editable,
    request_submit,
    window_ensure_accepting,
    window_for_submission,
    window_verdict,
)
from cadre.lists import ListError, ListProblem, ListRow, RawRow, judge_list, read_list_file
from cadre.models import CadreEntry, CadreEvidence, CadrePosition, CadreRequest, UnitKind
from cadre.terms import clipped_to, term_problem
from cadre.texts import entry_content, unit_display
from credits.models import CreditRecord
from credits.services import credit_records_create
from imports.duplicates import duplicates_within

ENDED_STATES = (State.WITHDRAWN, State.REJECTED)
CREDITED_STATES = (State.APPROVED, State.EXPORTED, State.IMPORTED)
UNIT_KINDS = tuple(UnitKind.values)
# Who may submit a unit's whole list: its applicant members, its advisor, the class's counselor,
# the 学生会's branch secretary.
LIST_CODENAMES = (
    "submit_for_org",
    "approve_as_advisor",
    "approve_as_counselor",
    "approve_as_secretary",
)
DOUBLE_REPORT = "double_report"


def _college_of(unit: Organization) -> Organization | None:
    if unit.kind == Organization.Kind.BRANCH:
        return unit.parent
    return unit.college


# --- units --------------------------------------------------------------------------------------


def self_report_units(*, student: User) -> QuerySet[Organization]:
    """Where a student may report service: any organization or club, the 学生会 of their
    college, and their own class (班委)."""
    klass = student_class(user=student)
    q = Q(kind__in=[Organization.Kind.STUDENT_ORG, Organization.Kind.CLUB])
    if klass is not None:
        q |= Q(pk=klass.pk)
        if klass.parent_id:
            q |= Q(kind=Organization.Kind.BRANCH, parent_id=klass.parent_id)
    return (
        Organization.objects.filter(q, is_active=True)
        .select_related("parent")
        .order_by("kind", "name")
    )


def list_units(*, user: User) -> QuerySet[Organization]:
    """Units whose whole list `user` may submit."""
    return organizations_acted_for(user=user, codenames=LIST_CODENAMES, kinds=UNIT_KINDS)


def positions_for(unit: Organization) -> QuerySet[CadrePosition]:
    return CadrePosition.objects.filter(unit_kind=unit.kind, is_active=True).select_related(
        "standard_item__subcategory__category", "standard_item__credit_type", "standard_item__level"
    )


# --- the school year a report is for -------------------------------------------------------------


def collecting_window(*, request: CadreRequest | None) -> Window:
    """The notice a report goes into (the one it went into before, else the one open now),
    which names the school year it collects; refused when there is none."""
    window = request.window if request is not None and request.window_id else None
    if window is None:
        verdict = window_verdict(kind=Kind.CADRE, at=timezone.now())
        if not verdict.open or verdict.window is None:
            raise ApplicationError(verdict.reason)
        window = verdict.window
    if window.school_year_id is None:
        raise ApplicationError(
            _("《%(title)s》没有注明收集哪个学年的学生干部，请联系二课中心。")
            % {"title": window.title}
        )
    return window


def _collecting_year(request: CadreRequest | None) -> SchoolYear:
    year = collecting_window(request=request).school_year
    assert year is not None
    return year


def _refused_twice(year: SchoolYear) -> ApplicationError:
    """What the database's one-report-a-year constraint means to the user."""
    return ApplicationError(
        _(
            "同一学生、单位和职务在一个学年只能上报一次：%(year)s学年的这一任职已有有效的上报，"
            "不能重复上报。"
        )
        % {"year": year.label}
    )


def _sweep_ended(students: Sequence[int]) -> None:
    """Entries of withdrawn or rejected requests no longer hold their year (the listeners set
    this too; done here as well so a filing never depends on them)."""
    CadreEntry.objects.filter(
        student_id__in=students, live=True, request__state__in=ENDED_STATES
    ).update(live=False)


def cadre_entries_release(request_id: int) -> int:
    """A withdrawn or rejected request's entries stop counting as live reports."""
    return CadreEntry.objects.filter(
        request_id=request_id, live=True, request__state__in=ENDED_STATES
    ).update(live=False)


# --- self-report ---------------------------------------------------------------------------------


@dataclasses.dataclass
class ServiceData:
    unit_id: int
    position_id: int
    term_start: date
    term_end: date


def _check_service(
    student: User, data: ServiceData, *, year: SchoolYear, exclude_request: int | None
) -> tuple[Organization, CadrePosition]:
    unit = self_report_units(student=student).filter(pk=data.unit_id).first()
    if unit is None:
        raise ApplicationError(_("请选择你任职的组织、社团、学院学生会或本班。"))
    position = positions_for(unit).filter(pk=data.position_id).first()
    if position is None:
        raise ApplicationError(
            _("“%(unit)s”没有这个职务，请从列表中选择。") % {"unit": unit_display(unit)}
        )
    why = term_problem(data.term_start, data.term_end, year=year, today=timezone.localdate())
    if why:
        raise ApplicationError(why)
    duplicate = (
        CadreEntry.objects.filter(
            student=student,
            unit=unit,
            mode=CadreRequest.Mode.SELF,
            position=position,
            school_year=year,
        )
        .exclude(request__state__in=ENDED_STATES)
        .exclude(request_id=exclude_request)
        .values_list("request_id", flat=True)
        .first()
    )
    if duplicate is not None:
        raise ApplicationError(
            _("你已经上报过%(year)s学年的这一任职（申请 #%(r)s），不能重复上报。")
            % {"year": year.label, "r": duplicate}
        )
    return unit, position


def cadre_self_report_save(
    *,
    student: User,
    data: ServiceData,
    request: CadreRequest | None = None,
    uploads: Sequence[tuple[str, IO[bytes]]] = (),
) -> CadreRequest:
    """Create or change a student's own report (a draft until submitted); files are optional."""
    if student_class(user=student) is None:
        raise ApplicationError(_("你的账号未关联班级，无法上报，请联系辅导员。"))
    if request is not None:
        request_ensure_editable(request, student)
    else:
        window_ensure_accepting(kind=Kind.CADRE)
    year = _collecting_year(request)
    unit, position = _check_service(
        student, data, year=year, exclude_request=request.pk if request else None
    )
    try:
        return _self_report_write(student, data, request, unit, position, year, uploads)
    except IntegrityError as exc:  # a report filed meanwhile: the constraint's word is final
        raise _refused_twice(year) from exc


def _self_report_write(
    student: User,
    data: ServiceData,
    request: CadreRequest | None,
    unit: Organization,
    position: CadrePosition,
    year: SchoolYear,
    uploads: Sequence[tuple[str, IO[bytes]]],
) -> CadreRequest:
    with atomic_with_files():  # a refusal after the files were stored removes them
        _sweep_ended([student.pk])
        if request is None:
            request = CadreRequest.objects.create(
                kind=Kind.CADRE,
                mode=CadreRequest.Mode.SELF,
                title="",
                applicant=student,
                applicant_org=unit,
                college=_college_of(unit),
            )
        request.applicant_org = unit
        request.college = _college_of(unit)
        request.title = _("%(unit)s%(position)s任职（%(years)s）") % {
            "unit": unit_display(unit),
            "position": position.name,
            "years": f"{year.label}学年",
        }
        request.save()
        request.entries.all().delete()
        CadreEntry.objects.create(
            request=request,
            student=student,
            student_no=student.username,
            name=student.name,
            position=position,
            term_start=data.term_start,
            term_end=data.term_end,
            school_year=year,
            unit=unit,
            mode=CadreRequest.Mode.SELF,
        )
        evidence_store(CadreEvidence, uploads, request=request)
    return request


# --- unit lists ----------------------------------------------------------------------------------


def cadre_list_create(*, actor: User, unit: Organization) -> CadreRequest:
    if not list_units(user=actor).filter(pk=unit.pk).exists():
        raise AccessDenied(_("你不能提交“%(unit)s”的学生干部名单。") % {"unit": unit_display(unit)})
    window_ensure_accepting(kind=Kind.CADRE)
    return CadreRequest.objects.create(
        kind=Kind.CADRE,
        mode=CadreRequest.Mode.UNIT_LIST,
        title=_("%(unit)s学生干部名单") % {"unit": unit_display(unit)},
        applicant=actor,
        applicant_org=unit,
        college=_college_of(unit),
    )


def cadre_list_replace(*, request: CadreRequest, actor: User, rows: Sequence[RawRow]) -> int:
    """Replace the list's entries with `rows` — all of them, or none when any row has a problem
    (ListError lists every problem by row and column)."""
    request_ensure_editable(request, actor)
    if request.mode != CadreRequest.Mode.UNIT_LIST:
        raise ApplicationError(_("个人上报不能导入名单。"))
    year = _collecting_year(request)
    result = judge_list(request.applicant_org, rows, year=year, exclude_request=request.pk)
    if result.problems:
        raise ListError(result.problems)
    try:
        return _list_write(request, result.rows, year)
    except IntegrityError as exc:  # another list of the unit took a row meanwhile
        raise _refused_twice(year) from exc


def _list_write(request: CadreRequest, rows: Sequence[ListRow], year: SchoolYear) -> int:
    with transaction.atomic():
        _sweep_ended([r.student.pk for r in rows])
        request.entries.all().delete()
        CadreEntry.objects.bulk_create(
            [
                CadreEntry(
                    request=request,
                    student=r.student,
                    student_no=r.student.username,
                    name=r.student.name,
                    position=r.position,
                    term_start=r.start,
                    term_end=r.end,
                    row=r.row,
                    school_year=year,
                    unit=request.applicant_org,
                    mode=CadreRequest.Mode.UNIT_LIST,
                )
                for r in rows
            ]
        )
        request.save(update_fields=["updated_at"])
    return len(rows)


def cadre_list_upload(*, request: CadreRequest, actor: User, fileobj: IO[bytes]) -> int:
    request_ensure_editable(request, actor)
    return cadre_list_replace(request=request, actor=actor, rows=read_list_file(fileobj))


# --- submission and the chain ----------------------------------------------------------


def cadre_route(request: BackfillRequest) -> list[routing.StepSpec]:
    """Advisor (organizations, clubs), counselor (class committees) or the branch secretary (a
    college's 学生会) confirms → the college's 团总支 → 二课中心. A school-level organization has
    no college branch step by design. A list filed by the one who confirms (or listing them)
    goes to another holder of that role; the workflow refuses it when there is none."""
    unit = request.applicant_org
    if unit.kind == Organization.Kind.CLASS:
        first = routing.step_counselor(klass=unit, label=_("辅导员确认任职"))
    elif unit.kind == Organization.Kind.BRANCH:
        first = routing.step_branch(college=unit.parent, unit=unit, label=_("团总支确认任职"))
    else:
        first = routing.step_advisor(organization=unit, label=_("指导老师确认任职"))
    steps = [first]
    college = _college_of(unit)
    if unit.kind != Organization.Kind.BRANCH and college is not None:
        steps.append(routing.step_branch(college=college, unit=unit, label=_("学院团总支审核")))
    steps.append(routing.step_center(label=_("二课中心审核认定")))
    return steps


def cadre_request_submit(
    *, request: CadreRequest, actor: User, expected_version: int | None = None
) -> CadreRequest:
    if actor.pk != request.applicant_id:
        raise AccessDenied(_("只有申请人本人可以提交该申请。"))
    entries = list(request.entries.select_related("position", "school_year"))
    if not entries:
        raise ApplicationError(_("请先填写或导入任职名单。"))
    # The notice it goes into (a first submission refuses here when none is open).
    window = request.window or window_for_submission(kind=request.kind, at=timezone.now())
    if window is None:  # only collective requests go without a notice
        raise ApplicationError(_("学生干部积分补录当前没有开放的补录通知。"))
    year = window.school_year
    if year is None:
        raise ApplicationError(
            _("《%(title)s》没有注明收集哪个学年的学生干部，请联系二课中心。")
            % {"title": window.title}
        )
    today = timezone.localdate()
    for e in entries:
        if e.school_year_id != year.pk:
            raise ApplicationError(
                _("%(name)s：这条任职按%(was)s填写，而《%(title)s》收集%(year)s学年，请重新保存。")
                % {
                    "name": e.name,
                    "was": f"{e.school_year.label}学年" if e.school_year else _("旧规则"),
                    "title": window.title,
                    "year": year.label,
                }
            )
        why = term_problem(e.term_start, e.term_end, year=year, today=today)
        if why:
            raise ApplicationError(f"{e.name}：{why}")
    from cadre.selectors import cadre_entry_lines_of  # selectors import this module

    twice = duplicates_within(cadre_entry_lines_of(request.pk))
    if twice:
        raise ApplicationError(
            _("名单中有重复的任职记录，请删除后再提交：%(rows)s")
            % {"rows": "；".join(f"{d.line.content}（{d.line.student_no}）" for d in twice)}
        )
    request_submit(request=request, actor=actor, expected_version=expected_version)
    cadre_flag_double_reports(request=request)
    return request


def _double_report(other: CadreEntry) -> dict[str, object]:
    return {
        "code": DOUBLE_REPORT,
        "message": _("同一任职也在申请 #%(r)s 中上报（%(mode)s）。")
        % {"r": other.request_id, "mode": CadreRequest.Mode(other.request.mode).label},
        "request": other.request_id,
    }


def same_service(entry: CadreEntry) -> Q:
    """Entries that report the same service as `entry`: same student, unit and position, and the
    same school year (overlapping terms for entries filed before notices named one)."""
    q = Q(student_id=entry.student_id, position_id=entry.position_id, unit_id=entry.unit_id)
    if entry.school_year_id is not None:
        return q & Q(school_year_id=entry.school_year_id)
    return q & Q(
        school_year__isnull=True, term_start__lt=entry.term_end, term_end__gt=entry.term_start
    )


def cadre_flag_double_reports(*, request: CadreRequest) -> int:
    """Flag entries that report a service also reported elsewhere (`same_service`), on both
    sides; returns how many of this request's are flagged."""
    entries = list(request.entries.select_related("request"))
    flagged = 0
    touched: dict[int, CadreEntry] = {}
    for e in entries:
        others = (
            CadreEntry.objects.filter(same_service(e))
            .exclude(request_id=request.pk)
            .exclude(request__state__in=(*ENDED_STATES, State.DRAFT))
            .select_related("request")
        )
        flags = [_double_report(o) for o in others]
        for o in others:
            mirror = _double_report(e)
            if mirror not in o.flags:
                o.flags = [*o.flags, mirror]
                o.has_flags = True
                touched[o.pk] = o
        e.flags = flags
        e.has_flags = bool(flags)
        flagged += e.has_flags
    CadreEntry.objects.bulk_update([*entries, *touched.values()], ["flags", "has_flags"])
    return flagged


def cadre_on_approved(request: BackfillRequest) -> None:
    """Each confirmed entry becomes a credit record, exactly once; a service already credited
    through another report (a double report) is not credited again. The record's dates are the
    term within the school year it was reported for."""
    cadre = CadreRequest.objects.select_related("applicant_org").get(pk=request.pk)
    records = []
    credited: list[int] = []
    for e in cadre.entries.select_related(
        "school_year",
        "position__standard_item__subcategory__category",
        "position__standard_item__credit_type",
        "position__standard_item__level",
    ):
        credited_elsewhere = (
            CadreEntry.objects.filter(same_service(e), credited=True)
            .exclude(request_id=cadre.pk)
            .exists()
        )
        if credited_elsewhere:
            continue
        credited.append(e.pk)
        start, end = (
            clipped_to(e.term_start, e.term_end, e.school_year)
            if e.school_year is not None
            else (e.term_start, e.term_end)
        )
        standard = e.position.standard_item
        records.append(
            CreditRecord(
                request_id=cadre.pk,
                source_key=f"cadre-entry:{e.pk}",
                student_id=e.student_id,
                student_no=e.student_no,
                student_name=e.name,
                start_date=start,
                end_date=end,
                content=entry_content(e, cadre.applicant_org),
                category=standard.subcategory.category.name,
                subcategory=standard.subcategory.name,
                level=standard.level.name if standard.level else "",
                award="",
                credit_type=standard.credit_type.name,
                value=standard.points,
                delivery=CreditRecord.Delivery.BATCH,
            )
        )
    try:
        with transaction.atomic():  # a savepoint: the approval goes on only if this holds
            CadreEntry.objects.filter(pk__in=credited).update(credited=True)
    except IntegrityError as exc:  # a twin credited by a concurrent approval
        raise ApplicationError(
            _("这条任职在同一学年已经认定过积分（另一份上报刚刚通过），请刷新页面后再审核。")
        ) from exc
    credit_records_create(request=cadre, records=records)


def cadre_summary(request: BackfillRequest) -> str:
    entries = CadreEntry.objects.filter(request_id=request.pk).select_related("position")
    names = [f"{e.name}（{e.position.name}）" for e in entries[:5]]
    more = entries.count() - len(names)
    text = "、".join(names)
    return text + (_(" 等 %(n)s 人") % {"n": more + len(names)} if more > 0 else "")


def problems_text(problems: Sequence[ListProblem]) -> list[str]:
    return [str(p) for p in problems]


def members_of(unit: Organization) -> QuerySet[User]:
    """The students of a class (for the counselor's table)."""
    return User.objects.filter(
        memberships__organization=unit, memberships__role=Membership.Role.STUDENT
    ).order_by("username")


# --- reminders ---------------------------------------------------------------------------

REMIND_AGAIN_AFTER_HOURS = 24


def unit_contacts(unit: Organization) -> list[User]:
    """Who hands in a unit's list: its applicant members and the one who confirms it."""
    confirmer = {
        str(Organization.Kind.CLASS): Membership.Role.COUNSELOR,
        str(Organization.Kind.BRANCH): Membership.Role.SECRETARY,
    }.get(unit.kind, Membership.Role.ADVISOR)
    roles = [Membership.Role.APPLICANT, confirmer]
    return list(
        User.objects.filter(
            is_active=True, memberships__organization=unit, memberships__role__in=roles
        ).distinct()
    )


def cadre_remind_units(*, actor: User, window_id: int, unit_ids: Sequence[int]) -> int:
    """Remind the units that have not handed in their list yet; each at most once a day.
    Returns how many units were reminded."""
    from bulu.workflow.models import Window
    from bulu.workflow.selectors import moment_text
    from bulu.workflow.services import notify
    from cadre.models import UnitReminder
    from cadre.selectors import units_expected

    if not user_scope(user=actor).org_ids("approve_as_center"):
        raise AccessDenied(_("只有二课中心工作人员可以发送提醒。"))
    window = Window.objects.filter(pk=window_id, kind=Kind.CADRE).first()
    if window is None or not window.is_open():
        raise ApplicationError(_("只能在学生干部补录通知开放期间提醒。"))
    missing = {u.pk: u for u, handed_in in units_expected(window=window) if not handed_in}
    now = timezone.now()
    reminded = 0
    for unit_id in unit_ids:
        unit = missing.get(unit_id)
        if unit is None:
            continue
        with transaction.atomic():
            reminder, created = UnitReminder.objects.select_for_update().get_or_create(
                window=window, unit=unit, defaults={"sent_at": now}
            )
            if not created:
                if (now - reminder.sent_at).total_seconds() < REMIND_AGAIN_AFTER_HOURS * 3600:
                    continue
                reminder.sent_at = now
                reminder.save(update_fields=["sent_at"])
            notify(
                recipients=unit_contacts(unit),
                text=_(
                    "请在 %(end)s 前提交“%(unit)s”的学生干部名单（《%(title)s》）；逾期不再补录。"
                )
                % {
                    "end": moment_text(window.closes_at),
                    "unit": unit_display(unit),
                    "title": window.title,
                },
            )
        reminded += 1
    return reminded
