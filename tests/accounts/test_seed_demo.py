"""The demo seed builds a believable school with working persona logins, idempotently."""

from __future__ import annotations

import re
from collections import Counter
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from guardian.shortcuts import get_perms

from accounts.demo import (
    CLASSES,
    COLLEGE_NAMES,
    DEMO_PASSWORD,
    PERSONAS,
    Persona,
    demo_seed_school,
)
from accounts.models import (
    Membership,
    Organization,
    OrganizationUserObjectPermission,
    RoleChange,
    User,
)

Role = Membership.Role
Kind = Organization.Kind

# Whitenoise warns once per handler that STATIC_ROOT (filled by collectstatic) does not exist yet.
pytestmark = pytest.mark.filterwarnings("ignore:No directory at:UserWarning")


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", "--force", stdout=out)
    return out.getvalue()


def _counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "orgs": Organization.objects.count(),
        "memberships": Membership.objects.count(),
        "perms": OrganizationUserObjectPermission.objects.count(),
    }


def _org(kind: str, name: str) -> Organization:
    return Organization.objects.get(kind=kind, name=name)


def test_seed_builds_the_school(db: None) -> None:
    out = _seed()
    assert "demo1234" in out
    assert "学生 600 名" in out

    colleges = Organization.objects.filter(kind=Kind.COLLEGE)
    assert sorted(colleges.values_list("name", flat=True)) == sorted(COLLEGE_NAMES)
    for college in colleges:
        assert college.children.filter(kind=Kind.BRANCH, name=f"{college.name}团总支").exists()
    assert Organization.objects.filter(kind=Kind.SCHOOL, name="四川工业科技学院").exists()
    assert Organization.objects.filter(kind=Kind.CENTER, name="第二课堂指导与服务中心").exists()
    assert Organization.objects.filter(kind=Kind.COMMITTEE, name="校团委").exists()

    classes = Organization.objects.filter(kind=Kind.CLASS)
    assert 18 <= classes.count() <= 22
    assert all(re.fullmatch(r"\D+2[34]\d{2}", c.name) for c in classes)
    assert set(classes.values_list("parent__kind", flat=True)) == {Kind.COLLEGE}

    students = User.objects.filter(memberships__role=Role.STUDENT)
    assert students.count() == 600
    # Seeding is the bootstrap: every role it made is in the roles' log, confirmed by the system.
    logged = RoleChange.objects.filter(
        source=RoleChange.Source.SYSTEM,
        status=RoleChange.Status.CONFIRMED,
        proposed_by=None,
        action=RoleChange.Action.GRANT,
    )
    assert set(logged.values_list("user_id", "organization_id", "role")) == set(
        Membership.objects.values_list("user_id", "organization_id", "role")
    )
    assert Counter(
        Membership.objects.filter(role=Role.STUDENT).values_list("organization__name", flat=True)
    ) == Counter({c.name: 30 for c in CLASSES})
    for s in students:
        assert re.fullmatch(r"20(23|24)0[1-4]\d{4}", s.username), s.username
        assert s.username.startswith(s.grade)
        assert re.fullmatch(r"[\u4e00-\u9fff]{2,3}", s.name), s.name
        assert s.gender in {User.Gender.MALE, User.Gender.FEMALE}
        assert s.major
    assert len(set(students.values_list("gender", flat=True))) == 2

    # One counselor for every class, each counselor with 2–3 classes of one college.
    for klass in classes:
        assert klass.memberships.filter(role=Role.COUNSELOR).count() == 1, klass
    per_counselor = Counter(
        Membership.objects.filter(role=Role.COUNSELOR).values_list("user_id", flat=True)
    )
    assert set(per_counselor.values()) <= {2, 3}
    # One secretary per college branch.
    for branch in Organization.objects.filter(kind=Kind.BRANCH):
        assert branch.memberships.filter(role=Role.SECRETARY).count() == 1
    # Six organizations and clubs, each with an advisor and a student applicant.
    orgs = Organization.objects.filter(kind__in=[Kind.STUDENT_ORG, Kind.CLUB])
    assert orgs.count() == 6
    assert orgs.filter(kind=Kind.CLUB, parent__kind=Kind.COLLEGE).count() == 3
    assert orgs.filter(kind=Kind.STUDENT_ORG, parent=None).count() == 3
    for org in orgs:
        assert org.memberships.filter(role=Role.ADVISOR).count() == 1
        applicant = org.memberships.get(role=Role.APPLICANT).user
        assert applicant.memberships.filter(role=Role.STUDENT).exists()
    center_staff = User.objects.filter(memberships__role=Role.CENTER_STAFF)
    assert center_staff.count() == 2
    # Center staff maintain the settings mirror in the admin: role_grant makes them staff.
    assert center_staff.filter(is_staff=True).count() == center_staff.count() == 2
    assert User.objects.filter(memberships__role=Role.COMMITTEE_REVIEWER).count() == 1
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert admin.check_password(DEMO_PASSWORD)


