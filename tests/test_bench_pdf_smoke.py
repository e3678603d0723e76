"""`make bench`'s PDF section runs: bench/pdf.py at a tiny size, into a temporary file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_pdf_bench_runs_at_a_tiny_size_and_keeps_other_sections(tmp_path: Path) -> None:
    out = tmp_path / "benchmarks.md"
    out.write_text("# Benchmarks\n\n## Someone else's section\n\nkeep me\n", encoding="utf-8")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")
    }
    env.update(BENCH_PDF_SMOKE="1", BENCH_PDF_OUT=str(out))
    result = subprocess.run(
        [sys.executable, "bench/pdf.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    text = out.read_text(encoding="utf-8")
    assert "## Someone else's section\n\nkeep me" in text
    section = text[text.index("## PDF forms") :]
    assert "| 附件2 申请书 | 1 |" in section
    assert "| 附件3 申请单 + 20 行名单 | 2 |" in section
    assert "Targets:" in section and "`import weasyprint` in a fresh process" in section
