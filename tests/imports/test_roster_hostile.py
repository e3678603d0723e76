"""Hostile and broken files: each refused early with a clear Chinese message and bounded memory."""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from collections.abc import Callable
from typing import Any

import pytest

from bulu import xlsx as bulu_xlsx
from imports.annotate import AnnotateError, package, roster_annotate
from imports.roster import RosterReport, roster_check
from imports.roster.judging import _Judge
from tests.imports.conftest import fake_lookups, roster_xlsx, row, with_shared_strings

# Everything the check may allocate in Python; the bomb would need 400 MB.
MEMORY_BOUND = 20 * 1024 * 1024


def check(data: bytes) -> RosterReport:
    return roster_check(io.BytesIO(data), lookups=fake_lookups())


def file_code(report: RosterReport) -> str:
    assert not report.readable
    assert len(report.errors) == 1
    problem = report.errors[0]
    assert (problem.row, problem.column) == (None, None)
    assert problem.message
    return problem.code


@pytest.fixture
def no_parser(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Arms a trap: from then on, a file that reaches calamine or openpyxl fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the parser must not be reached")

    def arm() -> None:
        monkeypatch.setattr(bulu_xlsx.CalamineWorkbook, "from_filelike", refuse)
        monkeypatch.setattr(package, "_copy", refuse)

    return arm


@pytest.fixture(scope="module")
def zip_bomb() -> bytes:
    """A valid-looking xlsx whose sheet entry inflates to 400 MB (about 400 KB on disk)."""
    good = roster_xlsx([row()])
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(good)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as bomb,
    ):
        for info in source.infolist():
            if info.filename == "xl/worksheets/sheet1.xml":
                continue
            bomb.writestr(info.filename, source.read(info.filename))
        with bomb.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            chunk = b" " * (1 << 20)
            for _ in range(400):
                sheet.write(chunk)
    return out.getvalue()


