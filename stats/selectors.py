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
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organization, OrganizationUserObjectPermission, User
from accounts.selectors import user_scope
from bulu.exceptions import AccessDenied
from bulu.workflow.models import (
    STEP_PERMISSION,
    BackfillRequest,
    RequestTally,
    State,
    StepRole,
    Window,
)
from stats.models import Scope
from stats.tables import (
    PASSED,
    Counts,
    Groups,
    Table,
    by_type,
    college_table,
    college_window_table,
    credit_category_table,
    credit_type_table,
    kind_state_table,
    state_totals,
    sum_by,
    wait_table,
    window_table,
)
from stats.tallies import credit_sums, wait_histograms

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


# --- the page's counts ---------------------------------------------------------------------------


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


def _colleges(counts: Counts) -> Groups:
    by_college = sum_by(counts, 2)
    names = dict(
        Organization.objects.filter(pk__in=sorted(k for k in by_college if k)).values_list(
            "pk", "name"
        )
    )
    keys = sorted(by_college, key=lambda k: (k == 0, names.get(k, ""), k))
    return Groups(keys=keys, names=names, empty=_("（无学院）"))


def _windows(counts: Counts) -> Groups:
    by_window = sum_by(counts, 3)
    windows = {
        w.pk: w
        for w in Window.objects.filter(pk__in=sorted(k for k in by_window if k)).only(
            "pk", "title", "kind", "opens_at"
        )
    }
    keys = sorted(
        by_window,
        key=lambda k: (k == 0, -(windows[k].opens_at.timestamp() if k in windows else 0), k),
    )
    names = {k: w.title for k, w in windows.items()}
    return Groups(keys=keys, names=names, empty=_("（无补录通知）"))


def stats_page(*, scope: StatsScope) -> StatsPage:
    """Every statistics table of the scope, and the totals above them."""
    counts = _request_counts(scope)
    colleges, windows = _colleges(counts), _windows(counts)
    credits = credit_sums(scope=scope.level, ids=scope.ids)
    tables = [
        kind_state_table(counts),
        college_table(counts, colleges),
        window_table(counts, windows),
        college_window_table(counts, colleges, windows),
        credit_type_table(credits),
        credit_category_table(credits),
        wait_table(wait_histograms(scope=scope.level, ids=scope.ids)),
    ]
    states_total = state_totals(counts)
    totals = {
        "submitted": sum(states_total.values()),
        "pending": states_total.get(State.PENDING, 0),
        "passed": sum(states_total.get(s, 0) for s in PASSED),
        "credits": sum(n for n, _v in by_type(credits).values()),
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
