"""Demo data: a believable 四川工业科技学院 with fixed persona logins.

`demo_seed_school()` is idempotent: it creates only what is missing and never changes an existing
row, so a second run does no writes (and no password hashing). Roles are granted through
`accounts.services.role_grant` (which assigns the guardian permissions); only the students'
STUDENT memberships, which carry no permission, are bulk-created. Seeding is the bootstrap: it
grants directly, without a second person, and every role it makes is logged in `RoleChange` as
confirmed by the system.

Every demo account has the password `DEMO_PASSWORD`; it is hashed once and the hash is shared.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password
from django.db import transaction

from accounts.models import Membership, Organization, RoleChange, User
from accounts.services import (
    college_ensure,
    organization_get_or_create,
    role_changes_log_bulk,
    role_grant,
)

Role = Membership.Role
Kind = Organization.Kind

DEMO_PASSWORD = "demo1234"  # noqa: S105 - a published demo password, never a real one.
SCHOOL_NAME = "四川工业科技学院"
CENTER_NAME = "第二课堂指导与服务中心"
COMMITTEE_NAME = "校团委"
STUDENTS_PER_CLASS = 30


@dataclass(frozen=True)
class ClassSpec:
    college: str
    college_code: str
    index: int  # 1-based position of the class within its college: the 学号's class digits
    major_short: str
    major: str
    grade: str
    number: int

    @property
    def name(self) -> str:
        return f"{self.major_short}{self.grade[2:]}{self.number:02d}"

    def student_number(self, seq: int) -> str:
        """学号: grade year + college code + class + sequence, 10 digits."""
        return f"{self.grade}{self.college_code}{self.index:02d}{seq:02d}"


# (college, code, share of female students, classes as (short major, full major, grade, number))
_COLLEGES: tuple[tuple[str, str, float, tuple[tuple[str, str, str, int], ...]], ...] = (
    (
        "智能制造学院",
        "01",
        0.18,
        (
            ("机械设计", "机械设计制造及其自动化", "2023", 1),
            ("机械设计", "机械设计制造及其自动化", "2023", 2),
            ("机器人工程", "机器人工程", "2023", 1),
            ("智能制造", "智能制造工程", "2024", 1),
            ("机械电子", "机械电子工程", "2024", 1),
        ),
    ),
    (
        "电子信息与计算机工程学院",
        "02",
        0.30,
        (
            ("计算机科学", "计算机科学与技术", "2023", 1),
            ("计算机科学", "计算机科学与技术", "2023", 2),
            ("软件工程", "软件工程", "2023", 1),
            ("电子信息", "电子信息工程", "2024", 1),
            ("物联网", "物联网工程", "2024", 1),
        ),
    ),
    (
        "汽车工程学院",
        "03",
        0.15,
        (
            ("车辆工程", "车辆工程", "2023", 1),
            ("新能源汽车", "新能源汽车工程", "2023", 1),
            ("汽车服务", "汽车服务工程", "2024", 1),
            ("汽车服务", "汽车服务工程", "2024", 2),
            ("车辆工程", "车辆工程", "2024", 1),
        ),
    ),
    (
        "经济管理学院",
        "04",
        0.65,
        (
            ("会计学", "会计学", "2023", 1),
            ("会计学", "会计学", "2023", 2),
            ("市场营销", "市场营销", "2023", 1),
            ("电子商务", "电子商务", "2024", 1),
            ("财务管理", "财务管理", "2024", 1),
        ),
    ),
)

COLLEGE_NAMES: tuple[str, ...] = tuple(c[0] for c in _COLLEGES)
CLASSES: tuple[ClassSpec, ...] = tuple(
    ClassSpec(college, code, i, short, major, grade, number)
    for college, code, _share, classes in _COLLEGES
    for i, (short, major, grade, number) in enumerate(classes, start=1)
)
_FEMALE_SHARE = {c[0]: c[2] for c in _COLLEGES}

# Organizations and clubs: (name, kind, college or None (school level), advisor, applicant 学号)
ORGANIZATIONS: tuple[tuple[str, str, str | None, str, str], ...] = (
    ("机器人协会", Kind.CLUB, "智能制造学院", "T0201", "2023010102"),
    ("校学生会", Kind.STUDENT_ORG, None, "T0202", "2023040103"),
    ("青年志愿者协会", Kind.STUDENT_ORG, None, "T0203", "2024040408"),
    ("大学生艺术团", Kind.STUDENT_ORG, None, "T0204", "2023020215"),
    ("电子竞技社", Kind.CLUB, "电子信息与计算机工程学院", "T0205", "2023020305"),
    ("汽车文化社", Kind.CLUB, "汽车工程学院", "T0206", "2024030312"),
)


@dataclass(frozen=True)
class Persona:
    """A fixed, memorable demo login printed by `demo_logins`."""

    username: str
    role: str  # the label shown in the login table
    role_code: str  # Membership.Role, or "admin" for the superuser
    approver: bool  # home shows 我的待办 (else 我的申请)


PERSONAS: tuple[Persona, ...] = (
    Persona("2023010101", "学生", Role.STUDENT, approver=False),
    Persona("T0001", "辅导员", Role.COUNSELOR, approver=True),
    Persona("T0101", "团总支书记", Role.SECRETARY, approver=True),
    Persona("T0201", "指导老师", Role.ADVISOR, approver=True),
    Persona("2023010102", "学生干部（申请人）", Role.APPLICANT, approver=False),
    Persona("T0301", "二课中心工作人员", Role.CENTER_STAFF, approver=True),
    Persona("T0401", "校团委审核人", Role.COMMITTEE_REVIEWER, approver=True),
    Persona("admin", "系统管理员", "admin", approver=False),
)

# Frequent surnames (repeated by rough frequency) and given-name characters.
_SURNAMES = (
    "王王王王李李李李张张张张刘刘刘陈陈陈杨杨杨黄黄赵赵吴吴周周徐徐孙孙马马朱朱胡胡郭郭何何林高罗"
    "郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范廖石贾夏付邹熊"
    "邱秦江尹薛"
)
_GIVEN_MALE = "伟强磊军洋勇杰涛明超辉刚健鹏华飞斌宇浩凯俊帅林波峰东亮龙博文志睿晨航旭阳鑫毅宏成锐嘉"
_GIVEN_FEMALE = "芳娜敏静丽艳娟霞婷雪琳颖倩洁玲欣怡悦彤佳梦瑶萱雨晴雯琪璐蕾丹月妍茜露婧薇慧"
_GIVEN_ANY = "子一思家晓嘉雨梓诗天可俊新文欣宇佳若晨"


def _chinese_name(rng: random.Random, gender: str) -> str:
    pool = _GIVEN_FEMALE if gender == User.Gender.FEMALE else _GIVEN_MALE
    surname = rng.choice(_SURNAMES)
    if rng.random() < 0.3:
        return surname + rng.choice(pool)
    first = rng.choice(_GIVEN_ANY) if rng.random() < 0.4 else rng.choice(pool)
    second = rng.choice(pool)
    while second == first:
        second = rng.choice(pool)
    return surname + first + second


@dataclass
class _PersonSpec:
    username: str
    name: str
    gender: str
    major: str = ""
    grade: str = ""
    is_staff: bool = False
    is_superuser: bool = False
    student_class: str | None = None  # class name for students
    roles: list[tuple[str, Organization]] = field(default_factory=list)


@dataclass
class DemoSummary:
    colleges: int = 0
    branches: int = 0
    classes: int = 0
    organizations: int = 0
    students: int = 0
    counselors: int = 0
    secretaries: int = 0
    advisors: int = 0
    applicants: int = 0
    center_staff: int = 0
    committee_reviewers: int = 0
    users_created: int = 0
    memberships_created: int = 0
    personas: list[Persona] = field(default_factory=lambda: list(PERSONAS))


@dataclass
class _Orgs:
    colleges: dict[str, Organization]
    branches: dict[str, Organization]
    classes: dict[str, Organization]  # by class name
    organizations: dict[str, Organization]
    school: Organization
    center: Organization
    committee: Organization


def _ensure_orgs() -> _Orgs:
    colleges = {name: college_ensure(name=name) for name in COLLEGE_NAMES}
    branches = {
        b.parent.name: b
        for b in Organization.objects.filter(kind=Kind.BRANCH, parent__in=colleges.values())
        .select_related("parent")
        .order_by("pk")
        if b.parent is not None
    }
    classes = {
        spec.name: organization_get_or_create(
            kind=Kind.CLASS, name=spec.name, parent=colleges[spec.college]
        )[0]
        for spec in CLASSES
    }
    organizations = {
        name: organization_get_or_create(
            kind=kind, name=name, parent=colleges[college] if college else None
        )[0]
        for name, kind, college, _advisor, _applicant in ORGANIZATIONS
    }
    school, _ = organization_get_or_create(kind=Kind.SCHOOL, name=SCHOOL_NAME)
    center, _ = organization_get_or_create(kind=Kind.CENTER, name=CENTER_NAME)
    committee, _ = organization_get_or_create(kind=Kind.COMMITTEE, name=COMMITTEE_NAME)
    return _Orgs(colleges, branches, classes, organizations, school, center, committee)


def _students() -> list[_PersonSpec]:
    rng = random.Random(20230901)  # deterministic demo names
    people: list[_PersonSpec] = []
    for spec in CLASSES:
        share = _FEMALE_SHARE[spec.college]
        for seq in range(1, STUDENTS_PER_CLASS + 1):
            gender = User.Gender.FEMALE if rng.random() < share else User.Gender.MALE
            people.append(
                _PersonSpec(
                    username=spec.student_number(seq),
                    name=_chinese_name(rng, gender),
                    gender=gender,
                    major=spec.major,
                    grade=spec.grade,
                    student_class=spec.name,
                )
            )
    return people


def _staff(orgs: _Orgs) -> list[_PersonSpec]:
    rng = random.Random(19650701)  # deterministic demo names
    people: list[_PersonSpec] = []

    def teacher(
        username: str, roles: list[tuple[str, Organization]], *, is_staff: bool = False
    ) -> None:
        gender = User.Gender.FEMALE if rng.random() < 0.5 else User.Gender.MALE
        name = _chinese_name(rng, gender)
        people.append(_PersonSpec(username, name, gender, is_staff=is_staff, roles=roles))

    # Counselors: one per 2–3 classes of the same college (T0001 has the first three classes).
    n = 0
    for college in COLLEGE_NAMES:
        specs = [c for c in CLASSES if c.college == college]
        for group in (specs[:3], specs[3:]):
            n += 1
            teacher(f"T{n:04d}", [(Role.COUNSELOR, orgs.classes[c.name]) for c in group])
    # Branch secretaries, in college order: T0101 is 智能制造学院团总支.
    for i, college in enumerate(COLLEGE_NAMES, start=1):
        teacher(f"T{100 + i:04d}", [(Role.SECRETARY, orgs.branches[college])])
    # Advisors of the organizations and clubs.
    for name, _kind, _college, advisor, _applicant in ORGANIZATIONS:
        teacher(advisor, [(Role.ADVISOR, orgs.organizations[name])])
    # Center staff (T0301 may use the admin site) and the committee reviewer.
    teacher("T0301", [(Role.CENTER_STAFF, orgs.center)], is_staff=True)
    teacher("T0302", [(Role.CENTER_STAFF, orgs.center)])
    teacher("T0401", [(Role.COMMITTEE_REVIEWER, orgs.committee)])
    people.append(_PersonSpec("admin", "系统管理员", "", is_staff=True, is_superuser=True))
    return people


def _ensure_users(people: Iterable[_PersonSpec], password: str) -> tuple[dict[str, User], int]:
    people = list(people)
    usernames = [p.username for p in people]
    existing = set(User.objects.filter(username__in=usernames).values_list("username", flat=True))
    missing = [p for p in people if p.username not in existing]
    if missing:
        hashed = make_password(password)  # once: PBKDF2 costs ~0.4 s per call
        User.objects.bulk_create(
            [
                User(
                    username=p.username,
                    name=p.name,
                    gender=p.gender,
                    major=p.major,
                    grade=p.grade,
                    is_staff=p.is_staff,
                    is_superuser=p.is_superuser,
                    password=hashed,
                )
                for p in missing
            ],
            batch_size=500,
        )
    users = {u.username: u for u in User.objects.filter(username__in=usernames)}
    return users, len(missing)


def _ensure_student_memberships(
    students: list[_PersonSpec], users: dict[str, User], orgs: _Orgs
) -> int:
    """STUDENT memberships carry no permission, so they may be bulk-created."""
    ids = [users[p.username].pk for p in students]
    enrolled = set(
        Membership.objects.filter(role=Role.STUDENT, user_id__in=ids).values_list(
            "user_id", flat=True
        )
    )
    new = [
        Membership(
            user=users[p.username],
            organization=orgs.classes[p.student_class],
            role=Role.STUDENT,
        )
        for p in students
        if p.student_class is not None and users[p.username].pk not in enrolled
    ]
    Membership.objects.bulk_create(new, batch_size=500)
    # Seeding is the bootstrap: its roles are logged as confirmed by the system.
    role_changes_log_bulk(
        memberships=[(m.user.pk, m.organization.pk, Role.STUDENT) for m in new],
        source=RoleChange.Source.SYSTEM,
    )
    return len(new)


def demo_seed_school(*, password: str = DEMO_PASSWORD) -> DemoSummary:
    """Create (what is missing of) the demo school; return what it now holds."""
    with transaction.atomic():
        orgs = _ensure_orgs()
        students = _students()
        staff = _staff(orgs)
        users, users_created = _ensure_users([*students, *staff], password)
        memberships_before = Membership.objects.count()
        _ensure_student_memberships(students, users, orgs)
        for person in staff:
            for role, organization in person.roles:
                role_grant(user=users[person.username], organization=organization, role=role)
        for name, _kind, _college, _advisor, applicant in ORGANIZATIONS:
            role_grant(
                user=users[applicant], organization=orgs.organizations[name], role=Role.APPLICANT
            )
        memberships_created = Membership.objects.count() - memberships_before

    def count(role: str) -> int:
        return Membership.objects.filter(role=role).values("user_id").distinct().count()

    return DemoSummary(
        colleges=Organization.objects.filter(kind=Kind.COLLEGE).count(),
        branches=Organization.objects.filter(kind=Kind.BRANCH).count(),
        classes=Organization.objects.filter(kind=Kind.CLASS).count(),
        organizations=Organization.objects.filter(kind__in=[Kind.STUDENT_ORG, Kind.CLUB]).count(),
        students=count(Role.STUDENT),
        counselors=count(Role.COUNSELOR),
        secretaries=count(Role.SECRETARY),
        advisors=count(Role.ADVISOR),
        applicants=count(Role.APPLICANT),
        center_staff=count(Role.CENTER_STAFF),
        committee_reviewers=count(Role.COMMITTEE_REVIEWER),
        users_created=users_created,
        memberships_created=memberships_created,
    )


# Later apps add their own demo data (settings mirror, requests …) after the school exists.
# They register here from their AppConfig.ready(), so accounts never imports them.
DemoStep = Callable[[], str]
_DEMO_STEPS: list[tuple[str, DemoStep]] = []


def demo_step_register(name: str, step: DemoStep) -> None:
    if all(existing != name for existing, _step in _DEMO_STEPS):
        _DEMO_STEPS.append((name, step))


def demo_steps() -> list[tuple[str, DemoStep]]:
    return list(_DEMO_STEPS)