# (persona, role, organization kind and name, permission it implies there)
PERSONA_GRANTS = [
    ("2023010101", Role.STUDENT, Kind.CLASS, "机械设计2301", None),
    ("T0001", Role.COUNSELOR, Kind.CLASS, "机械设计2301", "approve_as_counselor"),
    ("T0101", Role.SECRETARY, Kind.BRANCH, "智能制造学院团总支", "approve_as_secretary"),
    ("T0201", Role.ADVISOR, Kind.CLUB, "机器人协会", "approve_as_advisor"),
    ("2023010102", Role.APPLICANT, Kind.CLUB, "机器人协会", "submit_for_org"),
    ("2023010102", Role.STUDENT, Kind.CLASS, "机械设计2301", None),
    ("T0301", Role.CENTER_STAFF, Kind.CENTER, "第二课堂指导与服务中心", "approve_as_center"),
    ("T0401", Role.COMMITTEE_REVIEWER, Kind.COMMITTEE, "校团委", "approve_as_committee"),
]


def test_each_persona_has_its_role_and_permission(db: None) -> None:
    demo_seed_school()
    other_class = _org(Kind.CLASS, "会计学2301")
    for username, role, kind, org_name, perm in PERSONA_GRANTS:
        user = User.objects.get(username=username)
        org = _org(kind, org_name)
        assert Membership.objects.filter(user=user, organization=org, role=role).exists()
        if perm:
            assert user.has_perm(f"accounts.{perm}", org), (username, perm)
            assert user.has_perm("accounts.view_org_requests", org)
            # An object permission, not a global one.
            assert not user.has_perm(f"accounts.{perm}")
        # Nobody but the superuser counsels a class of another college.
        assert not user.has_perm("accounts.approve_as_counselor", other_class)
    student = User.objects.get(username="2023010101")
    assert get_perms(student, _org(Kind.CLASS, "机械设计2301")) == []
    assert User.objects.get(username="T0301").is_staff
    assert User.objects.get(username="T0301").has_perm("accounts.view_organization")
    assert not User.objects.get(username="T0001").is_staff  # a counselor needs no admin


def test_seed_is_idempotent(db: None) -> None:
    _seed()
    before = _counts()
    hashes = dict(User.objects.values_list("username", "password"))
    out = _seed()
    assert "无需改动" in out
    assert _counts() == before
    assert dict(User.objects.values_list("username", "password")) == hashes
    summary = demo_seed_school()
    assert (summary.users_created, summary.memberships_created) == (0, 0)
    assert (summary.colleges, summary.classes, summary.students) == (4, 20, 600)


def test_seed_refuses_a_production_database_without_debug_unless_forced(
    db: None, settings: object
) -> None:
    settings.DEBUG = False  # type: ignore[attr-defined]
    settings.EMBEDDED = False  # type: ignore[attr-defined]
    with pytest.raises(CommandError, match="DATABASE_URL"):
        call_command("seed_demo")
    assert not User.objects.exists()


def test_seed_runs_on_the_embedded_default_without_debug(db: None, settings: object) -> None:
    """After `make run`, README's `python manage.py seed_demo` works with nothing exported."""
    settings.DEBUG = False  # type: ignore[attr-defined]
    settings.EMBEDDED = True  # type: ignore[attr-defined]
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert "学生 600 名" in out.getvalue()


def test_demo_logins_lists_the_personas_that_exist(db: None) -> None:
    out = StringIO()
    call_command("demo_logins", stdout=out)
    assert "seed_demo" in out.getvalue()

    demo_seed_school()
    # A persona gone missing (renamed away: a user with a role history cannot be deleted).
    User.objects.filter(username="T0401").update(username="X0401")
    out = StringIO()
    call_command("demo_logins", stdout=out)
    text = out.getvalue()
    for header in ("角色", "账号", "密码", "姓名", "说明"):
        assert header in text
    for p in PERSONAS:
        if p.username == "T0401":
            assert "T0401" not in text
            continue
        assert p.username in text
        assert User.objects.get(username=p.username).get_full_name() in text
    assert "辅导员：机械设计2301" in text
    assert DEMO_PASSWORD in text


@pytest.mark.parametrize("persona", PERSONAS, ids=lambda p: p.username)
def test_each_persona_logs_in_and_sees_its_home(db: None, client: Client, persona: Persona) -> None:
    demo_seed_school()
    username = persona.username
    response = client.post(
        reverse("login"), {"username": username, "password": DEMO_PASSWORD}, secure=True
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == reverse("home")
    home = client.get(reverse("home"), secure=True)
    assert home.status_code == 200
    html = home.content.decode()
    assert User.objects.get(username=username).get_full_name() in html
    if persona.approver:
        assert "我的待办" in html
    elif persona.role_code == "admin":
        assert "进入管理后台" in html
    else:
        assert "我的申请" in html


def test_a_wrong_password_shows_the_chinese_error(db: None, client: Client) -> None:
    demo_seed_school()
    response = client.post(
        reverse("login"), {"username": "2023010101", "password": "wrong-password"}, secure=True
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "请输入一个正确的学号/工号和密码" in html
    assert 'value="2023010101"' in html
    assert "_auth_user_id" not in client.session


def test_login_works_with_axes_enabled(db: None, client: Client, settings: object) -> None:
    """Outside tests django-axes guards the login: the demo logins must still work through it."""
    from axes.models import AccessAttempt

    settings.AXES_ENABLED = True  # type: ignore[attr-defined]
    demo_seed_school()
    url = reverse("login")
    wrong = client.post(url, {"username": "T0001", "password": "nope"}, secure=True)
    assert wrong.status_code == 200
    assert AccessAttempt.objects.filter(username="T0001", failures_since_start=1).exists()
    ok = client.post(url, {"username": "T0001", "password": DEMO_PASSWORD}, secure=True)
    assert ok.status_code == 302
    assert client.get(reverse("home"), secure=True).status_code == 200
