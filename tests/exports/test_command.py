"""`export_import_sheet` makes a batch through the same service as the web."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from bulu.workflow.models import BackfillRequest, State
from exports.models import ExportBatch
from tests.conftest import School
from tests.exports.conftest import approved_request


def test_it_writes_the_workbook_of_a_new_batch(school: School, tmp_path: Path) -> None:
    approved_request(school, records=2, credit_type="文体活动学分")
    approved_request(school, applicant=school.olivia, records=1, credit_type="志愿者工时")
    out = tmp_path / "sheet.xlsx"
    stdout = io.StringIO()
    call_command(
        "export_import_sheet",
        "--out",
        str(out),
        "--by",
        "T2001",
        "--credit-type",
        "志愿者工时",
        stdout=stdout,
    )
    batch = ExportBatch.objects.get()
    assert batch.rows == 1 and batch.created_by == school.dave
    assert batch.state == ExportBatch.State.DOWNLOADED  # the command's copy counts as download
    ws = openpyxl.load_workbook(out).active
    assert ws["A7"].value == school.olivia.username and ws["A8"].value is None
    assert f"batch #{batch.pk}" in stdout.getvalue()
    states = dict(BackfillRequest.objects.values_list("applicant__username", "state"))
    assert states == {school.alice.username: State.APPROVED, school.olivia.username: State.EXPORTED}


def test_it_writes_a_zip_when_the_batch_is_split(school: School, tmp_path: Path) -> None:
    approved_request(school, records=3)
    call_command(
        "export_import_sheet",
        "--out",
        str(tmp_path / "sheet.xlsx"),
        "--by",
        "T2001",
        "--rows-per-file",
        "2",
        stdout=io.StringIO(),
    )
    with zipfile.ZipFile(tmp_path / "sheet.zip") as zf:
        assert len(zf.namelist()) == 2


def test_it_refuses_anyone_but_center_staff_and_empty_selections(
    school: School, tmp_path: Path
) -> None:
    approved_request(school)
    with pytest.raises(CommandError, match="二课中心"):
        call_command("export_import_sheet", "--out", str(tmp_path / "x.xlsx"), "--by", "T1001")
    with pytest.raises(CommandError, match="没有待导出"):
        call_command(
            "export_import_sheet",
            "--out",
            str(tmp_path / "x.xlsx"),
            "--by",
            "T2001",
            "--kind",
            "cadre",
        )
    assert not ExportBatch.objects.exists() and not (tmp_path / "x.xlsx").exists()
