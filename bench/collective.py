"""`make bench`: a collective request's roster becoming credit records at its final approval.

Builds the demo school plus 5,000 registered students, a collective request whose 5,000-row roster
is uploaded, judged and approved at every step but the last through the real services. Then, in
alternating rounds, each rolled back so the next round starts from the same state:

- **final approval**: `request_decide` by the 校团委 reviewer, as the web does it — the lock, the
  state change, the log, notifications and `collective_on_approved` turning every roster row into a
  credit record, in one transaction;
- **credits only**: `collective_on_approved` alone (the roster read and the inserts);
- **floor**: a bare `CreditRecord.objects.bulk_create` of the same 5,000 rows, built in memory
  beforehand.

The database is a throwaway SQLite file unless BENCH_DATABASE_URL names a scratch one (the figure
the issue asks for is PostgreSQL's). Written to docs/benchmarks.md under "## Collective credits".
BENCH_COLLECTIVE_ROWS, BENCH_COLLECTIVE_REPEAT and --out shrink and redirect it
(tests/test_bench_smoke.py).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import write_section  # noqa: E402

ROWS = int(os.environ.get("BENCH_COLLECTIVE_ROWS", "5000"))
REPEAT = int(os.environ.get("BENCH_COLLECTIVE_REPEAT", "7"))
SECTION = "## Collective credits"
TARGET_S = 1.0


class Rollback(Exception):
    pass


def students(n: int) -> list[Any]:
    """`n` registered students of one demo class (bench data: bulk inserts, not the services)."""
    from django.contrib.auth.hashers import make_password

    from accounts.models import Membership, Organization, User

    klass = Organization.objects.filter(kind="class").order_by("pk").first()
    assert klass is not None
    User.objects.bulk_create(
        [
            User(username=f"2099{i:06d}", name=f"测试{i:05d}", password=make_password(None))
            for i in range(n)
        ],
        batch_size=1000,
    )
    made = list(User.objects.filter(username__startswith="2099").order_by("username"))
    Membership.objects.bulk_create(
        [Membership(user=u, organization=klass, role=Membership.Role.STUDENT) for u in made],
        batch_size=1000,
    )
    return made


def at_last_step(rows: int) -> Any:
    """The collective request, approved at every step but the last."""
    from bench.pdf import _collective
    from bulu.workflow.demo import demo_decide
    from bulu.workflow.models import RouteStep

    request = _collective(rows, students(rows), decide=False)
    last = RouteStep.objects.filter(request=request).order_by("-index").values_list("index")[0][0]
    request.refresh_from_db()
    while request.step_index < last:
        demo_decide(request, opinion="材料齐全，同意。")
        request.refresh_from_db()
    return request


def _timed(work: Any) -> float:
    """`work()` inside a transaction that is rolled back; the time until just before the end."""
    from django.db import transaction

    elapsed = 0.0
    try:
        with transaction.atomic():
            started = time.perf_counter()
            work()
            elapsed = time.perf_counter() - started
            raise Rollback
    except Rollback:
        pass
    return elapsed


def measure(request: Any) -> dict[str, Any]:
    from bulu.workflow.models import Decision
    from bulu.workflow.selectors import request_may_act, step_people
    from bulu.workflow.services import request_decide
    from collective.services import collective_on_approved
    from credits.models import CreditRecord
    from imports.entries import RosterEntry

    step = request.current_step
    reviewer = next(u for u in step_people(step) if request_may_act(user=u, request=request))
    entries = list(RosterEntry.objects.filter(upload_id=request.collectiverequest.roster_id))
    assert len(entries) == ROWS, len(entries)

    def final() -> None:
        request.refresh_from_db()
        request_decide(
            request=request,
            actor=reviewer,
            decision=Decision.APPROVE,
            opinion="同意补录。",
            expected_version=request.version,
            confirmations=frozenset({"duplicates_checked"}),  # repeated rosters share students
        )
        assert CreditRecord.objects.filter(request=request).count() == ROWS

    def credits_only() -> None:
        collective_on_approved(request)

    def floor() -> None:
        CreditRecord.objects.bulk_create(
            [
                CreditRecord(
                    request_id=request.pk,
                    source_key=f"roster-entry:{e.pk}",
                    student_id=e.student_id,
                    student_no=e.student_no,
                    student_name=e.name,
                    start_date=e.start_date,
                    end_date=e.end_date,
                    content=e.content,
                    category=e.category,
                    subcategory=e.subcategory,
                    level=e.level,
                    award=e.award,
                    credit_type=e.credit_type,
                    value=e.value,
                )
                for e in entries
            ],
            batch_size=1000,
        )

    runs: dict[str, list[float]] = {"final": [], "credits": [], "floor": []}
    for round_ in range(-1, REPEAT):  # round -1 warms up and is not counted
        for key, work in (("floor", floor), ("credits", credits_only), ("final", final)):
            seconds = _timed(work)
            if round_ >= 0:
                runs[key].append(seconds)
    assert not CreditRecord.objects.filter(request=request).exists()  # all rolled back
    return {key: statistics.median(times) for key, times in runs.items()} | {"runs": runs}


def render(result: dict[str, Any], vendor: str, load: str) -> str:
    final, credits, floor = result["final"], result["credits"], result["floor"]
    met = "met" if final < TARGET_S else "NOT met"
    return "\n".join(
        [
            SECTION,
            "",
            f"Measured {time.strftime('%Y-%m-%d')} by `make bench` (bench/collective.py) on "
            f"{os.cpu_count()} cores ({platform.machine()}), Python "
            f"{platform.python_version()}, database {vendor}. A collective request with a "
            f"{ROWS:,}-row roster (uploaded, judged, approved at every earlier step through the "
            "services); each round runs in a transaction that is rolled back, median of "
            f"{REPEAT} rounds after one warm-up, the three alternating. 1-minute load average "
            f"{load} (start / end).",
            "",
            "| what | median (s) | ÷ floor |",
            "|---|---:|---:|",
            f"| final approval (`request_decide`: lock, state, log, notifications, {ROWS:,} "
            f"credit records) | {final:.3f} | {final / floor:.2f}× |",
            f"| credits only (`collective_on_approved`) | {credits:.3f} | {credits / floor:.2f}× |",
            f"| floor: bare `bulk_create` of the same {ROWS:,} rows | {floor:.3f} | 1.00× |",
            "",
            "- All runs (s): "
            + "; ".join(f"{k} {[round(t, 3) for t in v]}" for k, v in result["runs"].items()),
            "",
            "Targets:",
            "",
            f"- {met}: {ROWS:,}-row roster turned into credit records at final approval in "
            f"{final:.3f} s (< {TARGET_S:.0f} s, {vendor})",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    args = parser.parse_args()
    from bench.pdf import setup_django

    setup_django()
    from django.db import connection

    from accounts.demo import demo_seed_school
    from imports.demo import demo_seed_credit_settings

    demo_seed_school()
    demo_seed_credit_settings()
    request = at_last_step(ROWS)
    load_start = os.getloadavg()[0]
    result = measure(request)
    load = f"{load_start:.1f} / {os.getloadavg()[0]:.1f}"
    section = render(result, connection.vendor, load)
    print(section)
    write_section(Path(args.out), section)


if __name__ == "__main__":
    main()
