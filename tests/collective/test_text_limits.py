"""Issue 18: the collective request's texts have limits, on the form and in the services.

320,000 characters in 原因分析 were once saved (and took the worker 107 s and 197 PDF pages).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from bulu import limits
from bulu.exceptions import ApplicationError
from collective import services
from collective.forms import TierForm
from collective.models import CollectiveRequest, LetterTier
from imports.models import RosterEntry
from tests.collective.conftest import Kit, filled, ready_request
from tests.conftest import School

HUGE = "原" * 320_000


def edit_post(kit: Kit, **changes: str) -> dict[str, str]:
    data = filled(kit, case=CollectiveRequest.Case.UNFINISHED)
    post = {
        "case": data.case,
        "activity_name": "改过的活动名称",
        "standard_item": str(kit.standard.pk),
        "points_per_person": str(data.points_per_person),
        "declared_participants": str(data.declared_participants),
        "declared_total": str(data.declared_total),
        "contact_phone": data.contact_phone,
        "activity_start": f"{data.activity_start:%Y-%m-%d}",
        "activity_end": f"{data.activity_end:%Y-%m-%d}",
        "location": data.location,
        "credit_details": data.credit_details,
        "reason": data.reason,
        "cause": "发布者未点击完结",
        "correct_procedure": "活动结束三日内完结",
        "prevention": "专人负责",
        "summary": "活动顺利",
        "lines-TOTAL_FORMS": "0",
        "lines-INITIAL_FORMS": "0",
        "tiers-TOTAL_FORMS": "0",
        "tiers-INITIAL_FORMS": "0",
    }
    post.update(changes)
    return post


def test_the_form_refuses_320000_characters_of_cause_analysis_and_saves_nothing(
    client: Client, school: School, kit: Kit
) -> None:
    request = ready_request(school.gina, school.club, kit)
    before = CollectiveRequest.objects.values().get(pk=request.pk)
    client.force_login(school.gina)
    url = reverse("collective:edit", args=[request.pk])
    response = client.post(url, edit_post(kit, cause=HUGE))
    assert response.status_code == 400
    page = response.content.decode()
    # Next to the field, naming it, in Chinese.
    assert '<small class="error">原因分析最多 2000 字（现在 320000 字）。</small>' in page
    assert CollectiveRequest.objects.values().get(pk=request.pk) == before  # nothing saved
    # The page tells the browser every limit.
    form = client.get(url).content.decode()
    assert form.count(f'maxlength="{limits.LONG_TEXT}"') == 6  # the six multi-line texts
    assert "最多 2000 字。" in form


def test_the_form_accepts_texts_exactly_at_their_limits(
    client: Client, school: School, kit: Kit
) -> None:
    request = ready_request(school.gina, school.club, kit)
    client.force_login(school.gina)
    full = "字" * limits.LONG_TEXT
    texts = ("credit_details", "reason", "cause", "correct_procedure", "prevention", "summary")
    response = client.post(
        reverse("collective:edit", args=[request.pk]),
        edit_post(kit, activity_name="名" * limits.NAME, **dict.fromkeys(texts, full)),
    )
    assert response.status_code == 302
    request.refresh_from_db()
    assert all(getattr(request, name) == full for name in texts)
    # The title is made from the name and fits its column (never refused for its length).
    assert request.title == "名" * limits.TITLE


@pytest.mark.parametrize(
    ("field", "label", "limit"),
    [
        ("cause", "原因分析", limits.LONG_TEXT),
        ("summary", "活动总结", limits.LONG_TEXT),
        ("reason", "申请理由", limits.LONG_TEXT),
        ("activity_name", "活动名称", limits.NAME),
        ("location", "活动地点", limits.NAME),
        ("contact_phone", "联系电话", limits.PHONE),
    ],
)
def test_the_service_refuses_an_over_long_text_without_a_form(
    school: School, kit: Kit, field: str, label: str, limit: int
) -> None:
    request = ready_request(school.gina, school.club, kit)
    before = CollectiveRequest.objects.values().get(pk=request.pk)
    data = filled(kit, case=CollectiveRequest.Case.UNFINISHED, cause="改过")
    setattr(data, field, "长" * (limit + 1))
    refusal = f"^{label}最多 {limit} 字（现在 {limit + 1} 字）。$"
    with pytest.raises(ApplicationError, match=refusal):
        services.collective_request_update(request=request, actor=school.gina, data=data)
    assert CollectiveRequest.objects.values().get(pk=request.pk) == before


def test_the_service_refuses_320000_characters_and_accepts_the_limit(
    school: School, kit: Kit
) -> None:
    request = ready_request(school.gina, school.club, kit)
    with pytest.raises(ApplicationError, match="原因分析最多 2000 字（现在 320000 字）"):
        services.collective_request_update(
            request=request,
            actor=school.gina,
            data=filled(kit, case=CollectiveRequest.Case.UNFINISHED, cause=HUGE),
        )
    assert CollectiveRequest.objects.get(pk=request.pk).cause == ""
    at_limit = "原" * limits.LONG_TEXT
    services.collective_request_update(
        request=request,
        actor=school.gina,
        data=filled(kit, case=CollectiveRequest.Case.UNFINISHED, cause=at_limit),
    )
    assert CollectiveRequest.objects.get(pk=request.pk).cause == at_limit


def test_an_award_tier_name_has_its_limit_on_the_form_and_in_the_service(
    school: School, kit: Kit
) -> None:
    too_long = "奖" * (limits.AWARD_TIER + 1)
    form = TierForm({"award": too_long, "points": "1"})
    assert not form.is_valid()
    assert form.errors["award"] == ["奖项档次最多 100 字（现在 101 字）。"]
    request = ready_request(school.gina, school.club, kit)
    tiers = [services.TierData(award=too_long, points=Decimal("1"))]
    with pytest.raises(ApplicationError, match="奖项档次最多 100 字（现在 101 字）"):
        services.collective_request_update(
            request=request, actor=school.gina, data=filled(kit, tiers=tiers)
        )
    assert not LetterTier.objects.filter(request=request).exists()
    fits = [services.TierData(award="奖" * limits.AWARD_TIER, points=Decimal("1"))]
    services.collective_request_update(
        request=request, actor=school.gina, data=filled(kit, tiers=fits)
    )
    assert LetterTier.objects.get(request=request).award == "奖" * limits.AWARD_TIER


def test_a_row_left_out_needs_a_reason_within_its_limit(school: School, kit: Kit) -> None:
    """The center's 不予发放 reason was cut at 200 characters silently: now it is refused."""
    request = ready_request(school.gina, school.club, kit)
    assert request.roster is not None
    entry = RosterEntry.objects.filter(upload=request.roster).order_by("excel_row").first()
    assert entry is not None
    RosterEntry.objects.filter(pk=entry.pk).update(has_flags=True)
    with pytest.raises(ApplicationError, match=r"不予发放的原因最多 200 字（现在 201 字）"):
        services.collective_review_rows(request, school.dave, "approve", {entry.pk: "因" * 201})
    entry.refresh_from_db()
    assert not entry.excluded and entry.excluded_reason == ""
    services.collective_review_rows(request, school.dave, "approve", {entry.pk: "因" * 200})
    entry.refresh_from_db()
    assert entry.excluded and entry.excluded_reason == "因" * 200
