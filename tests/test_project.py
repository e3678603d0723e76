"""Project-level guarantees: deploy checks pass, the documented state diagram is the code's."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

from django.core.management import call_command

ROOT = Path(__file__).resolve().parent.parent


def test_it_passes_check_deploy_with_debug_off_and_real_secrets() -> None:
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DEBUG": "0",
        "SECRET_KEY": "k7#Qm2!vX9pL4$wR8zT1^bN6&cY3*hF5jD0@sG2%aE7+uI9-oP4=lK8~nM1(qW6)",
        "ALLOWED_HOSTS": "bulu.example.edu.cn",
        "BULU_PUBLIC_URL": "https://bulu.example.edu.cn",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_it_refuses_to_start_production_without_a_secret_key() -> None:
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env["DEBUG"] = "0"
    env["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/test"
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_it_runs_commands_on_the_embedded_default_without_any_variable() -> None:
    """After `make run`, README's commands work with the venv's Python and nothing exported."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "DEBUG")
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "validate_roster", "--help"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    key_file = ROOT / "var" / "secret_key"
    assert key_file.is_file() and len(key_file.read_text().strip()) >= 50
    assert key_file.stat().st_mode & 0o077 == 0  # readable by its owner only


def test_it_documents_the_current_state_machine() -> None:
    out = StringIO()
    call_command("graph_transitions", "workflow.BackfillRequest", stdout=out)
    documented = (ROOT / "docs" / "state-diagram.dot").read_text(encoding="utf-8")
    # Edge order is not stable between runs; the set of lines is what must match.
    assert sorted(out.getvalue().split("\n")) == sorted(documented.split("\n")), (
        "regenerate: python manage.py graph_transitions workflow.BackfillRequest "
        "> docs/state-diagram.dot"
    )
