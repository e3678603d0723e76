"""Personal pages: each happy path beside its wrong person (404 unseen, 403 not allowed)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from bulu.workflow.models import Decision, State, Window
from credits.models import CreditRecord
from imports.models import CreditStandardItem, CreditType
from personal import services
from personal.models import Evidence, PersonalItem, PersonalRequest
from tests.conftest import School, decide
from tests.personal.conftest import PDF, PNG, Mirror, first_item


def edit_url(request: PersonalRequest) -> str:
    return "http://testserver" + reverse("personal:edit", args=[request.pk])


def page_url(request: PersonalRequest) -> str:
    return reverse("workflow:detail", args=[request.pk])


def as_user(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def item_post(mirror: Mirror, **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "content": "志愿服务",
        "start_date": "2025-10-01",
        "end_date": "",
        "category": mirror.category.pk,
        "subcategory": mirror.subcategory.pk,
        "level": mirror.level.pk,
        "awards": "优秀志愿者，先进个人",
        "credit_type": mirror.credit_type.pk,
        "claimed_value": "3",
    }
    data.update(overrides)
    return data


def test_it_sends_anonymous_users_to_login(client: Client, draft: PersonalRequest) -> None:
    for url in (
        reverse("workflow:mine"),
        page_url(draft),
        reverse("personal:edit", args=[draft.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_it_lets_a_student_create_a_draft(
    client: Client, school: School, mirror: Mirror, personal_window: Window
) -> None:
    response = as_user(client, school.alice).post(reverse("personal:create"), {"title": "春季补录"})
    request = PersonalRequest.objects.get(applicant=school.alice)
    assert response.status_code == 302
    assert response["Location"] == reverse("personal:edit", args=[request.pk])
    assert request.state == State.DRAFT and request.applicant_org == school.class_a1


def test_it_forbids_non_students_to_create(client: Client, school: School) -> None:
    assert (
        as_user(client, school.bob).post(reverse("personal:create"), {"title": "x"}).status_code
        == 403
    )


def test_it_adds_an_item_with_its_evidence_in_one_form(
    client: Client, school: School, mirror: Mirror, draft: PersonalRequest
) -> None:
    url = reverse("personal:item_add", args=[draft.pk])
    files = [
        SimpleUploadedFile("证书.png", PNG, content_type="image/png"),
        SimpleUploadedFile("成绩.pdf", PDF, content_type="application/pdf"),
    ]
    response = as_user(client, school.alice).post(
        url, {**item_post(mirror), "evidence_files": files}
    )
    assert response.status_code == 302
    item = draft.items.order_by("-pk").first()
    assert item is not None and item.awards == "优秀志愿者、先进个人"
    assert sorted(item.evidence.values_list("content_type", flat=True)) == [
        "application/pdf",
        "image/png",
    ]


def test_it_keeps_the_input_and_the_uploaded_files_when_the_form_has_errors(
    client: Client, school: School, mirror: Mirror, draft: PersonalRequest
) -> None:
    url = reverse("personal:item_add", args=[draft.pk])
    data = item_post(
        mirror,
        end_date="2025-09-01",
        subcategory=mirror.other_subcategory.pk,
        evidence_files=[SimpleUploadedFile("证书.png", PNG, content_type="image/png")],
    )
    response = as_user(client, school.alice).post(url, data)
    assert response.status_code == 200
    body = response.content.decode()
    assert "所选二级分类不属于该一级分类" in body
    assert "结束时间不能早于开始时间" in body
    assert "志愿服务" in body  # what the student typed is still there
    assert "证书.png" in body and 'name="staged"' in body  # and the upload is kept
    assert draft.items.count() == 1
    staged = Evidence.objects.get(request=draft, item__isnull=True)
    # Sent again with the fix and the staged file only: the file is attached, not lost.
    fixed = item_post(mirror, staged=[staged.pk])
    assert client.post(url, fixed).status_code == 302
    staged.refresh_from_db()
    assert staged.item is not None and staged.item.content == "志愿服务"


def test_it_refuses_a_future_date_and_a_claim_above_the_standard(
    client: Client, school: School, mirror: Mirror, draft: PersonalRequest
) -> None:
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    standard = CreditStandardItem.objects.create(
        subcategory=mirror.subcategory,
        number=3,
        name="校园歌手大赛",
        level=mirror.level,
        credit_type=mirror.credit_type,
        points=Decimal("2.00"),
    )
    c = as_user(client, school.alice)
    url = reverse("personal:item_add", args=[draft.pk])
    future = c.post(url, item_post(mirror, start_date=tomorrow)).content.decode()
    assert "晚于今天" in future
    over = c.post(url, item_post(mirror, standard_item=standard.pk, claimed_value="99999"))
    assert "超过所选认定标准" in over.content.decode() and "第 3 项" in over.content.decode()
    CreditType.objects.filter(pk=mirror.credit_type.pk).update(max_value=Decimal("10"))
    capped = c.post(url, item_post(mirror, claimed_value="10.01")).content.decode()
    assert "单条记录的上限 10.00" in capped
    assert draft.items.count() == 1
    assert c.post(url, item_post(mirror, claimed_value="10")).status_code == 302


def test_it_forbids_others_to_edit(client: Client, school: School, draft: PersonalRequest) -> None:
    edit = reverse("personal:edit", args=[draft.pk])
    assert as_user(client, school.bob).get(edit).status_code == 404  # a draft is the student's
    services.personal_request_submit(request=draft, actor=school.alice)
    assert as_user(client, school.bob).get(edit).status_code == 403  # sees it, may not edit
    assert as_user(client, school.olivia).get(edit).status_code == 404
    assert as_user(client, school.oscar).get(edit).status_code == 404


def test_it_edits_the_title_and_forbids_others(
    client: Client, school: School, draft: PersonalRequest
) -> None:
    edit = reverse("personal:edit", args=[draft.pk])
    assert as_user(client, school.alice).post(edit, {"title": "新标题"}).status_code == 302
    draft.refresh_from_db()
    assert draft.title == "新标题"
    services.personal_request_submit(request=draft, actor=school.alice)
    decide(draft, school.bob, Decision.RETURN, "补充")
    assert as_user(client, school.bob).post(edit, {"title": "改掉"}).status_code == 403
    assert as_user(client, school.olivia).post(edit, {"title": "改掉"}).status_code == 404
    draft.refresh_from_db()
    assert draft.title == "新标题"


def test_it_deletes_an_item_and_forbids_others(
    client: Client, school: School, mirror: Mirror, draft: PersonalRequest
) -> None:
    item = first_item(draft)
    url = reverse("personal:item_delete", args=[draft.pk, item.pk])
    assert as_user(client, school.olivia).post(url).status_code == 404
    services.personal_request_submit(request=draft, actor=school.alice)
    decide(draft, school.bob, Decision.RETURN, "补充")
    assert as_user(client, school.bob).post(url).status_code == 403
    assert PersonalItem.objects.filter(pk=item.pk).exists()
    assert as_user(client, school.alice).post(url).status_code == 302
    assert not PersonalItem.objects.filter(pk=item.pk).exists()


def test_it_deletes_evidence_and_forbids_others(
    client: Client, school: School, draft: PersonalRequest
) -> None:
    evidence = Evidence.objects.get(request=draft)
    url = reverse("personal:evidence_delete", args=[draft.pk, evidence.pk])
    assert as_user(client, school.olivia).post(url).status_code == 404
    services.personal_request_submit(request=draft, actor=school.alice)
    decide(draft, school.bob, Decision.RETURN, "换一张清晰的")
    assert as_user(client, school.bob).post(url).status_code == 403
    assert Evidence.objects.filter(pk=evidence.pk).exists()
    assert as_user(client, school.alice).post(url).status_code == 302
    assert not Evidence.objects.filter(pk=evidence.pk).exists()


def test_it_checks_evidence_by_content(
    client: Client, school: School, mirror: Mirror, draft: PersonalRequest
) -> None:
    item = first_item(draft)
    url = reverse("personal:item_edit", args=[draft.pk, item.pk])
    c = as_user(client, school.alice)
    fake = SimpleUploadedFile("证书.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    response = c.post(url, {**item_post(mirror, content=item.content), "evidence_files": [fake]})
    assert "不是 JPG、PNG 或 PDF" in response.content.decode()
    assert item.evidence.count() == 1
    real = SimpleUploadedFile("成绩.pdf", PDF, content_type="application/pdf")
    c.post(url, {**item_post(mirror, content=item.content), "evidence_files": [real]})
    assert item.evidence.count() == 2
    assert item.evidence.order_by("-pk").first().content_type == "application/pdf"  # type: ignore[union-attr]


def test_it_serves_evidence_only_to_who_may_see_it(
    client: Client, school: School, draft: PersonalRequest
) -> None:
    evidence = Evidence.objects.get(item__request=draft)
    url = reverse("personal:evidence_file", args=[evidence.pk])
    response = as_user(client, school.alice).get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(PNG[:8])  # type: ignore[attr-defined]
    assert as_user(client, school.olivia).get(url).status_code == 404
    assert as_user(client, school.oscar).get(url).status_code == 404


def test_it_submits_and_the_counselor_sees_it_in_the_todo(
    client: Client, school: School, draft: PersonalRequest
) -> None:
    response = as_user(client, school.alice).post(
        reverse("personal:submit", args=[draft.pk]), {"version": draft.version}
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.state == State.PENDING
    todo = as_user(client, school.bob).get(reverse("workflow:todo"))
    assert draft.title in todo.content.decode()
    assert (
        draft.title
        not in as_user(client, school.oscar).get(reverse("workflow:todo")).content.decode()
    )


def test_it_refuses_submission_by_someone_else(
    client: Client, school: School, draft: PersonalRequest
) -> None:
    url = reverse("personal:submit", args=[draft.pk])
    # Nobody but the student sees a draft.
    assert as_user(client, school.bob).post(url, {"version": draft.version}).status_code == 404
    services.personal_request_submit(request=draft, actor=school.alice)
    decide(draft, school.bob, Decision.RETURN, "补充")
    assert as_user(client, school.bob).post(url, {"version": draft.version}).status_code == 403
    assert as_user(client, school.olivia).post(url, {"version": draft.version}).status_code == 404
    draft.refresh_from_db()
    assert draft.state == State.RETURNED


def test_it_shows_a_clear_message_when_submitting_an_empty_request(
    client: Client, school: School, mirror: Mirror, personal_window: object
) -> None:
    request = services.personal_request_create(student=school.alice, title="空申请")
    response = as_user(client, school.alice).post(
        reverse("personal:submit", args=[request.pk]),
        {"version": request.version},
        follow=True,
        HTTP_REFERER=edit_url(request),
    )
    assert "请至少添加一项补录事项" in response.content.decode()


def test_it_lets_the_step_owner_decide_and_forbids_others(
    client: Client, school: School, draft: PersonalRequest
) -> None:
    services.personal_request_submit(request=draft, actor=school.alice)
    url = reverse("workflow:decide", args=[draft.pk])
    data = {"decision": "approve", "version": draft.version}
    # The student sees the request but may not decide; the other college cannot even see it.
    assert as_user(client, school.alice).post(url, data).status_code == 403
    assert as_user(client, school.oscar).post(url, data).status_code == 404
    response = as_user(client, school.bob).post(
        url, {"decision": "return", "opinion": "", "version": draft.version}
    )
    assert response.status_code == 400 and "请填写意见" in response.content.decode()
    client.post(url, {"decision": "approve", "opinion": "同意", "version": draft.version})
    draft.refresh_from_db()
    assert draft.step_index == 1


def test_it_lets_the_center_recognize_values_on_the_page(
    client: Client, school: School, draft: PersonalRequest
) -> None:
    services.personal_request_submit(request=draft, actor=school.alice)
    decide(draft, school.bob)
    decide(draft, school.carol)
    item = first_item(draft)
    page = as_user(client, school.dave).get(page_url(draft))
    assert f'name="value-{item.pk}" value="2.00"' in page.content.decode()
    # The branch secretary, one step back, sees no recognition inputs.
    assert (
        f'name="value-{item.pk}"'
        not in as_user(client, school.carol).get(page_url(draft)).content.decode()
    )
    as_user(client, school.dave).post(
        reverse("workflow:decide", args=[draft.pk]),
        {
            "decision": "approve",
            "version": draft.version,
            f"value-{item.pk}": "1.5",
            f"reason-{item.pk}": "按标准折算",
            f"delivery-{item.pk}": "batch",
        },
    )
    draft.refresh_from_db()
    assert draft.state == State.APPROVED
    assert CreditRecord.objects.get(request=draft).value == Decimal("1.50")


def test_it_records_the_online_application_per_item_until_approval(
    client: Client, school: School, draft: PersonalRequest
) -> None:
    item = first_item(draft)
    url = reverse("personal:item_online", args=[draft.pk, item.pk])
    services.personal_request_submit(request=draft, actor=school.alice)
    assert as_user(client, school.olivia).post(url, {"online_applied": "on"}).status_code == 404
    assert as_user(client, school.bob).post(url, {"online_applied": "on"}).status_code == 403
    as_user(client, school.alice).post(
        url, {"online_applied": "on", "online_applied_on": "2026-03-02"}
    )
    item.refresh_from_db()
    assert item.online_applied and str(item.online_applied_on) == "2026-03-02"
    for approver in (school.bob, school.carol, school.dave):
        decide(draft, approver)
    # Approved means frozen: the center's records match what was approved.
    response = as_user(client, school.alice).post(url, {}, follow=True)
    assert "不能再更改" in response.content.decode()
    item.refresh_from_db()
    assert item.online_applied
    assert 'id="online"' not in as_user(client, school.alice).get(page_url(draft)).content.decode()


@pytest.mark.parametrize("persona", ["alice", "bob", "carol", "dave", "erin"])
def test_it_shows_the_page_to_everyone_on_the_route(
    client: Client, school: School, draft: PersonalRequest, persona: str
) -> None:
    services.personal_request_submit(request=draft, actor=school.alice)
    response = as_user(client, getattr(school, persona)).get(page_url(draft))
    assert response.status_code == 200
    assert "审批记录" in response.content.decode()


def test_it_hides_the_page_from_people_off_the_route(
    client: Client, school: School, draft: PersonalRequest
) -> None:
    services.personal_request_submit(request=draft, actor=school.alice)
    for outsider in (school.oscar, school.olivia, school.frank, school.gina):
        assert as_user(client, outsider).get(page_url(draft)).status_code == 404


def test_it_keeps_what_the_center_typed_when_a_decision_is_refused(
    client: Client, school: School, draft: PersonalRequest
) -> None:
    services.personal_request_submit(request=draft, actor=school.alice)
    decide(draft, school.bob)
    decide(draft, school.carol)
    item = first_item(draft)
    response = as_user(client, school.dave).post(
        reverse("workflow:decide", args=[draft.pk]),
        {
            "decision": "approve",
            "version": draft.version,
            "opinion": "部分认定",
            f"value-{item.pk}": "1.25",
            f"reason-{item.pk}": "",
            f"delivery-{item.pk}": "in_platform",
        },
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert "请填写认定说明" in body
    assert 'value="1.25"' in body and "部分认定" in body
    assert '<option value="in_platform" selected>' in body
    draft.refresh_from_db()
    assert draft.state == State.PENDING and first_item(draft).recognized_value is None


def test_it_shows_stored_dates_in_the_edit_form(
    client: Client, school: School, draft: PersonalRequest
) -> None:
    item = first_item(draft)
    page = as_user(client, school.alice).get(
        reverse("personal:item_edit", args=[draft.pk, item.pk])
    )
    assert 'value="2025-11-05"' in page.content.decode()


def test_it_refuses_a_future_online_application_date(
    client: Client, school: School, draft: PersonalRequest
) -> None:
    item = first_item(draft)
    services.personal_item_mark_online(
        item=item, actor=school.alice, applied=False, applied_on=None
    )
    as_user(client, school.alice).post(
        reverse("personal:item_online", args=[draft.pk, item.pk]),
        {"online_applied": "on", "online_applied_on": "2099-01-01"},
    )
    item.refresh_from_db()
    assert not item.online_applied


def test_it_keeps_drafts_private_from_the_center(
    client: Client, school: School, draft: PersonalRequest
) -> None:
    assert as_user(client, school.dave).get(page_url(draft)).status_code == 404
    services.personal_request_submit(request=draft, actor=school.alice)
    assert client.get(page_url(draft)).status_code == 200
