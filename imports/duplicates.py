"""Possible double claims (第五条: only credits 「未在到梦空间上进行积分申请」): reads only.

A line is anything that is or becomes a credit: a personal item, a collective roster row, a cadre
entry, or a credit record already granted. Two lines are a possible duplicate when they have the
same 学号, the same activity (content compared after `match_text`: NFKC full-width → half-width,
no spaces or punctuation, case folded), the same credit type and overlapping dates.

A request's lines are compared, set-wise, with
- credit records of requests in a credited state (approved, exported, imported), any kind;
- lines of other live requests (pending or returned: submitted and not ended; drafts are nobody's
  claim yet, withdrawn and rejected ones never count);
- each other (twice within one request: the kinds refuse that at save / submit).

Sources other than credits and roster rows belong to the kinds (imports never imports a kind):
each kind registers a `Source` from its AppConfig.ready(). Every look-up is by 学号 in chunks of
`CHUNK` (the index on CreditRecord/RosterEntry(student_no, content, start_date, credit_type) serves
the 学号 prefix), content is compared in Python after normalising: a 5,000-row roster costs a few
queries per source, never one per row.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from django.db.models import Exists, F, OuterRef, QuerySet
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from bulu.workflow.models import ApprovalRecord, BackfillRequest, Decision, State, StepRole
from credits.models import CreditRecord
from imports.matching import match_no, match_text
from imports.models import RosterEntry

if TYPE_CHECKING:
    from accounts.models import User
    from bulu.workflow.models import RouteStep

CHUNK = 1000
CREDITED_STATES = (State.APPROVED, State.EXPORTED, State.IMPORTED)
# Submitted and not ended: a claim someone is deciding on, or will again after changes.
LIVE_STATES = (State.PENDING, State.RETURNED)
# The tick on the center's approval (a POSTed confirmation) and the log context keys it leaves.
CONFIRMATION = "duplicates_checked"
CONTEXT_COUNT = "possible_duplicates"
CONTEXT_CHECKED = "duplicates_checked"

CREDIT = "credit"
PERSONAL_ITEM = "personal-item"
ROSTER_ENTRY = "roster-entry"
CADRE_ENTRY = "cadre-entry"


@dataclass(frozen=True)
class Line:
    """One claimed or granted credit, wherever it lives."""

    source: str
    ref: int
    request_id: int
    student_no: str
    content: str
    start: date
    end: date | None
    credit_type: str
    # 1-based position inside its request (item number, Excel row); 0 when it has none.
    position: int = 0

    @property
    def key(self) -> tuple[str, str, str]:
        return (match_no(self.student_no), match_text(self.content), match_text(self.credit_type))

    @property
    def last(self) -> date:
        return self.end or self.start

    def overlaps(self, other: Line) -> bool:
        return self.start <= other.last and other.start <= self.last

    def where(self, *, same_request: bool = False) -> str:
        """E.g. 申请 #12 第 2 项「校园歌手大赛」 (本申请第 2 项… within one request)."""
        quoted = f"「{self.content}」"
        if self.source == CREDIT:
            return _("已发放的成长记录（申请 #%(r)s）%(c)s") % {"r": self.request_id, "c": quoted}
        place = {
            PERSONAL_ITEM: _("第 %(n)s 项"),
            ROSTER_ENTRY: _("名单第 %(n)s 行"),
            CADRE_ENTRY: _("任职记录"),
        }.get(self.source, "")
        if "%(n)s" in place:
            place = place % {"n": self.position}
        if same_request:
            return _("本申请%(place)s%(c)s") % {"place": place, "c": quoted}
        return _("申请 #%(r)s %(place)s%(c)s") % {"r": self.request_id, "place": place, "c": quoted}


