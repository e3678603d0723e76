"""Regressions for what the review of the first version found (one test per finding)."""

from __future__ import annotations

from decimal import Decimal
from io import BytesIO
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from accounts.models import Membership, User
from accounts.passwords import initial_passwords_issue
from accounts.services import role_grant, role_revoke
from bulu.exceptions import AccessDenied, ApplicationError
from bulu.workflow.models import Decision, State, Window
from bulu.workflow.selectors import todo_for_user
from bulu.workflow.services import requests_decide_bulk
from personal import services
from personal.models import PersonalRequest
from tests.conftest import School, decide
from tests.personal.conftest import Mirror, draft, first_item, mirror, personal_window  # noqa: F401

Role = Membership.Role


def test_nobody_approves_their_own_request(
    school: School,
    mirror: Mirror,  # noqa: F811
    personal_window: Window,  # noqa: F811
) -> None:
    # alice's own counselor role on her class would otherwise let her pass step 1.
    role_grant(user=school.alice, organization=school.class_a1, role=Role.COUNSELOR)
    from tests.personal.conftest import make_draft

    request = make_draft(school.alice, mirror)
    services.personal_request_submit(request=request, actor=school.alice)
    assert not todo_for_user(user=school.alice).filter(pk=request.pk).exists()
    with pytest.raises(AccessDenied, match="不能审核自己"):
        decide(request, school.alice, Decision.APPROVE)
    assert request.log.count() == 1


def test_a_personal_request_needs_the_center_step(
    school: School,
    draft: PersonalRequest,  # noqa: F811
) -> None:
    role_revoke(user=school.dave, organization=school.center, role=Role.CENTER_STAFF)
    with pytest.raises(ApplicationError, match="二课中心尚未设置审核人员"):
        services.personal_request_submit(request=draft, actor=school.alice)
    assert PersonalRequest.objects.get(pk=draft.pk).state == State.DRAFT


def test_a_class_reset_never_touches_accounts_with_staff_roles(school: School) -> None:
    role_grant(user=school.alice, organization=school.center, role=Role.CENTER_STAFF)
    classmates = User.objects.filter(memberships__organization=school.class_a1)
    issued = initial_passwords_issue(students=classmates, reset=True)
    assert school.alice not in [i.user for i in issued]


def test_the_password_sheet_never_writes_a_formula(client: Client, school: School) -> None:
    school.alice.name = '=HYPERLINK("http://x","y")'
    school.alice.set_unusable_password()
    school.alice.save()
    client.force_login(school.bob)
    response = client.post(reverse("accounts:initial_passwords"), {"klass": school.class_a1.pk})
    cell = load_workbook(BytesIO(response.content)).active["B2"]
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")


def test_bulk_approval_reveals_nothing_about_other_requests(
    school: School,
    draft: PersonalRequest,  # noqa: F811
) -> None:
    services.personal_request_submit(request=draft, actor=school.alice)
    done, failed = requests_decide_bulk(
        actor=school.olivia, items=[(draft.pk, draft.version), (999999, 1)]
    )
    assert done == []
    assert {reason for _pk, reason in failed} == {"该申请不在你的待办中，可能已被他人处理。"}


@pytest.mark.parametrize("raw", ["NaN", "1e9", "-1", "0.001"])
def test_a_bad_recognized_value_is_a_message_not_a_500(
    client: Client,
    school: School,
    draft: PersonalRequest,  # noqa: F811
    raw: str,
) -> None:
    services.personal_request_submit(request=draft, actor=school.alice)
    decide(draft, school.bob)
    decide(draft, school.carol)
    item = first_item(draft)
    client.force_login(school.dave)
    response = client.post(
        reverse("workflow:decide", args=[draft.pk]),
        {
            "decision": "approve",
            "version": draft.version,
            f"value-{item.pk}": raw,
            f"reason-{item.pk}": "折算",
        },
    )
    assert response.status_code == 400
    assert f'value="{raw}"' in response.content.decode()  # shown again as typed
    assert "认定学分值" in response.content.decode()
    assert PersonalRequest.objects.get(pk=draft.pk).state == State.PENDING
    assert first_item(draft).recognized_value is None
    assert Decimal("2.00") == first_item(draft).claimed_value


def test_deleting_an_item_deletes_its_evidence_files(
    school: School,
    draft: PersonalRequest,  # noqa: F811
    django_capture_on_commit_callbacks: object,
) -> None:
    item = first_item(draft)
    path = Path(item.evidence.get().file.path)
    assert path.is_file()
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        services.personal_item_delete(item=item, actor=school.alice)
    assert not path.exists()


def test_the_roles_page_refuses_a_role_on_the_wrong_organization(
    client: Client, school: School
) -> None:
    admin = User.objects.create_superuser(username="root", password="x", name="管理员")
    client.force_login(admin)
    response = client.post(
        reverse("accounts:role_change_propose"),
        {
            "username": school.bob.username,
            "organization": school.center.pk,
            "role": Role.COUNSELOR,
            "action": "grant",
        },
    )
    assert response.status_code == 200 and "不能设在" in response.content.decode()
    # What the user typed stays in the form.
    assert school.bob.username in response.content.decode()
    assert not Membership.objects.filter(user=school.bob, organization=school.center).exists()


def test_the_admin_has_no_object_permission_editor(client: Client, school: School) -> None:
    client.force_login(school.dave)
    url = f"/admin/accounts/organization/{school.committee.pk}/permissions/"
    # No such page: the admin's catch-all sends the path to the (plain) change view.
    response = client.get(url)
    assert response.status_code == 302
    assert not response["Location"].endswith("/permissions/")
    final = client.get(url, follow=True)
    assert "权限" not in "".join(t.name for t in final.templates if t.name)
    assert not User.objects.get(pk=school.dave.pk).has_perm(
        "accounts.approve_as_committee", school.committee
    )


def test_an_invalid_filter_does_not_drop_the_others(
    client: Client,
    school: School,
    draft: PersonalRequest,  # noqa: F811
) -> None:
    services.personal_request_submit(request=draft, actor=school.alice)
    client.force_login(school.dave)
    response = client.get(reverse("workflow:overview"), {"state": "rejected", "waiting_days": "-1"})
    assert draft.title not in response.content.decode()
