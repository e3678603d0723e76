"""manage.py validate_roster FILE [--json]: the same judging, exit codes 0 / 1 / 2."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from tests.imports.conftest import roster_xlsx, row

ROOT = Path(__file__).resolve().parents[2]


def run(path: Path, *args: str) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("validate_roster", str(path), *args, stdout=out)
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue()
    return 0, out.getvalue()


@pytest.fixture
def write(tmp_path: Path) -> Any:
    def write(data: bytes, name: str = "roster.xlsx") -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return write


def test_a_good_file_exits_0_with_one_json_object(registry: dict[str, str], write: Any) -> None:
    code, out = run(write(roster_xlsx([row(), row(学号="2021010002", 姓名="李四")])), "--json")
    assert code == 0
    assert json.loads(out) == {"ok": True, "data_rows": 2, "errors": [], "warnings": []}
    assert out.count("\n") <= 1


def test_a_file_with_errors_exits_1_and_lists_them(registry: dict[str, str], write: Any) -> None:
    code, out = run(write(roster_xlsx([row(), row(), row(学号="2021019999")])), "--json")
    assert code == 1
    data = json.loads(out)
    assert data["ok"] is False and data["data_rows"] == 3
    assert data["errors"] == [
        {
            "row": 8,
            "column": None,
            "code": "duplicate_row",
            "message": data["errors"][0]["message"],
        },
        {
            "row": 9,
            "column": "学号",
            "code": "unknown_student",
            "message": "学号 2021019999 不在学生名册中，请核对或联系二课中心导入。",
        },
    ]
    assert data["warnings"] == []


def test_an_unreadable_file_exits_2(registry: dict[str, str], write: Any) -> None:
    code, out = run(write(b"a,b\n1,2\n", "roster.csv"), "--json")
    assert code == 2
    data = json.loads(out)
    assert data["ok"] is False and data["data_rows"] == 0
    assert [(e["row"], e["column"], e["code"]) for e in data["errors"]] == [
        (None, None, "not_xlsx")
    ]


def test_warnings_appear_in_json_and_do_not_fail(registry: dict[str, str], write: Any) -> None:
    from imports.roster import COLUMNS
    from tests.imports.conftest import plain_xlsx

    code, out = run(write(plain_xlsx([list(COLUMNS), row()])), "--json")
    assert code == 0
    assert [w["code"] for w in json.loads(out)["warnings"]] == ["sample_rows_missing"]


def test_the_human_output_says_where_and_what(registry: dict[str, str], write: Any) -> None:
    code, out = run(write(roster_xlsx([row(活动等级="乡级")])))
    assert code == 1
    assert "错误 第 7 行“活动等级”列 [unknown_level]" in out
    assert "校验未通过：数据 1 行，错误 1 处，提醒 0 处。" in out
    code, out = run(write(roster_xlsx([row()])))
    assert code == 0 and "校验通过" in out


def test_a_missing_file_is_a_command_error(db: None, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="无法打开文件"):
        call_command("validate_roster", str(tmp_path / "nope.xlsx"))


SEED = """
import django
django.setup()
from accounts.models import Membership, Organization, User
from imports.demo import demo_seed_credit_settings
demo_seed_credit_settings()
klass = Organization.objects.create(kind="class", name="机械2401")
user = User.objects.create(username="2021010001", name="张三")
Membership.objects.create(user=user, organization=klass, role="student")
"""


def test_the_real_command_prints_only_json_and_sets_the_exit_code(tmp_path: Path) -> None:
    """As a shell script would run it: a process of its own, stdout parsed as JSON."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "bulu.settings",
        "SECRET_KEY": "test-only",
    }
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, cwd=ROOT, check=True, timeout=120)
    subprocess.run([sys.executable, "-c", SEED], env=env, cwd=ROOT, check=True, timeout=60)
    cases = [
        (roster_xlsx([row()]), 0, True),
        (roster_xlsx([row(学号="2021019999")]), 1, False),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512, 2, False),
    ]
    for i, (data, expected_code, ok) in enumerate(cases):
        path = tmp_path / f"roster-{i}.xlsx"
        path.write_bytes(data)
        done = subprocess.run(
            [*manage, "validate_roster", str(path), "--json"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            timeout=60,
        )
        assert done.returncode == expected_code, done.stderr.decode()
        parsed = json.loads(done.stdout.decode())  # the whole of stdout is one JSON object
        assert parsed["ok"] is ok
        assert set(parsed) == {"ok", "data_rows", "errors", "warnings"}
