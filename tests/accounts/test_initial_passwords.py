"""Initial passwords: issued per class by who may see it, one-time, changed at first login."""

from __future__ import annotations

from io import BytesIO

from django.contrib.auth.hashers import identify_hasher
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from accounts.models import User
from accounts.passwords import initial_passwords_issue
from tests.conftest import School


def _no_password(user: User) -> User:
    user.set_unusable_password()
    user.save()
    return user


def test_it_issues_only_missing_passwords_unless_reset(school: School) -> None:
    _no_password(school.alice)
    students = User.objects.filter(pk__in=[school.alice.pk, school.olivia.pk])
    issued = initial_passwords_issue(students=students, reset=False)
    assert [i.user for i in issued] == [school.alice]
    alice = User.objects.get(pk=school.alice.pk)
    assert alice.must_change_password and alice.check_password(issued[0].password)
    assert len(initial_passwords_issue(students=students, reset=True)) == 2


def test_it_downloads_a_sheet_for_the_counselors_class(client: Client, school: School) -> None:
    _no_password(school.alice)
    client.force_login(school.bob)
    response = client.post(reverse("accounts:initial_passwords"), {"klass": school.class_a1.pk})
    assert response.status_code == 200
    ws = load_workbook(BytesIO(response.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("学号", "姓名", "学院", "班级", "初始密码")
    assert rows[1][:4] == ("2024010001", "李爱丽", "智能制造学院", "机械2401")
    assert User.objects.get(pk=school.alice.pk).check_password(str(rows[1][4]))


def test_it_refuses_another_class_and_students(client: Client, school: School) -> None:
    client.force_login(school.oscar)
    response = client.post(reverse("accounts:initial_passwords"), {"klass": school.class_a1.pk})
    assert response.status_code == 200  # the form refuses a class outside the scope
    assert "选择一个有效的选项" in response.content.decode()
    client.force_login(school.alice)
    assert client.get(reverse("accounts:initial_passwords")).status_code == 403


def test_it_forces_a_change_then_upgrades_the_hash(client: Client, school: School) -> None:
    _no_password(school.alice)
    (issued,) = initial_passwords_issue(
        students=User.objects.filter(pk=school.alice.pk), reset=False
    )
    assert identify_hasher(User.objects.get(pk=school.alice.pk).password).algorithm == (
        "pbkdf2_initial"
    )
    client.force_login(User.objects.get(pk=school.alice.pk))
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"] == reverse("password_change")
    client.post(
        reverse("password_change"),
        {
            "old_password": issued.password,
            "new_password1": "Qiuyue-2026-xyz",
            "new_password2": "Qiuyue-2026-xyz",
        },
    )
    alice = User.objects.get(pk=school.alice.pk)
    assert not alice.must_change_password
    # Re-hashed with the preferred hasher, never the one-time one.
    assert identify_hasher(alice.password).algorithm != "pbkdf2_initial"
    assert client.get(reverse("home")).status_code == 200