@dataclass(frozen=True)
class Duplicate:
    """`line` (of the request looked at) may duplicate `other`."""

    line: Line
    other: Line
    within: bool = False

    @property
    def granted(self) -> bool:
        return self.other.source == CREDIT

    @property
    def other_request_id(self) -> int:
        return self.other.request_id

    @property
    def message(self) -> str:
        same_dates = self.line.start == self.other.start and self.line.last == self.other.last
        why = (
            _("同一学号、内容、日期、学分类型")
            if same_dates
            else _("同一学号、内容、学分类型，日期重叠")
        )
        where = self.other.where(same_request=self.within)
        return _("与%(where)s相同：%(why)s") % {"where": where, "why": why}


# --- sources -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """Where one kind's lines live: a request's own lines, and the live lines of other requests
    (LIVE_STATES) for some 学号s, leaving out `exclude_request`."""

    name: str
    of_request: Callable[[int], list[Line]]
    live: Callable[[Collection[str], int | None], list[Line]]


_SOURCES: dict[str, Source] = {}


def duplicate_source_register(source: Source) -> None:
    _SOURCES[source.name] = source


def chunks(values: Collection[str]) -> Iterator[list[str]]:
    ordered = sorted(values)
    for i in range(0, len(ordered), CHUNK):
        yield ordered[i : i + CHUNK]


def live_lines(
    student_nos: Collection[str],
    exclude_request: int | None,
    *,
    queryset: QuerySet[Any],
    student_field: str,
    request_field: str,
    to_lines: Callable[[QuerySet[Any]], Iterable[Line]],
) -> list[Line]:
    """The lines of live requests (pending or returned) for these students, read in chunks of
    `CHUNK` 学号 (one query per chunk), leaving out `exclude_request`."""
    found: list[Line] = []
    for chunk in chunks(student_nos):
        qs = queryset.filter(
            **{f"{student_field}__in": chunk, f"{request_field}__state__in": LIVE_STATES}
        )
        if exclude_request is not None:
            qs = qs.exclude(**{f"{request_field}_id": exclude_request})
        found.extend(to_lines(qs))
    return found


def _student_nos(lines: Iterable[Line]) -> set[str]:
    """The 学号s to look up: as typed and normalised (a full-width 学号 finds the half-width)."""
    out: set[str] = set()
    for line in lines:
        out.add(line.student_no)
        out.add(match_no(line.student_no))
    out.discard("")
    return out


def credit_lines(student_nos: Collection[str], exclude_request: int | None) -> list[Line]:
    """Credits already granted (any kind) to these students."""
    found: list[Line] = []
    for chunk in chunks(student_nos):
        qs = CreditRecord.objects.filter(student_no__in=chunk, request__state__in=CREDITED_STATES)
        if exclude_request is not None:
            qs = qs.exclude(request_id=exclude_request)
        for row in qs.values_list(
            "pk", "request_id", "student_no", "content", "start_date", "end_date", "credit_type"
        ):
            found.append(Line(CREDIT, row[0], *row[1:]))
    return found


def roster_values(qs: QuerySet[RosterEntry]) -> list[Line]:
    return [
        Line(ROSTER_ENTRY, pk, request_id, no, content, start, end, credit_type, row)
        for pk, request_id, no, content, start, end, credit_type, row in qs.values_list(
            "pk",
            "upload__request_id",
            "student_no",
            "content",
            "start_date",
            "end_date",
            "credit_type",
            "excel_row",
        )
    ]


def roster_lines_of(request_id: int) -> list[Line]:
    """The rows of a request's current roster (collective); rows left out are no claim."""
    return roster_values(
        RosterEntry.objects.filter(
            upload__request_id=request_id, upload__is_current=True, excluded=False
        )
    )


def roster_lines_live(student_nos: Collection[str], exclude_request: int | None) -> list[Line]:
    return live_lines(
        student_nos,
        exclude_request,
        queryset=RosterEntry.objects.filter(upload__is_current=True, excluded=False),
        student_field="student_no",
        request_field="upload__request",
        to_lines=roster_values,
    )


duplicate_source_register(
    Source(name=ROSTER_ENTRY, of_request=roster_lines_of, live=roster_lines_live)
)


# --- matching ----------------------------------------------------------------------------------


