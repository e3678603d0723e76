"""Every field and every decided opinion of each form, read back from the PDF's text."""

from __future__ import annotations

import subprocess
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import Membership
from bulu.workflow.registry import PrintForm
from collective import services as collective_services
from collective.models import CollectiveRequest
from documents import services
from documents.models import SealImage, SignatureImage
from imports.models import RosterEntry
from personal.models import PersonalRequest
from personal.services import Recognition
from tests.collective.conftest import Kit, attach, filled, roster_row
from tests.conftest import School, decide, deputy
from tests.documents.conftest import (
    approve_all,
    club_request,
    pdf_bytes,
    pdf_text,
    personal_submitted,
    png_rgba,
    render,
    squash,
)

pytestmark = pytest.mark.django_db

TODAY = "{d:%Y}年{d.month}月{d.day}日"


def today() -> str:
    return TODAY.format(d=timezone.localdate())


def text_of(request: object, key: str) -> str:
    return squash(pdf_text(pdf_bytes(render(request, key))))


def pdf_images(data: bytes) -> int:
    """How many images the PDF draws (poppler's pdfimages; a QR code is vector, not counted)."""
    out = subprocess.run(
        [
            "pdfimages",
            "-list",
            "-",
        ],
        input=data,
        capture_output=True,
        check=False,
    )
    if out.returncode != 0:  # older poppler cannot read stdin: go through a file
        import tempfile

        with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
            handle.write(data)
            handle.flush()
            out = subprocess.run(
                ["pdfimages", "-list", handle.name], capture_output=True, check=True
            )
    lines = out.stdout.decode().splitlines()[2:]
    return sum(1 for line in lines if line.split() and line.split()[2] == "image")


# --- 附件2, 附件3 and the roster, 附件5 ------------------------------------------------------


def test_the_letter_carries_the_regulations_sentence_and_the_advisors_signature(
    school: School, kit: Kit
) -> None:
    request = club_request(school, kit)
    decide(request, school.frank, opinion="情况属实，同意补录")
    text = text_of(request, "letter")
    assert "附件2" in text
    assert squash("关于2025年机器人协会科技文化节活动积分补录申请书") in text
    assert (
        squash(
            "四川工业科技学院机器人协会申请关于“2025年机器人协会科技文化节”活动的积分补录，"
            "该活动符合“四川工业科技学院第二课堂成绩认定标准（2023 年版）”"
            "中文体活动类别第 3 项要求，"
            "申请每人 0.5 分，10 人参与活动，共计 5 分。"
        )
        in text
    )
    assert "特此申请，望批准！" in text
    assert "指导老师意见：" in text
    assert "审核通过：情况属实，同意补录" in text
    assert "范克" in text and today() in text
    # The letter names the advisor's own step only: the branch has not decided (and is not on it).
    assert "陈卡" not in text


def test_the_form_has_every_field_and_each_decided_box_in_its_place(
    school: School, kit: Kit
) -> None:
    request = club_request(school, kit)
    approve_all(request, school.frank, school.carol, school.dave, school.erin)
    text = text_of(request, "form")
    for field in ("申请组织机器人协会", "联系电话13808380001", "活动时间2025-10-18"):
        assert field in text
    assert "活动地点学生活动中心" in text
    assert "活动名称2025年机器人协会科技文化节" in text
    # One generated line per credit type, then what the applicant added.
    assert "积分明细文体活动学分每人0.5分，10人参与活动，共计5分每人0.5文体活动学分，共10人" in text
    assert "申请理由活动结束后到梦空间一直未发布该活动，积分未发放。" in text
    first = text.index("二级学院团总支/指导老师审核意见：")
    center = text.index("二课中心审核意见：")
    committee = text.index("校团委审核意见：")
    assert first < center < committee
    # A college club: the advisor and the branch both sign the first box.
    assert "审核通过：同意（范克）" in text[first:center]
    assert "指导老师（机器人协会）" in text[first:center]
    assert "审核通过：同意（陈卡）" in text[first:center]
    assert "团总支（智能制造学院团总支）" in text[first:center]
    assert "审核通过：同意（杜伟）" in text[center:committee]
    assert "审核通过：同意（任怡）" in text[committee:]
    assert text.count(today()) >= 4