def test_it_refuses_a_zip_bomb_before_parsing(
    zip_bomb: bytes, no_parser: Callable[[], None]
) -> None:
    assert len(zip_bomb) < 2 * 1024 * 1024
    no_parser()
    tracemalloc.start()
    try:
        report = check(zip_bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert file_code(report) == "unsafe_zip"
    assert "恶意" in report.errors[0].message or "超过" in report.errors[0].message
    assert peak < MEMORY_BOUND


def test_the_annotator_refuses_a_zip_bomb_too(
    zip_bomb: bytes, no_parser: Callable[[], None]
) -> None:
    no_parser()
    with pytest.raises(Exception) as caught:
        roster_annotate(zip_bomb, errors=[], warnings=[], columns={})
    assert getattr(caught.value, "extra", {}).get("code") == "unsafe_zip"


def _with_entity_bomb(part: str, *, external: bool = False, plain: bool = False) -> bytes:
    """The template with a DOCTYPE of nested entities (billion laughs) in one XML part
    (`plain`: the DOCTYPE only, no entity used, so the part stays well-formed)."""
    good = roster_xlsx([row()])
    if part == "xl/sharedStrings.xml":
        good = with_shared_strings(good)
    if external:
        doctype = '<!DOCTYPE x [<!ENTITY lol9 SYSTEM "file:///etc/passwd">]>'
    else:
        entities = '<!ENTITY lol0 "lol">' + "".join(
            f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
        )
        doctype = f"<!DOCTYPE x [{entities}]>"
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == part:
                text = data.decode()
                root = text.index("<", text.index("?>") + 2 if text.startswith("<?xml") else 0)
                text = '<?xml version="1.0" encoding="UTF-8"?>' + doctype + text[root:]
                if plain:
                    pass
                elif part.endswith("sheet1.xml"):
                    assert "<t>张三</t>" in text
                    text = text.replace("<t>张三</t>", "<t>&lol9;</t>")
                else:
                    text = text.replace("</dc:creator>", "&lol9;</dc:creator>", 1)
                data = text.encode()
            target.writestr(info, data)
    return out.getvalue()


@pytest.mark.parametrize("external", [False, True])
def test_it_refuses_entity_tricks_in_the_sheet(external: bool) -> None:
    data = _with_entity_bomb("xl/worksheets/sheet1.xml", external=external)
    tracemalloc.start()
    try:
        report = check(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert file_code(report) == "not_xlsx"
    assert "xlsx" in report.errors[0].message
    assert peak < MEMORY_BOUND


def test_an_entity_bomb_in_a_part_the_reader_never_looks_at_does_not_reach_the_copy() -> None:
    data = _with_entity_bomb("docProps/core.xml")
    report = check(data)  # calamine does not read the document properties
    assert report.readable
    out = roster_annotate(
        data, errors=report.errors, warnings=report.warnings, columns=report.columns
    )
    with zipfile.ZipFile(io.BytesIO(out)) as z:
        assert "docProps/core.xml" not in z.namelist()
        assert not any(b"<!ENTITY" in z.read(name) for name in z.namelist())


@pytest.mark.parametrize(
    "part", ["xl/workbook.xml", "xl/styles.xml", "xl/sharedStrings.xml", "xl/worksheets/sheet1.xml"]
)
def test_the_annotator_refuses_a_dtd_in_any_part_it_reads(part: str) -> None:
    data = _with_entity_bomb(part, plain=True)
    with pytest.raises(AnnotateError) as caught:
        roster_annotate(data, errors=[], warnings=[], columns={"学号": 1})
    assert "标注" in caught.value.message


@pytest.mark.parametrize(
    "data",
    [
        pytest.param("学号,姓名,开始时间\n2021010001,张三,2024/3/5\n".encode(), id="renamed-csv"),
        pytest.param(bytes.fromhex("D0CF11E0A1B11AE1") + b"\x00" * 2048, id="xls-ole2"),
        pytest.param(b"", id="empty"),
        pytest.param(b"PK\x03\x04 broken", id="broken-zip"),
    ],
)
def test_it_refuses_files_that_are_not_xlsx(data: bytes, no_parser: Callable[[], None]) -> None:
    no_parser()
    report = check(data)
    assert file_code(report) == "not_xlsx"
    assert ".xls" in report.errors[0].message and "另存为" in report.errors[0].message


def test_it_refuses_a_plain_zip_renamed_to_xlsx(no_parser: Callable[[], None]) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("readme.txt", "not a workbook")
    no_parser()
    assert file_code(check(out.getvalue())) == "not_xlsx"


def test_it_refuses_a_truncated_workbook() -> None:
    data = roster_xlsx([row()])
    assert file_code(check(data[: len(data) // 2])) == "not_xlsx"


def test_it_refuses_an_xlsx_whose_parts_are_garbage() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<<<not xml")
    assert file_code(check(out.getvalue())) == "not_xlsx"


def test_it_refuses_more_rows_than_the_cap_before_judging_any(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.BULU_ROSTER_MAX_ROWS = 50
    monkeypatch.setattr(_Judge, "row", lambda *a: pytest.fail("no row may be judged"))
    data = roster_xlsx([row(学号=f"20210{i:05d}") for i in range(51)])
    report = check(data)
    assert file_code(report) == "too_many_rows"
    assert "50" in report.errors[0].message and "拆分" in report.errors[0].message
    assert report.rows == []


def test_it_accepts_exactly_the_cap(settings: Any) -> None:
    settings.BULU_ROSTER_MAX_ROWS = 50
    report = check(roster_xlsx([row(学号=f"20210{i:05d}", 姓名="张三") for i in range(50)]))
    assert report.readable
    assert report.data_rows == 50


def test_it_counts_the_cap_in_data_rows_when_blank_rows_pad_the_sheet(settings: Any) -> None:
    settings.BULU_ROSTER_MAX_ROWS = 5
    blank = [None] * 11
    rows = [row(学号=f"20210{i:05d}") for i in range(6)]
    # Data spread over 12 rows: the early check lets it through, the exact count does not.
    report = check(roster_xlsx([r for pair in zip(rows, [blank] * 6, strict=True) for r in pair]))
    assert file_code(report) == "too_many_rows"


def test_it_refuses_a_file_larger_than_the_upload_cap(
    settings: Any, no_parser: Callable[[], None]
) -> None:
    settings.BULU_UPLOAD_MAX_BYTES = 1024
    data = roster_xlsx([row()])
    no_parser()
    report = check(data)
    assert file_code(report) == "file_too_large"
    assert "MB" in report.errors[0].message


def _padded(total: int) -> bytes:
    """A good roster plus entries of spaces (none over 1 MB, so no ratio check applies) that
    bring the declared uncompressed total to exactly `total` bytes."""
    good = roster_xlsx([row()])
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(good)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as padded,
    ):
        for info in source.infolist():
            padded.writestr(info.filename, source.read(info.filename))
        missing = total - sum(i.file_size for i in source.infolist())
        chunk = b" " * (1 << 20)
        n = 0
        while missing > 0:
            size = min(missing, len(chunk))
            padded.writestr(f"customXml/pad{n}.xml", chunk[:size])
            missing -= size
            n += 1
    return out.getvalue()


def test_the_uncompressed_cap_refuses_a_file_just_over_it() -> None:
    limit = bulu_xlsx.XLSX_MAX_UNCOMPRESSED_BYTES
    assert limit == 100 * 1024 * 1024  # docs/decisions.md explains the number
    over = check(_padded(limit + 1))
    assert file_code(over) == "unsafe_zip"
    assert over.errors[0].message.startswith("文件解压后超过 100 MB，已拒绝读取。")
    at = check(_padded(limit))
    assert at.readable and at.data_rows == 1