def _index(lines: Iterable[Line]) -> dict[tuple[str, str, str], list[Line]]:
    by_key: dict[tuple[str, str, str], list[Line]] = {}
    for line in lines:
        by_key.setdefault(line.key, []).append(line)
    return by_key


def duplicates_within(lines: Sequence[Line]) -> list[Duplicate]:
    """Lines of one request that repeat an earlier line of it (the later one is reported)."""
    found: list[Duplicate] = []
    for group in _index(lines).values():
        for i, line in enumerate(group):
            first = next((o for o in group[:i] if o.overlaps(line)), None)
            if first is not None:
                found.append(Duplicate(line=line, other=first, within=True))
    return found


def lines_duplicates(
    lines: Sequence[Line], *, exclude_request: int | None, within: bool = True
) -> list[Duplicate]:
    """Every possible duplicate of `lines`: granted credits, other live requests' lines (every
    registered source) and, with `within`, each other."""
    if not lines:
        return []
    numbers = _student_nos(lines)
    others = credit_lines(numbers, exclude_request)
    for source in _SOURCES.values():
        others.extend(source.live(numbers, exclude_request))
    by_key = _index(others)
    found = duplicates_within(lines) if within else []
    for line in lines:
        for other in by_key.get(line.key, ()):
            if other.overlaps(line) and (other.source, other.ref) != (line.source, line.ref):
                found.append(Duplicate(line=line, other=other))
    return found


def request_lines(request_id: int) -> list[Line]:
    lines: list[Line] = []
    for source in _SOURCES.values():
        lines.extend(source.of_request(request_id))
    return lines


def request_duplicates(*, request_id: int) -> list[Duplicate]:
    """All possible duplicates of a request's lines (any kind)."""
    return lines_duplicates(request_lines(request_id), exclude_request=request_id)


def duplicates_for(request: BackfillRequest) -> list[Duplicate]:
    """`request_duplicates` once per request instance (a page asks for them in several places)."""
    cached: list[Duplicate] | None = getattr(request, "_possible_duplicates", None)
    if cached is None:
        cached = request_duplicates(request_id=request.pk)
        request._possible_duplicates = cached  # type: ignore[attr-defined]
    return cached


def duplicates_by_line(duplicates: Iterable[Duplicate]) -> dict[tuple[str, int], list[Duplicate]]:
    """(source, ref) -> its duplicates: for marking items or rows one by one."""
    out: dict[tuple[str, int], list[Duplicate]] = {}
    for d in duplicates:
        out.setdefault((d.line.source, d.line.ref), []).append(d)
    return out


# --- the request page panel and the center's confirmation --------------------------------------


@dataclass(frozen=True)
class PanelRow:
    line: Line
    message: str
    other_request_id: int
    # Link only what the viewer may see; otherwise the request number alone.
    linkable: bool


def duplicates_panel(
    request: BackfillRequest, user: User, posted: Mapping[str, Any] | None
) -> tuple[str, dict[str, Any]] | None:
    """The 「可能重复」 panel of the request page, for whoever may see the request."""
    from bulu.workflow.selectors import requests_visible_to

    found = duplicates_for(request)
    if not found:
        return None
    ids = {d.other_request_id for d in found if not d.within}
    visible = set(requests_visible_to(user=user).filter(pk__in=ids).values_list("pk", flat=True))
    rows = [
        PanelRow(d.line, d.message, d.other_request_id, d.within or d.other_request_id in visible)
        for d in found
    ]
    step = request.current_step
    confirming = (
        request.state == State.PENDING and step is not None and step.role == StepRole.CENTER
    )
    checked = bool(posted and CONFIRMATION in _getlist(posted, "confirm"))
    return (
        "imports/_duplicates_panel.html",
        {"rows": rows, "confirming": confirming, "checked": checked, "field": CONFIRMATION},
    )


def _getlist(posted: Mapping[str, Any], name: str) -> list[str]:
    getlist = getattr(posted, "getlist", None)
    if callable(getlist):
        return list(getlist(name))
    value = posted.get(name)
    return [value] if isinstance(value, str) else list(value or [])


