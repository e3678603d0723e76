"""The list rows built in Python (bulu.workflow.templatetags.request_rows) escape what users typed
and show what the template showed."""

from __future__ import annotations

from datetime import UTC, datetime

from accounts.models import Organization, User
from bulu.workflow.models import BackfillRequest, RouteStep
from bulu.workflow.templatetags.request_rows import request_rows


def _row(**extra: object) -> BackfillRequest:
    return BackfillRequest(
        pk=41,
        kind="personal",
        title='<img src=x onerror="alert(1)">补录',
        state="returned",
        version=7,
        updated_at=datetime(2026, 3, 5, 1, 2, tzinfo=UTC),
        applicant=User(pk=3, name="<b>张三</b>", username="2024010001"),
        applicant_org=Organization(pk=5, name="计科&1班"),
        college=Organization(pk=6, name="信息工程学院"),
        current_step=RouteStep(pk=9, label="辅导员审核"),
        **extra,
    )


def test_a_row_escapes_what_users_typed_and_shows_every_cell() -> None:
    html = str(request_rows([_row()], selectable=True))
    assert "<img" not in html and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;补录" in html
    assert "&lt;b&gt;张三&lt;/b&gt;" in html and "2024010001" in html
    assert "信息工程学院 · 计科&amp;1班" in html
    assert 'class="badge state-returned warn">退回修改<' in html
    assert "辅导员审核" in html and "个人成长积分补录" in html
    assert 'value="41:7"' in html and 'href="/flow/requests/41/"' in html
    assert "03-05 09:02" in html  # local time (Asia/Shanghai)


def test_no_checkbox_unless_selectable_and_a_message_when_empty() -> None:
    assert 'name="selected"' not in str(request_rows([_row()]))
    assert "没有符合条件的申请。" in str(request_rows([]))