def test_the_roster_follows_the_form_as_table_pages_with_totals(school: School, kit: Kit) -> None:
    request = club_request(school, kit)
    text = text_of(request, "form")
    roster = text[text.index("人员名单（附件4）") :]
    assert "名单第1/1页" in roster
    assert "共10人、10行" in roster and "文体活动学分合计5" in roster
    for student in kit.students:
        assert student.username in roster and student.name in roster
    assert roster.count("参加机器人协会科技文化节") == 10
    assert "全表共10行；计入积分10行、10人，文体活动学分合计5。" in roster


def test_a_long_roster_is_split_into_numbered_pages(school: School, kit: Kit) -> None:
    from accounts.models import Membership
    from accounts.services import role_grant
    from collective.documents import ROSTER_LINES_PER_PAGE
    from tests.factories import UserFactory

    people = list(kit.students)
    for n in range(ROSTER_LINES_PER_PAGE):
        user = UserFactory.create(username=f"2024011{n:03d}", name=f"同学{n:02d}")
        role_grant(user=user, organization=school.class_a1, role=Membership.Role.STUDENT)
        people.append(user)
    request = collective_services.collective_request_create(actor=school.gina, unit=school.club)
    collective_services.collective_request_update(
        request=request, actor=school.gina, data=filled(kit, n=len(people))
    )
    attach(request, school.gina, [roster_row(u, kit) for u in people])
    collective_services.collective_request_submit(request=request, actor=school.gina)
    doc = render(request, "form")
    text = squash(pdf_text(pdf_bytes(doc)))
    n = len(people)
    assert "名单第1/2页" in text and "名单第2/2页" in text
    assert f"本页{ROSTER_LINES_PER_PAGE}行" in text and "本页10行" in text
    assert f"全表共{n}行；计入积分{n}行、{n}人，文体活动学分合计{n // 2}。" in text
    assert doc.pages == 3  # the form, then two roster pages
    # Each row is one line: 序号 学号 姓名 时间 内容 分类 等级 学分类型 学分值.
    last = ROSTER_LINES_PER_PAGE - 1
    assert (
        f"{n}2024011{last:03d}同学{last}2025-10-18参加机器人协会科技文化节文体活动校级文体活动学分0.5"
        in text
    )


def test_long_values_wrap_inside_their_column_and_take_more_lines() -> None:
    from collective.documents import (
        ROSTER_COLUMNS,
        ROSTER_LINES_PER_PAGE,
        cells,
        roster_pages,
        roster_text,
        wrap,
    )

    assert cells("学生a1") == 6
    assert wrap("参加科技文化节志愿讲解", 8) == ["参加科技", "文化节志", "愿讲解"]
    row = {
        "seq": 1,
        "student_no": "2024010001",
        "name": "李爱丽",
        "period": "2025-10-18\n至2025-10-19",
        "content": "参加" + "科技文化节志愿讲解" * 4,
        "category": "文体活动",
        "level": "校级",
        "credit_type": "文体活动学分",
        "value": "0.5",
    }
    text = roster_text(row)
    lines = text.split("\n")
    assert len(lines) == 3  # 38 CJK characters in a 27-cell column
    width = sum(w for *_x, w in ROSTER_COLUMNS) + 2 * len(ROSTER_COLUMNS)
    assert all(cells(line) == width for line in lines)  # every line fills the same columns
    assert "至2025-10-19" in lines[1] and "李爱丽" in lines[0] and "李爱丽" not in lines[1]
    pages = roster_pages([{"text": text}] * 40)
    per_page = ROSTER_LINES_PER_PAGE // 3
    assert [len(p) for p in pages] == [per_page, per_page, 40 - 2 * per_page]


def test_an_excluded_row_is_marked_and_left_out_of_the_totals(school: School, kit: Kit) -> None:
    request = club_request(school, kit)
    entry = RosterEntry.objects.filter(upload_id=request.roster_id).order_by("excel_row").first()
    assert entry is not None
    RosterEntry.objects.filter(pk=entry.pk).update(excluded=True, excluded_reason="已在别处发放")
    text = text_of(request, "form")
    # The mark wraps inside the 内容 column, onto the row's second line.
    assert "科技文化节【" in text and "不予发放：已在别处发放】" in text
    assert "共9人、9行" in text and "文体活动学分合计4.5" in text
    assert "全表共10行；计入积分9行、9人，文体活动学分合计4.5。" in text