def duplicates_decision_guard(
    request: BackfillRequest,
    actor: User,
    step: RouteStep,
    decision: str,
    opinion: str,
    confirmations: frozenset[str],
) -> dict[str, Any]:
    """An approval of a request with possible duplicates is logged with their number; the
    center's approval needs the tick 「已核实不重复」 and an opinion saying what was checked."""
    if decision != Decision.APPROVE:
        return {}
    count = len(request_duplicates(request_id=request.pk))
    if not count:
        return {}
    if step.role != StepRole.CENTER:
        return {CONTEXT_COUNT: count}
    from bulu.exceptions import ApplicationError

    if CONFIRMATION not in confirmations or not opinion.strip():
        raise ApplicationError(
            _(
                "该申请有 %(n)s 处可能重复申请（见「可能重复」）：核实后请勾选“已核实不重复”，"
                "并在审核意见中写明核实情况，再审核通过。"
            )
            % {"n": count}
        )
    return {CONTEXT_COUNT: count, CONTEXT_CHECKED: True}


# --- exports -----------------------------------------------------------------------------------


def _confirmed() -> Exists:
    """The record's (outer row's) request was approved by the center with the tick."""
    return Exists(
        ApprovalRecord.objects.filter(
            request_id=OuterRef("request_id"),
            step_role=StepRole.CENTER,
            decision=Decision.APPROVE,
            **{f"context__{CONTEXT_CHECKED}": True},
        )
    )


def credit_records_held_back(*, pool: QuerySet[CreditRecord]) -> list[int]:
    """Records of `pool` not to export: each duplicates another granted record (in the pool or
    exported already) and its request's center approval did not confirm the duplicate.

    Records are taken in id order (of two unconfirmed duplicates the first granted goes out, the
    later waits); a confirmed one always goes. SQL narrows to unconfirmed pool records that have
    another credited record of the same 学号 with overlapping dates (the 学号 index); content
    and credit type are compared in Python after normalising.
    """
    own_last = Coalesce(OuterRef("end_date"), OuterRef("start_date"))
    partner = (
        CreditRecord.objects.filter(
            student_no=OuterRef("student_no"),
            request__state__in=CREDITED_STATES,
            start_date__lte=own_last,
        )
        .annotate(last=Coalesce(F("end_date"), F("start_date")))
        .filter(last__gte=OuterRef("start_date"))
        .exclude(pk=OuterRef("pk"))
    )
    suspects = list(
        pool.filter(Exists(partner))
        .exclude(_confirmed())
        .values_list("pk", flat=True)
        .order_by("pk")
    )
    if not suspects:
        return []
    suspect_set = set(suspects)
    numbers = set(CreditRecord.objects.filter(pk__in=suspects).values_list("student_no", flat=True))
    records: list[Line] = []
    confirmed: set[int] = set()
    for chunk in chunks(numbers):
        qs = CreditRecord.objects.filter(
            student_no__in=chunk, request__state__in=CREDITED_STATES
        ).annotate(ok=_confirmed())
        for row in qs.values_list(
            "pk",
            "request_id",
            "student_no",
            "content",
            "start_date",
            "end_date",
            "credit_type",
            "ok",
        ):
            records.append(Line(CREDIT, row[0], *row[1:7]))
            if row[7]:
                confirmed.add(row[0])
    held: list[int] = []
    for group in _index(records).values():
        group.sort(key=lambda r: r.ref)
        # Records out already (exported, in a batch, granted in 到梦空间) count from the start;
        # a confirmed one counts from its turn: it never holds back an earlier record, whose
        # duplicate the center saw when it confirmed.
        kept = [r for r in group if r.ref not in suspect_set and r.ref not in confirmed]
        for r in group:
            if r.ref in confirmed:
                kept.append(r)
                continue
            if r.ref not in suspect_set:
                continue
            if any(k.overlaps(r) for k in kept):
                held.append(r.ref)
            else:
                kept.append(r)
    return sorted(held)
