"""Shared helpers for the imports tests: roster workbooks, lookups, registry students."""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.conf import settings as django_settings

from accounts.models import Membership, Organization, User
from imports.demo import CATEGORIES, CREDIT_TYPES, LEVELS, demo_seed_credit_settings
from imports.roster import COLUMNS, CreditKey, CreditSettings, RosterLookups
from imports.template_xlsx import build_template
from tests.factories import UserFactory

FIXTURE = (
    Path(django_settings.BASE_DIR).parent / "shared" / "fixtures" / ("growth_record_template.xlsx")
)

# A valid data row for the demo settings; tests change one field at a time.
GOOD: dict[str, Any] = {
    "学号": "2021010001",
    "姓名": "张三",
    "开始时间": datetime(2024, 3, 5),
    "结束时间": datetime(2024, 3, 6),
    "内容": "参加校园歌手大赛",
    "活动一级分类": "文体活动",
    "活动二级分类": "文体活动",
    "活动等级": "校级",
    "奖项内容": "一等奖",
    "学分类型": "文体活动学分",
    "发放学分值": 2,
}
REGISTRY = {"2021010001": "张三", "2021010002": "李四", "2021010003": "王五"}


def row(**changes: Any) -> list[Any]:
    """A data row in template column order: GOOD with `changes` (keys are header names)."""
    values = {**GOOD, **changes}
    return [values[c] for c in COLUMNS]


def template_workbook() -> openpyxl.Workbook:
    """The school's real template when the shared fixture is there, else ours."""
    if FIXTURE.is_file():
        return openpyxl.load_workbook(FIXTURE)
    return build_template()


def xlsx_bytes(workbook: openpyxl.Workbook) -> bytes:
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def roster_xlsx(rows: Iterable[list[Any]], *, start_row: int = 7) -> bytes:
    """The template with `rows` written from `start_row` (row 7: right under the notes row)."""
    workbook = template_workbook()
    ws = workbook.worksheets[0]
    for r, values in enumerate(rows, start=start_row):
        for c, value in enumerate(values, start=1):
            if value is None:
                continue
            cell = ws.cell(row=r, column=c, value=value)
            if isinstance(value, datetime):
                cell.number_format = "yyyy/m/d"
    return xlsx_bytes(workbook)


def plain_xlsx(rows: Iterable[list[Any]]) -> bytes:
    """A bare workbook with `rows` from A1 (for headers and layouts of our own)."""
    workbook = openpyxl.Workbook()
    ws = workbook.active
    for values in rows:
        ws.append(values)
    return xlsx_bytes(workbook)


def fake_lookups(
    registry: dict[str, str] | None = None,
    credited: dict[CreditKey, int] | None = None,
    *,
    maxima: dict[str, Decimal] | None = None,
    standard_pairs: Iterable[tuple[str, str]] = (),
) -> RosterLookups:
    """Lookups without a database: the demo settings (no limits, no standard unless given), a
    small registry."""
    names = REGISTRY if registry is None else registry
    given = credited or {}
    return RosterLookups(
        settings=CreditSettings.from_names(
            categories=CATEGORIES.items(),
            levels=LEVELS,
            credit_types=CREDIT_TYPES,
            maxima=maxima,
            standard_pairs=standard_pairs,
        ),
        student_names=lambda nos: {n: names[n] for n in nos if n in names},
        credited=lambda nos: {k: v for k, v in given.items() if k[0] in nos},
    )


@pytest.fixture(autouse=True)
def _media_root(settings: Any, tmp_path: Path) -> Iterable[None]:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    # Tests run with DEBUG off: no https redirect, and {% static %} without a manifest.
    settings.SECURE_SSL_REDIRECT = False
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    yield
    shutil.rmtree(tmp_path / "media", ignore_errors=True)


@pytest.fixture
def credit_settings(db: None) -> None:
    demo_seed_credit_settings()


StudentMaker = Callable[[str, str], User]


@pytest.fixture
def make_student(school: Any) -> StudentMaker:
    """Put a student into the registry (a user with a student role in class A1)."""
    klass: Organization = school.class_a1

    def make(student_no: str, name: str) -> User:
        user = UserFactory.create(username=student_no, name=name)
        Membership.objects.get_or_create(user=user, organization=klass, role="student")
        return user

    return make


@pytest.fixture
def registry(make_student: StudentMaker, credit_settings: None) -> dict[str, str]:
    for no, name in REGISTRY.items():
        make_student(no, name)
    return REGISTRY


def with_shared_strings(data: bytes) -> bytes:
    """`data` (openpyxl writes inline strings) with every inline string of the first sheet moved
    to a sharedStrings.xml part as it is (rich text too), as Excel and WPS write them."""
    strings: dict[bytes, int] = {}

    def shared(match: re.Match[bytes]) -> bytes:
        index = strings.setdefault(match[2], len(strings))
        return match[1] + b' t="s"><v>%d</v></c>' % index

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = re.sub(
                    rb'(<c r="[A-Z]+\d+"(?: s="\d+")?) t="inlineStr"><is>(.*?)</is></c>',
                    shared,
                    content,
                )
            elif info.filename == "xl/_rels/workbook.xml.rels":
                content = content.replace(
                    b"</Relationships>",
                    b'<Relationship Id="rIdSst" Target="sharedStrings.xml" Type="http://schemas'
                    b'.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"/>'
                    b"</Relationships>",
                )
            elif info.filename == "[Content_Types].xml":
                content = content.replace(
                    b"</Types>",
                    b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd'
                    b'.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
                )
            target.writestr(info, content)
        items = b"".join(b"<si>%s</si>" % item for item in strings)
        target.writestr(
            "xl/sharedStrings.xml",
            b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
            b' count="%d" uniqueCount="%d">%s</sst>' % (len(strings), len(strings), items),
        )
    return out.getvalue()
