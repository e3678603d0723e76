"""A resubmission that came straight back to the returner's step prints the kept signatures."""

from __future__ import annotations

import pytest

from bulu.workflow.models import Decision
from bulu.workflow.resume import OWN_STEP
from bulu.workflow.services import request_decide
from collective import services as collective_services
from tests.collective.conftest import Kit
from tests.conftest import School, decide
from tests.documents.conftest import club_request, pdf_bytes, pdf_text, render, squash

pytestmark = pytest.mark.django_db

FIRST_BOX = "二级学院团总支/指导老师审核意见："
CENTER_BOX = "二课中心审核意见："


def test_the_form_keeps_the_advisors_signature_after_a_return_to_the_secretary(
    school: School, kit: Kit
) -> None:
    request = club_request(school, kit)
    decide(request, school.frank, opinion="同意（范克）")
    request.refresh_from_db()
    request_decide(
        request=request,
        actor=school.carol,
        decision=Decision.RETURN,
        opinion="请补充说明",
        expected_version=request.version,
        resume=OWN_STEP,
    )
    collective_services.collective_request_submit(request=request, actor=school.gina)
    request.refresh_from_db()
    assert request.step_index == 1
    text = squash(pdf_text(pdf_bytes(render(request, "form"))))
    first, center = text.index(FIRST_BOX), text.index(CENTER_BOX)
    assert "审核通过：同意（范克）" in text[first:center]
    assert "陈卡" not in text[first:center]  # her return belongs to the earlier submission
    decide(request, school.carol, opinion="同意（陈卡）")
    text = squash(pdf_text(pdf_bytes(render(request, "form"))))
    first, center = text.index(FIRST_BOX), text.index(CENTER_BOX)
    assert "审核通过：同意（范克）" in text[first:center]
    assert "审核通过：同意（陈卡）" in text[first:center]
