"""The statistics page's tables, built from counts already read (`stats.selectors` reads them)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from bulu.workflow.models import Kind, State, StepRole
from stats import charts
from stats.tallies import BOUNDS, percentile_bucket

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


def sum_by(counts: list[tuple[str, str, int, int, int]], index: int) -> dict[Any, dict[str, int]]:
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


Counts = list[tuple[str, str, int, int, int]]  # kind, state, college, notice, requests


@dataclass(frozen=True)
class Groups:
    """The groups of one table (colleges, notices) in display order, and their row labels."""

    keys: list[int]
    names: dict[int, str]
    empty: str  # the label of key 0: requests without a college or a notice

    def label(self, k: int) -> str:
        return self.names.get(k, "") if k else self.empty


def state_totals(counts: Counts) -> dict[str, int]:
    states_total: dict[str, int] = defaultdict(int)
    for per in sum_by(counts, 0).values():
        for state, n in per.items():
            states_total[state] += n
    return states_total


def kind_state_table(counts: Counts) -> Table:
    """Requests by kind and state."""
    by_kind = sum_by(counts, 0)
    states_total = state_totals(counts)
    kinds = [k for k in Kind.values if k in by_kind]
    return Table(
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


def college_table(counts: Counts, colleges: Groups) -> Table:
    by_college = sum_by(counts, 2)
    rows: list[list[Any]] = [
        [colleges.label(k), *_state_group_row(by_college[k])] for k in colleges.keys
    ]
    return _submitted_table("college", _("按学院的申请数"), _("二级学院"), rows, _("各学院"))


def window_table(counts: Counts, windows: Groups) -> Table:
    """By notice (补录通知)."""
    by_window = sum_by(counts, 3)
    rows: list[list[Any]] = [
        [windows.label(k), *_state_group_row(by_window[k])] for k in windows.keys
    ]
    return _submitted_table("window", _("按补录通知的申请数"), _("补录通知"), rows, _("各补录通知"))


def college_window_table(counts: Counts, colleges: Groups, windows: Groups) -> Table:
    """Per-college submissions for each of the latest notices."""
    shown = windows.keys[:MATRIX_WINDOWS]
    cells: dict[tuple[int, int], int] = defaultdict(int)
    for _k, _s, college, window, n in counts:
        cells[(college, window)] += n
    matrix: list[list[Any]] = [
        [colleges.label(c), *(cells.get((c, w), 0) for w in shown)] for c in colleges.keys
    ]
    peak = max((v for row in matrix for v in row[1:]), default=0)
    return Table(
        key="college_window",
        title=_("各学院在各补录通知中的提交数"),
        columns=[_("二级学院"), *(windows.label(w) for w in shown)],
        rows=matrix,
        note=_("列出最近 %(n)d 个补录通知。") % {"n": MATRIX_WINDOWS}
        if len(windows.keys) > MATRIX_WINDOWS
        else "",
        heat=[
            [0 if not v else 1 + min(3, (4 * v - 1) // peak) if peak else 0 for v in row[1:]]
            for row in matrix
        ],
    )


CreditCounts = list[tuple[str, str, int, Decimal]]  # category, credit type, records, value


def by_type(credits: CreditCounts) -> dict[str, list[Any]]:
    by_type: dict[str, list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    for _category, credit_type, n, value in credits:
        by_type[credit_type][0] += n
        by_type[credit_type][1] += value
    return by_type


def credit_type_table(credits: CreditCounts) -> Table:
    """Credits issued, by credit type."""
    type_rows: list[list[Any]] = [[t, n, v] for t, (n, v) in sorted(by_type(credits).items())]
    return Table(
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


def credit_category_table(credits: CreditCounts) -> Table:
    """Credits issued, by 活动一级分类, one value column per credit type."""
    by_category: dict[str, list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    for category, _credit_type, n, value in credits:
        by_category[category][0] += n
        by_category[category][1] += value
    types = sorted(by_type(credits))
    per_cat_type = {(c, t): v for c, t, _n, v in credits}
    category_rows: list[list[Any]] = [
        [c, n, *(per_cat_type.get((c, t), Decimal(0)) for t in types)]
        for c, (n, _v) in sorted(by_category.items())
    ]
    return Table(
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


def wait_table(hist: Mapping[str, list[int]]) -> Table:
    """Approval time per step (`hist`: wait buckets per step role)."""
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
    return Table(
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
