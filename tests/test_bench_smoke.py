"""Every bench script runs at a tiny size, so a bench cannot rot unnoticed.

The scripts run at once in subprocesses (bench/run.py and bench/approval_queues.py on a
temporary SQLite file, bench/collective.py on SQLite too, bench/load/run.py and bench/stats.py on
scratch PostgreSQL databases made for the purpose),
each writing to a file in a temporary directory; docs/benchmarks.md is never touched. Timings are
not judged here (they belong to `make bench`): the tests check that each script finished, wrote
its tables, and that every page it drives answered without a failure.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.conftest import need

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "docs" / "benchmarks.md"
TIMEOUT = 300  # seconds; a smoke run takes well under a minute


@dataclass
class Finished:
    returncode: int
    out: Path
    log: str

    def text(self) -> str:
        assert self.returncode == 0, self.log[-4000:]
        assert self.out.exists(), f"nothing written to {self.out}\n{self.log[-2000:]}"
        return self.out.read_text()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else ""


def _scratch_postgres() -> tuple[str, str] | None:
    """(maintenance URL, scratch URL) on the server of DATABASE_URL, if that is PostgreSQL."""
    url = os.environ.get("DATABASE_URL", "")
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        return None
    name = parts.path.lstrip("/") or "postgres"
    scratch = f"{name}_benchsmoke"
    return (
        urlunsplit(parts._replace(path="/postgres")),
        urlunsplit(parts._replace(path=f"/{scratch}")),
    )


def _admin(url: str, *statements: str) -> None:
    import psycopg2

    parts = urlsplit(url)
    conn = psycopg2.connect(
        dbname=parts.path.lstrip("/"),
        user=parts.username or None,
        password=parts.password or None,
        host=parts.hostname or None,
        port=parts.port or None,
    )
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    finally:
        conn.close()


@pytest.fixture(scope="module")
def bench_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Finished]]:
    tmp = tmp_path_factory.mktemp("bench-smoke")
    before = _digest(BENCHMARKS)
    base = {k: v for k, v in os.environ.items() if k != "BENCH_DATABASE_URL"}
    base["REDIS_URL"] = ""
    scripts: dict[str, tuple[list[str], dict[str, str]]] = {
        "roster": (
            ["bench/run.py", "--repeat", "1"],
            {"BENCH_SIZES": "50"},
        ),
        "queues": (
            ["bench/approval_queues.py"],
            {"BENCH_QUEUE_REQUESTS": "200", "BENCH_QUEUE_REPEAT": "1"},
        ),
        "collective": (
            ["bench/collective.py"],
            {"BENCH_COLLECTIVE_ROWS": "30", "BENCH_COLLECTIVE_REPEAT": "1"},
        ),
    }
    postgres = _scratch_postgres()
    if postgres is not None:
        maintenance, scratch = postgres
        name = urlsplit(scratch).path.lstrip("/")
        _admin(maintenance, f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"')
        scripts["load"] = (
            ["bench/load/run.py", "--label", "before"],
            {
                "BENCH_DATABASE_URL": scratch,
                "BENCH_LOAD_REQUESTS": "200",
                "BENCH_LOAD_CREDITS": "1000",
                "BENCH_LOAD_USERS": "2",
                "BENCH_LOAD_SECONDS": "0.5",
                "BENCH_LOAD_RUNS": "1",
                "BENCH_LOAD_WARMUP": "0.2",
                "BENCH_LOAD_RUSH_USERS": "6",
                "BENCH_LOAD_RUSH_SECONDS": "1",
                "BENCH_LOAD_COLLECTSTATIC": "0",
            },
        )
        stats_db = urlunsplit(urlsplit(scratch)._replace(path=f"/{name}_stats"))
        _admin(
            maintenance,
            f'DROP DATABASE IF EXISTS "{name}_stats"',
            f'CREATE DATABASE "{name}_stats"',
        )
        scripts["stats"] = (
            ["bench/stats.py"],
            {
                "BENCH_DATABASE_URL": stats_db,
                "BENCH_STATS_REQUESTS": "300",
                "BENCH_STATS_CREDITS": "1000",
                "BENCH_STATS_REPEAT": "1",
            },
        )
    started = {}
    for key, (argv, extra) in scripts.items():
        out = tmp / f"{key}.md"
        log = (tmp / f"{key}.log").open("w")
        proc = subprocess.Popen(
            [sys.executable, *argv, "--out", str(out)],
            cwd=ROOT,
            env={**base, **extra},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        started[key] = (proc, out, log)
    finished = {}
    try:
        for key, (proc, out, log) in started.items():
            proc.wait(timeout=TIMEOUT)
            log.close()
            finished[key] = Finished(proc.returncode, out, (tmp / f"{key}.log").read_text())
        yield finished
    finally:
        for proc, _out, log in started.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            log.close()
        if postgres is not None:
            scratch_name = urlsplit(postgres[1]).path[1:]
            _admin(
                postgres[0],
                f'DROP DATABASE IF EXISTS "{scratch_name}"',
                f'DROP DATABASE IF EXISTS "{scratch_name}_stats"',
            )
        assert _digest(BENCHMARKS) == before, "a smoke run changed docs/benchmarks.md"


def test_it_runs_the_roster_bench_at_a_tiny_size(bench_runs: dict[str, Finished]) -> None:
    text = bench_runs["roster"].text()
    assert "## 附件4 roster validation" in text
    assert "| 50 |" in text  # the one size measured
    assert "annotated copy written" in text  # the faulty roster was judged and marked
    assert "django-import-export 4, dry run" in text
    assert "not judged: sizes 50 are not the target sizes" in text


def test_it_runs_the_approval_queue_bench_at_a_tiny_size(bench_runs: dict[str, Finished]) -> None:
    text = bench_runs["queues"].text()
    assert "## Approval queues (sqlite)" in text
    assert "200 requests" in text
    for page in (
        "counselor 我的待办",
        "center overview, 60,000 rows deep (keyset)",
        "counselor home",
    ):
        assert f"| {page} |" in text


def test_it_runs_the_load_bench_at_a_tiny_size(bench_runs: dict[str, Finished]) -> None:
    need("load" in bench_runs, "PostgreSQL (set DATABASE_URL)")
    text = bench_runs["load"].text()
    assert "## Pages under load" in text
    assert "### Before" in text
    mark = "<!-- bench-load "
    data = json.loads(text[text.index(mark) + len(mark) : text.index(" -->", text.index(mark))])
    run = data["before"]
    labels = [row["label"] for row in run["steady"]]
    assert labels[0] == "counselor 我的待办" and labels[-1].startswith("floor")
    assert len(labels) == 10
    assert "center 统计 (statistics, whole school)" in labels
    for row in run["steady"]:
        # Every page answered 200 to its user through the test client before the load (the
        # script asserts it and counts the queries), and nothing failed through gunicorn. A page
        # slower than the half-second window may serve no request in it, so only the total is
        # required to be positive.
        assert row["failures"] == 0, row
        assert row["queries"] > 0, row
    assert sum(row["requests"] for row in run["steady"]) > 0
    assert sum(p["failures"] for p in run["rush"]["pages"].values()) == 0, run["rush"]
    assert run["server_errors"] == 0
    assert run["data"]["requests"] >= 200 and run["data"]["credits"] >= 1000


def test_it_runs_the_collective_credit_bench_at_a_tiny_size(
    bench_runs: dict[str, Finished],
) -> None:
    text = bench_runs["collective"].text()
    section = text[text.index("## Collective credits") :]
    assert "a 30-row roster" in section
    assert "| floor: bare `bulk_create` of the same 30 rows |" in section
    assert "Targets:" in section


def test_it_runs_the_statistics_bench_at_a_tiny_size(bench_runs: dict[str, Finished]) -> None:
    need("stats" in bench_runs, "PostgreSQL (set DATABASE_URL)")
    text = bench_runs["stats"].text()
    assert "## Statistics page" in text
    for page in ("center (二课中心), whole school", "advisor (机器人协会)"):
        assert f"| {page} |" in text
