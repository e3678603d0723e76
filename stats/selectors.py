"""Reads of the statistics page, narrowed to the asking user's scope.

Scope comes from the user's roles (`accounts.selectors.user_scope`): school-wide roles (center,
committee, superusers) see the school and may narrow it to one college; a branch secretary sees
their college(s); an advisor sees their organizations and clubs. Anyone else is refused (403); a
college or unit asked for outside the scope is not found (404).

Every number comes from maintained counts (`bulu.workflow.tallies.RequestTally`, the stats
tallies) except the advisor's request counts, read live from the few requests of their units
(the applicant-organization index), and the oldest waiting requests (index-backed LIMIT 10).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organization, OrganizationUserObjectPermission, User
from accounts.selectors import user_scope
from bulu.exceptions import AccessDenied
from bulu.workflow.models import (
    STEP_PERMISSION,
    BackfillRequest,
    Kind,
    RequestTally,
    State,
    StepRole,
    Window,
)
from stats import charts
from stats.models import Scope
from stats.tallies import BOUNDS, credit_sums, percentile_bucket, wait_histograms

# Submitted requests only: a draft never submitted is its author's alone.
SHOWN_STATES = (
    State.PENDING,
    State.RETURNED,
    State.REJECTED,
    State.WITHDRAWN,
    State.APPROVED,
    State.EXPORTED,
    State.IMPORTED,
)
PASSED = (State.APPROVED, State.EXPORTED, State.IMPORTED)
MATRIX_WINDOWS = 6  # the per-college table shows the latest notices
OLDEST = 10


@dataclass(frozen=True)
class StatsScope:
    level: str  # stats.models.Scope
    ids: tuple[int, ...]
    label: str
    param: str  # the query parameter that narrows it: "college" or "unit"
    choices: tuple[tuple[int, str], ...]  # what the user may narrow to
    chosen: int | None = None

    @property
    def query(self) -> str:
        return f"?{self.param}={self.chosen}" if self.chosen else ""


def _chosen(params: Mapping[str, str], name: str, allowed: dict[int, str]) -> int | None:
    raw = params.get(name, "")
    if not raw:
        return None
    if not raw.isdigit() or int(raw) not in allowed:
        raise Http404
    return int(raw)


def stats_scope_for_user(*, user: User, params: Mapping[str, str]) -> StatsScope:
    """The scope the page shows; 403 without a statistics role, 404 for an out-of-scope choice."""
    scope = user_scope(user=user)
    if scope.school_wide:
        level, param = Scope.SCHOOL, "college"
        orgs = Organization.objects.filter(kind=Organization.Kind.COLLEGE)
    elif scope.org_ids("approve_as_secretary"):
        level, param = Scope.COLLEGE, "college"
        branches = Organization.objects.filter(pk__in=sorted(scope.org_ids("approve_as_secretary")))
        orgs = Organization.objects.filter(
            kind=Organization.Kind.COLLEGE, pk__in=branches.values("parent_id")
        )
    elif scope.org_ids("approve_as_advisor"):
        level, param = Scope.UNIT, "unit"
        orgs = Organization.objects.filter(pk__in=sorted(scope.org_ids("approve_as_advisor")))
    else:
        raise AccessDenied(_("只有二课中心、团总支书记和指导老师可以查看统计。"))
    allowed = dict(orgs.order_by("name").values_list("pk", "name"))
    other = "unit" if param == "college" else "college"
    if params.get(other, ""):
        raise Http404
    chosen = _chosen(params, param, allowed)
    choices = tuple(allowed.items())
    if chosen is not None:
        narrowed = Scope.COLLEGE if param == "college" else Scope.UNIT
        return StatsScope(narrowed, (chosen,), allowed[chosen], param, choices, chosen)
    if level == Scope.SCHOOL:
        return StatsScope(level, (0,), _("全校"), param, choices)
    return StatsScope(level, tuple(allowed), "、".join(allowed.values()), param, choices)


# --- the page's tables ---------------------------------------------------------------------------


@dataclass
class Table:
    """One table of the page (and its xlsx download); `chart` is drawn beside it."""

    key: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    note: str = ""
    chart: Any = None  # a stats.charts chart, or None when a table reads better
    heat: list[list[int]] = field(default_factory=list)  # per-cell shade 0–4 (the matrix)

    @property
    def display_rows(self) -> list[list[tuple[Any, str]]]:
        """Rows as (value, CSS class): the first cell is a label, the rest numbers."""
        out = []
        for i, row in enumerate(self.rows):
            cells: list[tuple[Any, str]] = [(row[0], "")]
            for j, value in enumerate(row[1:]):
                shade = self.heat[i][j] if self.heat else 0
                cells.append((value, f"num heat-{shade}" if shade else "num"))
            out.append(cells)
        return out


def _request_counts(scope: StatsScope) -> list[tuple[str, str, int, int, int]]:
    """(kind, state, college id or 0, notice id or 0, count) of the scope's submitted requests."""
    if scope.level in (Scope.SCHOOL, Scope.COLLEGE):
        qs = RequestTally.objects.filter(n__gt=0)
        if scope.level == Scope.COLLEGE:
            qs = qs.filter(college_key__in=scope.ids)
        return list(qs.values_list("kind", "state", "college_key", "window_key", "n"))
    # An advisor's units hold a few hundred requests at most: counted live through the
    # applicant-organization index (the maintained counts have no unit key).
    rows = (
        BackfillRequest.objects.filter(applicant_org_id__in=scope.ids, submitted_at__isnull=False)
        .values_list("kind", "state", "college_id", "window_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return [(k, s, c or 0, w or 0, n) for k, s, c, w, n in rows]


def _state_label(state: str) -> str:
    return str(State(state).label) if state in State.values else state


def _kind_label(kind: str) -> str:
    return str(Kind(kind).label) if kind in Kind.values else kind


def wait_text(bucket: int | None) -> str:
    """A percentile read from its bucket: "≤ 3 天", "≤ 4 小时", "> 90 天"."""
    if bucket is None:
        return "—"
    bound = BOUNDS[bucket]
    if bound == float("inf"):
        return _("> %(n)d 天") % {"n": round(BOUNDS[-2] / 86400)}
    hours = bound / 3600
    if hours < 24:
        return _("≤ %(n)d 小时") % {"n": round(hours)}
    return _("≤ %(n)d 天") % {"n": round(hours / 24)}


def wait_days(bucket: int | None) -> float:
    if bucket is None:
        return 0.0
    bound = BOUNDS[bucket] if bucket < len(BOUNDS) - 1 else BOUNDS[-2]
    return bound / 86400


@dataclass
class StatsPage:
    scope: StatsScope
    tables: list[Table]
    totals: dict[str, int]
    oldest: list[dict[str, Any]]

    def table(self, key: str) -> Table:
        for t in self.tables:
            if t.key == key:
                return t
        raise Http404


def _sum_by(counts: list[tuple[str, str, int, int, int]], index: int) -> dict[Any, dict[str, int]]:
    """Counts per state, grouped by the tuple position `index` (0 kind, 2 college, 3 notice)."""
    out: dict[Any, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in counts:
        out[row[index]][row[1]] += row[4]
    return out


def _state_group_row(by_state: Mapping[str, int]) -> list[int]:
    return [
        sum(by_state.values()),
        by_state.get(State.PENDING, 0),
        by_state.get(State.RETURNED, 0),
        sum(by_state.get(s, 0) for s in PASSED),
        by_state.get(State.REJECTED, 0),
        by_state.get(State.WITHDRAWN, 0),
    ]


def _submitted_table(
    key: str, title: str, first: str, rows: list[list[Any]], chart_prefix: str
) -> Table:
    """Submitted requests per group (a college, a notice): the state columns and a bar each."""
    return Table(
        key=key,
        title=title,
        columns=_group_columns(first),
        rows=rows,
        note=_("*已通过含已导出、已导入到梦空间的申请。"),
        chart=charts.BarChart(
            title=_("%(group)s已提交的申请数") % {"group": chart_prefix},
            labels=[r[0] for r in rows],
            values=[r[1] for r in rows],
        ),
    )


def _group_columns(first: str) -> list[str]:
    return [
        first,
        _("已提交"),
        _("审核中"),
        _("退回修改"),
        _("已通过*"),
        _("不予通过"),
        _("已撤回"),
    ]


def oldest_waiting(*, scope: StatsScope) -> list[dict[str, Any]]:
    """The scope's longest-waiting pending requests and who holds each (index-backed)."""
    qs: QuerySet[BackfillRequest] = BackfillRequest.objects.filter(state=State.PENDING)
    if scope.level == Scope.COLLEGE:
        qs = qs.filter(college_id__in=scope.ids)
    elif scope.level == Scope.UNIT:
        qs = qs.filter(applicant_org_id__in=scope.ids)
    rows = list(
        qs.order_by("updated_at", "pk").select_related("applicant", "college", "waiting_org")[
            :OLDEST
        ]
    )
    pairs = {(r.waiting_org_id, STEP_PERMISSION.get(r.waiting_role, "")) for r in rows}
    holders: dict[tuple[int, str], list[str]] = defaultdict(list)
    if rows:
        for org_id, codename, name, username in (
            OrganizationUserObjectPermission.objects.filter(
                content_object_id__in=sorted({p[0] for p in pairs if p[0]}),
                permission__codename__in=sorted({p[1] for p in pairs if p[1]}),
                user__is_active=True,
            )
            .order_by("user__username")
            .values_list(
                "content_object_id", "permission__codename", "user__name", "user__username"
            )
        ):
            holders[(org_id, codename)].append(name or username)
    now = timezone.now()
    out = []
    for r in rows:
        since: datetime = r.updated_at
        role = r.waiting_role
        out.append(
            {
                "request": r,
                "role": str(StepRole(role).label) if role in StepRole.values else role,
                "org": r.waiting_org.name if r.waiting_org else "",
                "holders": "、".join(
                    holders.get((r.waiting_org_id or 0, STEP_PERMISSION.get(role, "")), [])
                )
                or _("（无人）"),
                "since": since,
                "days": (now - since).days,
            }
        )
    return out


def stats_page(*, scope: StatsScope) -> StatsPage:
    counts = _request_counts(scope)
    tables: list[Table] = []

    # Requests by kind and state.
    by_kind = _sum_by(counts, 0)
    states_total: dict[str, int] = defaultdict(int)
    for per in by_kind.values():
        for state, n in per.items():
            states_total[state] += n
    kinds = [k for k in Kind.values if k in by_kind]
    tables.append(
        Table(
            key="kind_state",
            title=_("按类型和状态的申请数"),
            columns=[_("补录类型"), *(_state_label(s) for s in SHOWN_STATES), _("合计")],
            rows=[
                [
                    _kind_label(k),
                    *(by_kind[k].get(s, 0) for s in SHOWN_STATES),
                    sum(by_kind[k].values()),
                ]
                for k in kinds
            ]
            + [
                [
                    _("合计"),
                    *(states_total.get(s, 0) for s in SHOWN_STATES),
                    sum(states_total.values()),
                ]
            ],
            chart=charts.BarChart(
                title=_("各状态的申请数"),
                labels=[_state_label(s) for s in SHOWN_STATES],
                values=[states_total.get(s, 0) for s in SHOWN_STATES],
            ),
        )
    )

    # By college.
    by_college = _sum_by(counts, 2)
    college_names = dict(
        Organization.objects.filter(pk__in=sorted(k for k in by_college if k)).values_list(
            "pk", "name"
        )
    )
    college_keys = sorted(by_college, key=lambda k: (k == 0, college_names.get(k, ""), k))

    def college_label(k: int) -> str:
        return college_names.get(k, "") if k else _("（无学院）")

    college_rows: list[list[Any]] = [
        [college_label(k), *_state_group_row(by_college[k])] for k in college_keys
    ]
    tables.append(
        _submitted_table("college", _("按学院的申请数"), _("二级学院"), college_rows, _("各学院"))
    )

    # By notice (补录通知).
    by_window = _sum_by(counts, 3)
    windows = {
        w.pk: w
        for w in Window.objects.filter(pk__in=sorted(k for k in by_window if k)).only(
            "pk", "title", "kind", "opens_at"
        )
    }
    window_keys = sorted(
        by_window,
        key=lambda k: (k == 0, -(windows[k].opens_at.timestamp() if k in windows else 0), k),
    )

    def window_label(k: int) -> str:
        return windows[k].title if k in windows else _("（无补录通知）")

    window_rows: list[list[Any]] = [
        [window_label(k), *_state_group_row(by_window[k])] for k in window_keys
    ]
    tables.append(
        _submitted_table(
            "window", _("按补录通知的申请数"), _("补录通知"), window_rows, _("各补录通知")
        )
    )

    # Per-college submissions for each of the latest notices.
    shown = window_keys[:MATRIX_WINDOWS]
    cells: dict[tuple[int, int], int] = defaultdict(int)
    for _k, _s, college, window, n in counts:
        cells[(college, window)] += n
    matrix: list[list[Any]] = [
        [college_label(c), *(cells.get((c, w), 0) for w in shown)] for c in college_keys
    ]
    peak = max((v for row in matrix for v in row[1:]), default=0)
    tables.append(
        Table(
            key="college_window",
            title=_("各学院在各补录通知中的提交数"),
            columns=[_("二级学院"), *(window_label(w) for w in shown)],
            rows=matrix,
            note=_("列出最近 %(n)d 个补录通知。") % {"n": MATRIX_WINDOWS}
            if len(window_keys) > MATRIX_WINDOWS
            else "",
            heat=[
                [0 if not v else 1 + min(3, (4 * v - 1) // peak) if peak else 0 for v in row[1:]]
                for row in matrix
            ],
        )
    )

    # Credits issued.
    level, ids = scope.level, scope.ids
    credits = credit_sums(scope=level, ids=ids)
    by_type: dict[str, list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    by_category: dict[str, list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    for category, credit_type, n, value in credits:
        by_type[credit_type][0] += n
        by_type[credit_type][1] += value
        by_category[category][0] += n
        by_category[category][1] += value
    type_rows: list[list[Any]] = [[t, n, v] for t, (n, v) in sorted(by_type.items())]
    tables.append(
        Table(
            key="credit_type",
            title=_("按学分类型发放的学分"),
            columns=[_("学分类型"), _("成长记录数"), _("学分值合计")],
            rows=type_rows,
            note=_("已通过、已导出和已导入到梦空间的申请所产生的成长记录。"),
            # Records, not values: 学分, 工时 and 积分 are different units and share no axis.
            chart=charts.BarChart(
                title=_("各学分类型的成长记录数"),
                labels=[r[0] for r in type_rows],
                values=[r[1] for r in type_rows],
            ),
        )
    )
    types = sorted(by_type)
    per_cat_type = {(c, t): v for c, t, _n, v in credits}
    category_rows: list[list[Any]] = [
        [c, n, *(per_cat_type.get((c, t), Decimal(0)) for t in types)]
        for c, (n, _v) in sorted(by_category.items())
    ]
    tables.append(
        Table(
            key="credit_category",
            title=_("按活动一级分类发放的学分"),
            columns=[_("活动一级分类"), _("成长记录数"), *types],
            rows=category_rows,
            note=_("各学分类型一列，为该分类下的学分值合计。"),
            chart=charts.BarChart(
                title=_("各活动一级分类的成长记录数"),
                labels=[r[0] for r in category_rows],
                values=[r[1] for r in category_rows],
            ),
        )
    )

    # Approval time per step.
    hist = wait_histograms(scope=level, ids=ids)
    wait_rows: list[list[Any]] = []
    medians: list[float] = []
    p90s: list[float] = []
    for role in [r for r in StepRole.values if r in hist]:
        counts_ = hist[role]
        median, p90 = percentile_bucket(counts_, 0.5), percentile_bucket(counts_, 0.9)
        wait_rows.append(
            [str(StepRole(role).label), sum(counts_), wait_text(median), wait_text(p90)]
        )
        medians.append(wait_days(median))
        p90s.append(wait_days(p90))
    tables.append(
        Table(
            key="wait",
            title=_("各审核环节的用时"),
            columns=[_("审核环节"), _("审核次数"), _("中位数"), _("90% 分位")],
            rows=wait_rows,
            note=_(
                "从申请到达该环节（提交或上一环节审核）到该环节作出决定（通过、退回或不予通过）。"
                "按时间段计数：“≤ 3 天”表示落在 2 至 3 天之间。"
            ),
            chart=charts.PairChart(
                title=_("各审核环节用时（天）"),
                labels=[r[0] for r in wait_rows],
                first=medians,
                second=p90s,
                first_label=_("中位数"),
                second_label=_("90% 分位"),
                unit=_("天"),
            ),
        )
    )
    totals = {
        "submitted": sum(states_total.values()),
        "pending": states_total.get(State.PENDING, 0),
        "passed": sum(states_total.get(s, 0) for s in PASSED),
        "credits": sum(n for n, _v in by_type.values()),
    }
    return StatsPage(scope=scope, tables=tables, totals=totals, oldest=oldest_waiting(scope=scope))


def oldest_table(page: StatsPage) -> Table:
    """The oldest waiting requests as a table (for the xlsx download)."""
    return Table(
        key="oldest",
        title=_("等待最久的申请"),
        columns=[
            _("编号"),
            _("标题"),
            _("补录类型"),
            _("二级学院"),
            _("等待环节"),
            _("负责组织"),
            _("审核人"),
            _("到达时间"),
            _("已等待（天）"),
        ],
        rows=[
            [
                o["request"].pk,
                o["request"].title,
                o["request"].get_kind_display(),
                o["request"].college.name if o["request"].college else "",
                o["role"],
                o["org"],
                o["holders"],
                timezone.localtime(o["since"]).strftime("%Y-%m-%d %H:%M"),
                o["days"],
            ]
            for o in page.oldest
        ],
    )


def student_credit_summary(*, user: User) -> list[dict[str, Any]]:
    """A student's own credit records, per credit type (one query, no join).

    Credit records are only ever written by a request's final approval (`imports.credits`), and
    no approved request leaves the credited states (approved, exported, imported): every record
    is a credited one, so the request's state is not read here. The join to the requests it
    saved made this the dearest query of a student's home page (a 45,000-row hash join at
    100,000 requests; see docs/decisions.md)."""
    from credits.models import CreditRecord

    rows = (
        # A roster row names a 学号 the registry may have learnt only later (student unset).
        CreditRecord.objects.filter(
            Q(student_id=user.pk) | Q(student__isnull=True, student_no=user.username)
        )
        .values("credit_type")
        .annotate(records=Count("pk"), value=Sum("value"))
        .order_by("credit_type")
    )
    return [dict(r) for r in rows]