def test_the_explanation_has_its_title_four_sections_and_the_advisors_opinion(
    school: School, kit: Kit
) -> None:
    request = club_request(
        school,
        kit,
        case=CollectiveRequest.Case.UNFINISHED,
        cause="发布者在活动结束后未点击完结",
        correct_procedure="活动结束后三日内完结并发放积分",
        prevention="由指导老师每周核对一次",
        summary="今后按流程办理",
    )
    keys = [f.key for f in services.request_forms(request=request)]
    assert keys == ["letter", "form", "explanation"]
    decide(request, school.frank, opinion="已核实，情况属实")
    text = text_of(request, "explanation")
    assert "附件5" in text
    assert "关于2025年机器人协会科技文化节活动的情况说明" in text
    for heading, body in (
        ("一、原因分析", "发布者在活动结束后未点击完结"),
        ("二、正常的流程/方法", "活动结束后三日内完结并发放积分"),
        ("三、今后如何避免", "由指导老师每周核对一次"),
        ("四、总结", "今后按流程办理"),
    ):
        assert heading + body in text
    assert "指导老师意见：" in text and "审核通过：已核实，情况属实" in text and "范克" in text


def test_case_one_has_no_explanation(school: School, kit: Kit) -> None:
    request = club_request(school, kit)
    assert [f.key for f in services.request_forms(request=request)] == ["letter", "form"]


def test_a_secretarys_own_filing_leaves_the_first_box_to_the_other_secretary(
    school: School, kit: Kit
) -> None:
    second = deputy(school.branch_a, Membership.Role.SECRETARY, "T1012", "石副书")
    request = collective_services.collective_request_create(
        actor=school.carol, unit=school.branch_a
    )
    collective_services.collective_request_update(
        request=request, actor=school.carol, data=filled(kit)
    )
    attach(request, school.carol, [roster_row(u, kit) for u in kit.students])
    collective_services.collective_request_submit(request=request, actor=school.carol)
    letter = text_of(request, "letter")
    assert "智能制造学院团总支学生会申请关于" in letter
    assert "团总支书记意见：" in letter
    # A filing signs nothing (issue 18.2): the box waits for the other secretary.
    assert "提交申请时签署" not in letter and "石副书" not in letter
    decide(request, second)
    form = text_of(request, "form")
    first, center = (
        form.index("二级学院团总支/指导老师审核意见："),
        form.index("二课中心审核意见："),
    )
    assert "石副书" in form[first:center] and "陈卡" not in form[first:center]
    assert "杜伟" not in form  # the center has not decided: its box is empty


def test_undecided_boxes_stay_empty_and_a_return_shows_its_reason(school: School, kit: Kit) -> None:
    request = club_request(school, kit)
    text = text_of(request, "form")
    assert "审核通过" not in text and "范克" not in text
    assert text.count("年月日") == 4  # advisor, branch, center, committee: all blank
    decide(request, school.frank, decision="return", opinion="名单缺少两人，请补充")
    text = text_of(request, "form")
    assert "退回修改：名单缺少两人，请补充" in text and "范克" in text


# --- 个人积分补录申请单 --------------------------------------------------------------------------


def test_the_personal_form_has_every_field_item_and_box(
    school: School, draft: PersonalRequest
) -> None:
    school.alice.phone = "13912345678"
    school.alice.save(update_fields=["phone"])
    request = personal_submitted(school, draft)
    decide(request, school.bob, opinion="证书属实")
    decide(request, school.carol, opinion="同意")
    item = request.items.get()
    before = text_of(request, "form")
    assert "第二课堂个人积分补录申请单" in before
    for field in (
        "学号2024010001",
        "姓名李爱丽",
        "学院智能制造学院",
        "班级机械2401",
        "联系电话13912345678",
    ):
        assert field in before
    assert "活动1" in before and "2025-11-05" in before and "文体活动" in before
    assert "校级" in before and "一等奖" in before and "文体活动学分" in before
    counselor = before.index("辅导员审核意见（签字）：")
    branch = before.index("二级学院团总支审核意见（盖章）：")
    center = before.index("二课中心认定意见：")
    assert "审核通过：证书属实" in before[counselor:branch] and "王博" in before[counselor:branch]
    assert "审核通过：同意" in before[branch:center] and "陈卡" in before[branch:center]
    assert "杜伟" not in before
    # The recognized column is empty until the center recognizes.
    assert "22文体活动学分" not in before and "2文体活动学分2" not in before
    decide(
        request,
        school.dave,
        opinion="认定 1.5 分",
        payload={item.pk: Recognition(Decimal("1.5"), "按校级二等奖认定", "batch")},
    )
    after = text_of(request, "form")
    assert "文体活动学分21.5" in after  # claimed 2, recognized 1.5
    assert "第1项认定说明：按校级二等奖认定" in after
    assert "审核通过：认定1.5分" in after[after.index("二课中心认定意见：") :]


