"""The one rule for text a spreadsheet could turn into a formula (bulu.xlsx), as every writer
uses it: the annotated roster, the export batch, the statistics and the password sheets."""

from __future__ import annotations

import io

import openpyxl
import pytest

from bulu.xlsx import xlsx_text_is_risky, xlsx_write_text


@pytest.mark.parametrize(
    "text",
    [
        "=1+1",
        "+1",
        "-1",
        "@SUM(A1)",
        "＝1",
        "＋1",
        "\t1",
        "\r1",
        "\n1",
        " =1",
        "\u3000=1",
        "\u00a0+1",
        "\u200b=1",
        "_x003D_1+1",  # Excel shows "=1+1"
        "_x0020_=1",
        "_x0009_x",
    ],
)
def test_it_finds_text_that_reads_like_a_formula(text: str) -> None:
    assert xlsx_text_is_risky(text)


@pytest.mark.parametrize(
    "text", ["", " ", "张三", "&#61;1", "&=1", "1=1", "_x005F_x003D_1", "_abc", " 张三", "a-1"]
)
def test_it_leaves_ordinary_text_alone(text: str) -> None:
    assert not xlsx_text_is_risky(text)


def test_an_escape_openpyxl_writes_as_it_is_gets_the_quote_prefix() -> None:
    workbook = openpyxl.Workbook()
    cell = workbook.active["A1"]
    xlsx_write_text(cell, '_x003D_HYPERLINK("http://x.invalid")')
    out = io.BytesIO()
    workbook.save(out)
    again = openpyxl.load_workbook(io.BytesIO(out.getvalue())).active["A1"]
    assert again.data_type == "s" and again.quotePrefix
