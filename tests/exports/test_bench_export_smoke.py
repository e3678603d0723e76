"""bench/export.py runs at a tiny size on a scratch PostgreSQL database, so it cannot rot."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.conftest import need
from tests.test_bench_smoke import BENCHMARKS, _admin, _digest

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.mark.services
def test_it_runs_the_export_bench_at_a_tiny_size(tmp_path: Path) -> None:
    url = os.environ.get("DATABASE_URL", "")
    parts = urlsplit(url)
    need(parts.scheme in ("postgres", "postgresql", "pgsql"), "PostgreSQL (set DATABASE_URL)")
    scratch_name = f"hx_exportsmoke_{parts.path.lstrip('/') or 'postgres'}"
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    scratch = urlunsplit(parts._replace(path=f"/{scratch_name}"))
    before = _digest(BENCHMARKS)
    _admin(
        maintenance,
        f'DROP DATABASE IF EXISTS "{scratch_name}"',
        f'CREATE DATABASE "{scratch_name}"',
    )
    out = tmp_path / "export.md"
    try:
        done = subprocess.run(
            [sys.executable, "bench/export.py", "--repeat", "1", "--out", str(out)],
            cwd=ROOT,
            env={
                **os.environ,
                "BENCH_DATABASE_URL": scratch,
                "BENCH_EXPORT_RECORDS": "300",
                "BENCH_EXPORT_REQUESTS": "300",
                "BENCH_EXPORT_DESK_RECORDS": "1200",
                "REDIS_URL": "",
            },
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        _admin(maintenance, f'DROP DATABASE IF EXISTS "{scratch_name}"')
    assert done.returncode == 0, done.stderr[-3000:]
    text = out.read_text()
    assert "## Export batches (到梦空间 import sheet)" in text
    for writer in ("naive: openpyxl", "floor: bare XlsxWriter", "ours: `export_batch_create`"):
        assert f"| {writer}" in text
    assert "not judged" in text  # a tiny size is never judged against the targets
    assert "| export desk, everything |" in text
    assert _digest(BENCHMARKS) == before


def test_it_skips_the_export_bench_without_a_scratch_database(tmp_path: Path) -> None:
    out = tmp_path / "export.md"
    done = subprocess.run(
        [sys.executable, "bench/export.py", "--out", str(out)],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k != "BENCH_DATABASE_URL"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and "skipped" in done.stdout and not out.exists()