# --- signatures and seals ------------------------------------------------------------------


def test_a_decision_shows_the_signature_and_seal_valid_when_it_was_made(
    school: School, kit: Kit
) -> None:
    SignatureImage.objects.create(
        user=school.dave, png=png_rgba(), width=64, height=32, created_at=timezone.now()
    )
    SealImage.objects.create(
        organization=school.center,
        png=png_rgba(80, 80, (200, 0, 0, 255)),
        width=80,
        height=80,
        created_at=timezone.now(),
    )
    request = club_request(school, kit)
    approve_all(request, school.frank, school.carol)
    assert pdf_images(pdf_bytes(render(request, "form"))) == 0
    decide(request, school.dave)
    data = pdf_bytes(render(request, "form"))
    assert pdf_images(data) == 2  # dave's signature and the center's seal
    assert "杜伟" not in squash(pdf_text(data))  # an image instead of the name
    # A signature uploaded after a decision is never put under it.
    SignatureImage.objects.create(
        user=school.frank, png=png_rgba(), width=64, height=32, created_at=timezone.now()
    )
    data = pdf_bytes(render(request, "form"))
    assert pdf_images(data) == 2 and "范克" in squash(pdf_text(data))


def test_fonts_are_embedded_and_subsetted(school: School, kit: Kit) -> None:
    import tempfile

    request = club_request(school, kit)
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(pdf_bytes(render(request, "letter")))
        handle.flush()
        out = subprocess.run(
            ["pdffonts", handle.name], capture_output=True, check=True, text=True
        ).stdout
    rows = [line.split() for line in out.splitlines()[2:] if line.strip()]
    assert rows, out
    # columns from the end: emb sub uni object ID
    assert all(r[-5] == "yes" and r[-4] == "yes" for r in rows), out
    assert any("UMing" in r[0] for r in rows), out


# --- the cadre form's contract -------------------------------------------------------------


def test_the_cadre_template_renders_its_documented_context(school: School, kit: Kit) -> None:
    from datetime import date

    request = club_request(school, kit)
    decide(request, school.frank, opinion="任职属实")

    def context(req: object, shared: Any) -> dict[str, object]:
        boxes = shared["boxes_by_role"]
        assert isinstance(boxes, dict)
        return {
            "unit_name": "机器人协会",
            "college_name": "智能制造学院",
            "contact_phone": "13800000001",
            "submitted": date(2025, 11, 3),
            "entries": [
                {
                    "student_no": "2024010002",
                    "name": "高娜",
                    "position": "会长",
                    "term_start": date(2024, 9, 1),
                    "term_end": date(2025, 8, 31),
                    "category": "工作履历",
                    "credit_type": "工作成长积分",
                    "value": "2",
                }
            ],
            "confirm_title": "指导老师确认意见（签字）：",
            "confirm_boxes": boxes.get("advisor", []),
            "has_branch_step": True,
            "branch_boxes": boxes.get("secretary", []),
            "center_boxes": boxes.get("center", []),
        }

    form = PrintForm("cadre", "学生干部积分补录申请单", "pdf/cadre.html", context)
    built = services.document_html(request=request, form=form)
    from documents.rendering import render as render_pdf

    text = squash(pdf_text(render_pdf(built.html).pdf))
    assert "学生干部积分补录申请单" in text
    assert "单位机器人协会" in text and "学院智能制造学院" in text
    assert "联系电话13800000001" in text and "2025年11月3日" in text
    assert "2024010002高娜会长2024-09-012025-08-31工作履历工作成长积分2" in text
    assert "指导老师确认意见（签字）：审核通过：任职属实" in text
    assert "二级学院团总支审核意见（盖章）：" in text and "二课中心认定意见：" in text


def test_the_download_links_list_the_forms_once_submitted(school: School, kit: Kit) -> None:
    from documents.selectors import document_links

    request = club_request(school, kit)
    links = document_links(request, school.gina)
    assert [label for label, _url in links] == [
        "下载申请书（PDF）",
        "下载申请单及人员名单（PDF）",
    ]
    draft = collective_services.collective_request_create(actor=school.gina, unit=school.club)
    assert document_links(draft, school.gina) == []
