"""Approved requests with credit records, made directly (the approval path is tested elsewhere)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import User
from bulu.workflow.models import Kind, State
from bulu.workflow.tallies import tallies_rebuild
from credits.models import CreditRecord
from imports.models import CreditType
from personal.models import PersonalRequest
from tests.conftest import School


def approved_request(
    school: School,
    *,
    applicant: User | None = None,
    records: int = 1,
    delivery: str = CreditRecord.Delivery.BATCH,
    credit_type: str = "文体活动学分",
    value: Decimal | None = Decimal("0.5"),
    decided_days_ago: int = 1,
    **record: Any,
) -> PersonalRequest:
    applicant = applicant or school.alice
    now = timezone.now()
    req = PersonalRequest.objects.create(
        kind=Kind.PERSONAL,
        title=f"个人成长积分补录（{applicant.name}）",
        applicant=applicant,
        applicant_org=school.class_a1,
        college=school.college_a,
        state=State.APPROVED,
        submission=1,
        submitted_at=now - timedelta(days=decided_days_ago + 3),
        decided_at=now - timedelta(days=decided_days_ago),
    )
    CreditRecord.objects.bulk_create(
        [
            CreditRecord(
                request=req,
                source_key=f"item:{i}",
                student=applicant,
                student_no=record.get("student_no", applicant.username),
                student_name=record.get("student_name", applicant.name),
                # Each request its own day unless told: equal ones would be possible duplicates.
                start_date=record.get("start_date", date(2025, 11, 5) - timedelta(days=req.pk)),
                end_date=record.get("end_date"),
                content=record.get("content", f"校园歌手大赛 {i}"),
                category=record.get("category", "文体活动"),
                subcategory=record.get("subcategory", "文体活动"),
                level=record.get("level", "校级"),
                award=record.get("award", ""),
                credit_type=credit_type,
                value=value,
                delivery=delivery,
            )
            for i in range(records)
        ]
    )
    tallies_rebuild()
    return req


@pytest.fixture
def credit_types(db: None) -> None:
    for name in ("文体活动学分", "志愿者工时"):
        CreditType.objects.get_or_create(name=name)
