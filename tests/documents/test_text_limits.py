"""Issue 18: a collective request with every text at its limit prints in a few pages."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from bulu import limits
from collective.models import CollectiveRequest
from tests.collective.conftest import Kit
from tests.conftest import School, decide
from tests.documents.conftest import club_request, pdf_bytes, render

pytestmark = pytest.mark.django_db


def test_texts_at_their_limits_print_in_a_few_pages(school: School, kit: Kit) -> None:
    full = "情况说明的文字，" * (limits.LONG_TEXT // 8)
    assert len(full) == limits.LONG_TEXT
    request = club_request(
        school,
        kit,
        case=CollectiveRequest.Case.UNFINISHED,
        credit_details=full,
        reason=full,
        cause=full,
        correct_procedure=full,
        prevention=full,
        summary=full,
    )
    decide(request, school.frank, opinion="意" * limits.OPINION)
    pages = {
        key: len(PdfReader(io.BytesIO(pdf_bytes(render(request, key)))).pages)
        for key in ("form", "explanation")
    }
    # 6 and 6 when written (the 320,000 characters of the issue gave 197 pages).
    assert pages["form"] <= 8 and pages["explanation"] <= 8, pages
