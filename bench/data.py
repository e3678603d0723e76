"""Bulk-built bench data on top of the demo school: requests, route steps, items, credit records.

Used by bench/approval_queues.py (requests and route steps only) and bench/load (everything).
Rows are bulk-inserted: the benches measure reading, not the services that would write them.
Needs a configured Django (any settings module whose database is a scratch one).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, cast

# Share of requests per state, out of 100: 30 % waiting, the rest spread over the other states.
STATE_WEIGHTS = (
    ("pending", 30),
    ("approved", 20),
    ("exported", 10),
    ("imported", 15),
    ("returned", 10),
    ("rejected", 5),
    ("draft", 5),
    ("withdrawn", 5),
)
CREDITED = ("approved", "exported", "imported")
FINISHED = ("approved", "exported", "imported", "rejected")
CHUNK = 10_000


@dataclass(frozen=True)
class Built:
    requests: int
    route_steps: int
    items: int
    credits: int
    students: int
    seconds: float


def _states() -> list[str]:
    return [state for state, weight in STATE_WEIGHTS for _ in range(weight)]


def populate(*, requests: int, credits: int = 0, items: bool = False, seed: int = 7) -> Built:
    """Add `requests` personal requests (and optionally items and `credits` credit records).

    Builds the demo school first (idempotent). Every non-draft request gets its three route
    steps (counselor, branch, center); pending ones point at the step they wait on. Requests are
    `personal` with their `personal_personalrequest` row, so their detail pages render. Credit
    records go to approved, exported and imported requests, spread evenly, for the applicant.
    """
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.demo import demo_seed_school
    from accounts.models import Membership, Organization, User
    from bulu.workflow.models import BackfillRequest, Kind, RouteStep, StepRole
    from personal.models import PersonalRequest

    started = time.perf_counter()
    demo_seed_school()
    center = Organization.objects.get(kind=Organization.Kind.CENTER)
    students = list(
        Membership.objects.filter(role=Membership.Role.STUDENT)
        .order_by("user__username")
        .values_list("user_id", "organization_id", "organization__parent_id")
    )
    branches = dict(
        Organization.objects.filter(kind=Organization.Kind.BRANCH).values_list("parent_id", "pk")
    )
    rng = random.Random(seed)
    pool = _states()
    now = timezone.now()
    made: list[tuple[int, int, str, int]] = []  # (request pk, applicant pk, state, n)
    steps_made = 0
    with transaction.atomic():
        for first in range(0, requests, CHUNK):
            batch: list[BackfillRequest] = []
            for n in range(first, min(first + CHUNK, requests)):
                user_id, class_id, college_id = students[n % len(students)]
                state = rng.choice(pool)
                submitted = None if state == "draft" else now - timedelta(days=rng.randint(0, 60))
                batch.append(
                    BackfillRequest(
                        kind=Kind.PERSONAL,
                        title=f"个人成长积分补录 第{n}号",
                        applicant_id=user_id,
                        applicant_org_id=class_id,
                        college_id=college_id,
                        state=state,
                        step_index=rng.randint(0, 2) if state == "pending" else 0,
                        submitted_at=submitted,
                        decided_at=submitted + timedelta(days=3)
                        if submitted and state in FINISHED
                        else None,
                    )
                )
            BackfillRequest.objects.bulk_create(batch, batch_size=2000)
            steps = [
                RouteStep(request_id=r.pk, index=i, role=role, organization_id=org, label=role)
                for r in batch
                if r.state != "draft"
                for i, (role, org) in enumerate(
                    (
                        (StepRole.COUNSELOR, r.applicant_org_id),
                        (StepRole.SECRETARY, branches[cast(int, r.college_id)]),
                        (StepRole.CENTER, center.pk),
                    )
                )
            ]
            RouteStep.objects.bulk_create(steps, batch_size=5000)
            steps_made += len(steps)
            made += [(r.pk, r.applicant_id, r.state, n) for n, r in enumerate(batch, first)]
        table = BackfillRequest._meta.db_table
        step_table = RouteStep._meta.db_table
        child = PersonalRequest._meta
        ptr = child.pk.column
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET current_step_id = ("  # noqa: S608 - table names only
                f" SELECT s.id FROM {step_table} s WHERE s.request_id = {table}.id"
                f' AND s."index" = {table}.step_index) WHERE state = %s',
                ["pending"],
            )
            # The queue columns the services keep in step with the current step.
            cursor.execute(
                f"UPDATE {table} SET waiting_org_id = s.organization_id, waiting_role = s.role"  # noqa: S608
                f" FROM {step_table} s WHERE s.id = {table}.current_step_id AND {table}.state = %s",
                ["pending"],
            )
            cursor.execute(
                f"INSERT INTO {child.db_table} ({ptr}) SELECT r.id FROM {table} r"  # noqa: S608
                f" WHERE r.kind = %s AND NOT EXISTS"
                f" (SELECT 1 FROM {child.db_table} c WHERE c.{ptr} = r.id)",
                [Kind.PERSONAL],
            )
        n_items = _items(made, rng) if items else 0
        n_credits = _credits(made, credits) if credits else 0
    # The maintained counts, as the services would have kept them.
    from bulu.workflow.tallies import tallies_rebuild
    from stats.tallies import stats_rebuild

    tallies_rebuild()
    stats_rebuild()  # the statistics page's credit and wait-time tallies
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return Built(
        requests=len(made),
        route_steps=steps_made,
        items=n_items,
        credits=n_credits,
        students=User.objects.filter(memberships__role=Membership.Role.STUDENT).count(),
        seconds=time.perf_counter() - started,
    )


def _standard_items() -> list[Any]:
    from imports.demo import demo_seed_credit_settings
    from imports.models import ActivityLevel, CreditStandardItem

    if not CreditStandardItem.objects.exists():
        demo_seed_credit_settings()
    school = ActivityLevel.objects.get(name="校级")
    found = list(
        CreditStandardItem.objects.select_related("subcategory__category", "level", "credit_type")
    )
    for s in found:
        if s.level is None:
            s.level = school
    return found


def _items(made: list[tuple[int, int, str, int]], rng: random.Random) -> int:
    """One to three items per submitted request, each after one of the standard items."""
    from personal.models import PersonalItem

    standards = _standard_items()
    count = 0
    batch: list[PersonalItem] = []
    for pk, _applicant, state, n in made:
        if state == "draft" and n % 2:
            continue  # half the drafts are still empty
        for order in range(rng.randint(1, 3)):
            s = standards[(n + order) % len(standards)]
            start = date(2024, 3 + n % 9, 1 + n % 28)
            batch.append(
                PersonalItem(
                    request_id=pk,
                    content=f"{s.name}（第{n}号）",
                    start_date=start,
                    end_date=start + timedelta(days=n % 5) if n % 3 else None,
                    category_id=s.subcategory.category_id,
                    subcategory_id=s.subcategory_id,
                    level_id=s.level.pk,
                    awards=s.award,
                    credit_type_id=s.credit_type_id,
                    claimed_value=s.points,
                    standard_item_id=s.pk,
                    order=order,
                )
            )
        if len(batch) >= CHUNK:
            PersonalItem.objects.bulk_create(batch, batch_size=5000)
            count += len(batch)
            batch = []
    PersonalItem.objects.bulk_create(batch, batch_size=5000)
    return count + len(batch)


def _credits(made: list[tuple[int, int, str, int]], total: int) -> int:
    """`total` credit records spread evenly over the approved, exported and imported requests."""
    from accounts.models import User
    from credits.models import CreditRecord

    credited = [(pk, applicant, state) for pk, applicant, state, _n in made if state in CREDITED]
    if not credited:
        return 0
    people = dict(
        User.objects.filter(pk__in={a for _pk, a, _s in credited}).values_list("pk", "username")
    )
    names = dict(User.objects.filter(pk__in=people).values_list("pk", "name"))
    standards = _standard_items()
    per, extra = divmod(total, len(credited))
    count = 0
    batch: list[CreditRecord] = []
    for i, (pk, applicant, state) in enumerate(credited):
        for k in range(per + (1 if i < extra else 0)):
            s = standards[(i + k) % len(standards)]
            start = date(2024, 3 + (i + k) % 9, 1 + i % 28)
            batch.append(
                CreditRecord(
                    request_id=pk,
                    source_key=f"item:{k}",
                    student_id=applicant,
                    student_no=people[applicant],
                    student_name=names[applicant],
                    start_date=start,
                    end_date=None,
                    content=f"{s.name}（{i}-{k}）",
                    category=s.subcategory.category.name,
                    subcategory=s.subcategory.name,
                    level=s.level.name,
                    award=s.award,
                    credit_type=s.credit_type.name,
                    value=s.points,
                    delivery=CreditRecord.Delivery.BATCH
                    if state != "imported" or k % 4
                    else CreditRecord.Delivery.IN_PLATFORM,
                )
            )
        if len(batch) >= CHUNK:
            CreditRecord.objects.bulk_create(batch, batch_size=5000)
            count += len(batch)
            batch = []
    CreditRecord.objects.bulk_create(batch, batch_size=5000)
    return count + len(batch)
