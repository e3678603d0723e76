"""The cadre kind's printable form, wired through KindHooks.forms, read back from the PDF."""

from __future__ import annotations

import pytest

from accounts.models import Membership
from accounts.services import role_grant
from cadre import services
from documents.selectors import document_links
from tests.cadre.conftest import Cadre, served
from tests.conftest import School, decide, deputy
from tests.documents.conftest import pdf_bytes, pdf_text, render, squash

pytestmark = pytest.mark.django_db


def test_a_class_list_prints_its_entries_and_the_signatures_given(
    school: School, cadre: Cadre
) -> None:
    school.bob.phone = "13800000009"
    school.bob.save()
    a, b = cadre.classmates[:2]
    # The counselor who files the list signs no step of it: the class's other counselor does.
    second = deputy(school.class_a1, Membership.Role.COUNSELOR, "T1012", "副辅导员")
    class_list = services.cadre_list_create(actor=school.bob, unit=school.class_a1)
    services.cadre_list_replace(
        request=class_list, actor=school.bob, rows=[served(a, "班长"), served(b, "团支书", row=3)]
    )
    services.cadre_request_submit(request=class_list, actor=school.bob)
    decide(class_list, second, opinion="任职属实")
    decide(class_list, school.carol, opinion="情况属实")
    labels = [label for label, _url in document_links(class_list, school.bob)]
    assert labels == ["下载学生干部积分补录申请单（PDF）"]
    text = squash(pdf_text(pdf_bytes(render(class_list, "form"))))
    assert "学生干部积分补录申请单" in text
    assert "单位机械2401" in text and "学院智能制造学院" in text and "13800000009" in text
    assert f"{a.username}{a.name}班长2024-09-012025-09-01工作履历工作成长积分1" in text
    assert f"{b.username}{b.name}团支书" in text
    # The counselor filed the list: the class's other counselor signed; the branch decided; the
    # center has not yet (its box stays empty).
    assert "辅导员确认意见（签字）：审核通过：任职属实" in text
    assert "二级学院团总支审核意见（盖章）：审核通过：情况属实" in text
    center = text[text.index("二课中心认定意见：") :]
    assert "审核通过" not in center and "同意" not in center


def test_a_college_student_unions_list_has_no_second_branch_box(
    school: School, cadre: Cadre
) -> None:
    role_grant(user=school.gina, organization=school.branch_a, role=Membership.Role.APPLICANT)
    union_list = services.cadre_list_create(actor=school.gina, unit=school.branch_a)
    services.cadre_list_replace(
        request=union_list, actor=school.gina, rows=[served(cadre.classmates[0], "部长")]
    )
    services.cadre_request_submit(request=union_list, actor=school.gina)
    text = squash(pdf_text(pdf_bytes(render(union_list, "form"))))
    assert "单位智能制造学院学生会" in text
    assert "团总支确认意见（盖章）：" in text
    assert "二级学院团总支审核意见" not in text
