"""Student registry import (学生名册导入): judge every row first, then write everything at once.

The pipeline follows pretix's imports: `_parse` turns sheet rows into `RegistryRow`s without
touching the database, `_judge` compares them with what exists (a few queries per 900 rows) and
`_commit` writes in one transaction with bulk statements. A file with any error writes nothing.

New students get an unusable password: center staff set initial passwords (hashing one per row would
also cost ~0.4 s each). Optional columns only ever fill or change a value: an empty optional cell
keeps what is stored, so a partial file cannot wipe phone numbers.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, TypeVar

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _

from accounts.models import Membership, Organization, RoleChange, User
from accounts.roles import ROLE_PERMISSIONS
from accounts.services import college_ensure, role_changes_log_bulk, role_grant
from bulu.exceptions import ApplicationError
from bulu.xlsx import (
    Cell,
    is_student_no,
    norm_text,
    plain_text,
    student_no_message,
    xlsx_header_positions,
    xlsx_open_first_sheet_rows,
)

Kind = Organization.Kind
Role = Membership.Role

COL_ID = "学号"
COL_NAME = "姓名"
COL_COLLEGE = "学院"
COL_CLASS = "班级"
COL_GENDER = "性别"
COL_MAJOR = "专业"
COL_GRADE = "年级"
COL_PHONE = "联系电话"
REQUIRED_COLUMNS = (COL_ID, COL_NAME, COL_COLLEGE, COL_CLASS)
OPTIONAL_COLUMNS = (COL_GENDER, COL_MAJOR, COL_GRADE, COL_PHONE)
COLUMN_ORDER = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
# Header spellings seen in real school spreadsheets, mapped to the canonical column.
HEADER_ALIASES = {
    "二级学院": COL_COLLEGE,
    "所在学院": COL_COLLEGE,
    "班级名称": COL_CLASS,
    "电话": COL_PHONE,
    "手机": COL_PHONE,
    "手机号": COL_PHONE,
    "手机号码": COL_PHONE,
    "联系方式": COL_PHONE,
}
# Optional column -> User field; the field's max_length bounds the cell.
OPTIONAL_FIELDS = {COL_GENDER: "gender", COL_MAJOR: "major", COL_GRADE: "grade", COL_PHONE: "phone"}
MAX_LENGTH = {
    COL_NAME: 64,
    COL_COLLEGE: 128,
    COL_CLASS: 128,
    COL_MAJOR: 64,
    COL_GRADE: 16,
    COL_PHONE: 32,
}
GENDERS = frozenset(User.Gender.values)
# Staff roles: an account holding one of them is a teacher's, never overwritten as a student.
STAFF_ROLES = frozenset(
    {
        Role.COUNSELOR,
        Role.ADVISOR,
        Role.SECRETARY,
        Role.CENTER_STAFF,
        Role.COMMITTEE_REVIEWER,
    }
)
# Excel users pad two-character names to line them up: "张　三" is 张三.
CJK_GAP_RE = re.compile(r"(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])")
# Stays below SQLite's and PostgreSQL's limits on bound parameters per statement.
CHUNK = 900
BATCH = 500
PROFILE_FIELDS = ("name", "gender", "major", "grade", "phone")

ACTION_CREATE = "create"
ACTION_UPDATE = "update"
ACTION_UNCHANGED = "unchanged"

T = TypeVar("T")


@dataclass(frozen=True)
class RowError:
    """One problem: Excel row number (1 is the header), column name ("" for the whole row)."""

    row: int
    column: str
    message: str

    def __str__(self) -> str:
        if self.column:
            return _("第 %(row)s 行 [%(column)s] %(message)s") % {
                "row": self.row,
                "column": self.column,
                "message": self.message,
            }
        return _("第 %(row)s 行 %(message)s") % {"row": self.row, "message": self.message}


@dataclass
class RegistryRow:
    row: int
    username: str
    name: str
    college: str
    class_name: str
    # None: column absent or cell empty, keep the stored value.
    optional: dict[str, str | None] = field(default_factory=dict)
    action: str = ""
    changes: list[str] = field(default_factory=list)
    # Filled by the judge for the commit.
    user_id: int | None = None
    stored: User | None = field(default=None, repr=False)
    profile_changed: bool = False
    class_changed: bool = False

    @property
    def action_label(self) -> str:
        return {
            ACTION_CREATE: _("新增"),
            ACTION_UPDATE: _("更新"),
            ACTION_UNCHANGED: _("不变"),
        }.get(self.action, "")


@dataclass
class RegistryResult:
    rows: list[RegistryRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    new_colleges: list[str] = field(default_factory=list)
    new_classes: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def changed_rows(self) -> list[RegistryRow]:
        return [r for r in self.rows if r.action in (ACTION_CREATE, ACTION_UPDATE)]

    def summary(self) -> str:
        return _(
            "新增 %(created)s 人，更新 %(updated)s 人，不变 %(unchanged)s 人；"
            "新建学院 %(colleges)s 个，新建班级 %(classes)s 个。"
        ) % {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "colleges": len(self.new_colleges),
            "classes": len(self.new_classes),
        }


# --- public services -------------------------------------------------------------------------


def registry_preview(*, fileobj: IO[bytes], create_colleges: bool) -> RegistryResult:
    """Judge the file against the database without writing; errors are in `result.errors`.

    Raises ApplicationError only when the file cannot be read at all.
    """
    rows, errors = _parse(xlsx_open_first_sheet_rows(fileobj))
    return _judge(rows, errors, create_colleges=create_colleges)


def registry_import(*, fileobj: IO[bytes], create_colleges: bool) -> RegistryResult:
    """Create or update every student of the file in one transaction, or nothing at all.

    Raises ApplicationError when the file is unreadable, or has errors (then
    `extra["result"]` is the judged RegistryResult listing every one of them).
    """
    rows, errors = _parse(xlsx_open_first_sheet_rows(fileobj))
    try:
        with transaction.atomic():
            # Judged again inside the transaction: the data may have changed since the preview.
            result = _judge(rows, errors, create_colleges=create_colleges)
            if not result.ok:
                raise ApplicationError(
                    _("名册有 %(n)s 处错误，未导入任何数据。") % {"n": len(result.errors)},
                    extra={"result": result},
                )
            _commit(result)
    except IntegrityError as exc:
        raise ApplicationError(
            _("导入期间名册数据被同时修改，未导入任何数据。请稍后重新导入。")
        ) from exc
    return result


# --- parse: sheet rows -> RegistryRow, no database -------------------------------------------


def _student_id(cell: Cell) -> tuple[str, str | None]:
    """The 学号 as text and an error message, if any (the rule shared by every import)."""
    text = norm_text(cell)
    if not text:
        return "", _("学号不能为空。")
    if not is_student_no(text):
        return text, student_no_message(text)
    return text, None


def _parse(sheet: Sequence[Sequence[Cell]]) -> tuple[list[RegistryRow], list[RowError]]:
    columns, errors = _parse_header(sheet[0] if sheet else [])
    if errors:
        return [], errors
    rows: list[RegistryRow] = []
    first_row_of: dict[str, int] = {}
    for offset, values in enumerate(sheet[1:]):
        number = offset + 2
        if all(plain_text(v) == "" for v in values):
            continue
        row, row_errors = _parse_row(number, values, columns, first_row_of)
        rows.append(row)
        errors.extend(row_errors)
    if not rows and not errors:
        errors.append(RowError(2, "", _("文件中没有学生数据（第 2 行起为数据）。")))
    return rows, errors


def _parse_header(header: Sequence[Cell]) -> tuple[dict[str, int], list[RowError]]:
    columns, repeated = xlsx_header_positions(header, known=COLUMN_ORDER, aliases=HEADER_ALIASES)
    errors = [
        RowError(1, key, _("表头中“%(column)s”列出现了多次。") % {"column": key})
        for key in repeated
    ]
    for column in REQUIRED_COLUMNS:
        if column not in columns:
            errors.append(
                RowError(
                    1,
                    column,
                    _("缺少必填列“%(column)s”。表头应在第 1 行，至少包含：学号、姓名、学院、班级。")
                    % {"column": column},
                )
            )
    return columns, errors


def _parse_row(
    number: int,
    values: Sequence[Cell],
    columns: dict[str, int],
    first_row_of: dict[str, int],
) -> tuple[RegistryRow, list[RowError]]:
    """One data row; `first_row_of` (学号 -> first row) finds duplicates across calls."""

    def get(column: str) -> Cell:
        index = columns.get(column)
        if index is None or index >= len(values):
            return None
        return values[index]

    errors: list[RowError] = []
    username, id_error = _student_id(get(COL_ID))
    if id_error:
        errors.append(RowError(number, COL_ID, id_error))
    elif username in first_row_of:
        errors.append(
            RowError(
                number,
                COL_ID,
                _("学号“%(value)s”与第 %(row)s 行重复。")
                % {"value": username, "row": first_row_of[username]},
            )
        )
    else:
        first_row_of[username] = number
    texts = {
        COL_NAME: CJK_GAP_RE.sub("", plain_text(get(COL_NAME))),
        COL_COLLEGE: plain_text(get(COL_COLLEGE)),
        COL_CLASS: plain_text(get(COL_CLASS)),
    }
    for column, text in texts.items():
        if not text:
            errors.append(RowError(number, column, _("%(column)s不能为空。") % {"column": column}))
    optional = {
        column: _optional_text(column, get(column))
        for column in OPTIONAL_COLUMNS
        if column in columns
    }
    gender = optional.get(COL_GENDER)
    if gender and gender not in GENDERS:
        errors.append(
            RowError(
                number,
                COL_GENDER,
                _("性别只能填写“男”或“女”，此处为“%(value)s”。") % {"value": gender},
            )
        )
    for column, limit in MAX_LENGTH.items():
        text = texts.get(column) or optional.get(column) or ""
        if len(text) > limit:
            errors.append(
                RowError(
                    number,
                    column,
                    _("%(column)s不能超过 %(max)s 个字符。") % {"column": column, "max": limit},
                )
            )
    row = RegistryRow(
        row=number,
        username=username,
        name=texts[COL_NAME],
        college=texts[COL_COLLEGE],
        class_name=texts[COL_CLASS],
        optional=optional,
    )
    return row, errors


def _optional_text(column: str, cell: Cell) -> str | None:
    """None for an empty cell (keep the stored value); 年级 and 联系电话 are NFKC-normalized."""
    text = norm_text(cell) if column in (COL_GRADE, COL_PHONE) else plain_text(cell)
    return text or None


# --- judge: compare with the database ----------------------------------------------------------


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _college_pks(names: Iterable[str]) -> dict[str, int]:
    """College name -> pk; should a name exist twice, the oldest college wins."""
    colleges: dict[str, int] = {}
    for pk, name in (
        Organization.objects.filter(kind=Kind.COLLEGE, name__in=sorted(names))
        .order_by("pk")
        .values_list("pk", "name")
    ):
        colleges.setdefault(name, pk)
    return colleges


def _sorted_errors(errors: Iterable[RowError]) -> list[RowError]:
    order = {column: i for i, column in enumerate(COLUMN_ORDER)}
    return sorted(errors, key=lambda e: (e.row, order.get(e.column, len(order))))


ClassIndex = dict[str, dict[int | None, tuple[int, str]]]  # class -> {college pk: (pk, college)}


@dataclass
class _Places:
    """Colleges and classes named by the file, as they exist, and those the import would add."""

    colleges: dict[str, int]  # college name -> pk
    classes: ClassIndex
    new_colleges: dict[str, None] = field(default_factory=dict)
    new_classes: dict[str, tuple[str, int]] = field(default_factory=dict)  # -> (college, row)


@dataclass
class _Accounts:
    """The file's existing users, which of them hold staff roles, and their current class."""

    users: dict[str, User]
    staff_ids: set[int]
    current_class: dict[int, tuple[int, str]]  # user pk -> (class pk, class name)


def _judge(
    rows: list[RegistryRow], parse_errors: list[RowError], *, create_colleges: bool
) -> RegistryResult:
    result = RegistryResult(rows=rows, errors=list(parse_errors))
    if rows:
        bad_rows = {e.row for e in parse_errors}
        places = _places_load(rows)
        for r in rows:
            error = _judge_place(r, places, create_colleges=create_colleges)
            if error is not None:
                result.errors.append(error)
                bad_rows.add(r.row)
        result.new_colleges = list(places.new_colleges)
        result.new_classes = [(c, name) for name, (c, _row) in places.new_classes.items()]
        _judge_accounts(result, _accounts_load(rows), places, bad_rows)
    result.errors = _sorted_errors(result.errors)
    return result


def _places_load(rows: list[RegistryRow]) -> _Places:
    """Colleges and classes the rows name: two queries, a few dozen names."""
    colleges = _college_pks({r.college for r in rows if r.college})
    class_names = sorted({r.class_name for r in rows if r.class_name})
    classes: ClassIndex = {}
    for pk, name, parent_id, parent_name in (
        Organization.objects.filter(kind=Kind.CLASS, name__in=class_names)
        .order_by("pk")
        .values_list("pk", "name", "parent_id", "parent__name")
    ):
        classes.setdefault(name, {}).setdefault(parent_id, (pk, parent_name or ""))
    return _Places(colleges=colleges, classes=classes)


def _judge_place(r: RegistryRow, places: _Places, *, create_colleges: bool) -> RowError | None:
    """The row's college exists (or may be created) and its class belongs to that college."""
    if not r.college:
        return None
    college_pk = places.colleges.get(r.college)
    if college_pk is None:
        if not create_colleges:
            return RowError(
                r.row,
                COL_COLLEGE,
                _("学院“%(college)s”不存在。请核对名称，或选择“允许新建学院”后重新导入。")
                % {"college": r.college},
            )
        places.new_colleges.setdefault(r.college)
    if not r.class_name:
        return None
    existing = places.classes.get(r.class_name)
    if existing:
        if college_pk is not None and college_pk in existing:
            return None
        other = next(iter(existing.values()))[1] or _("（未归属学院）")
        return RowError(
            r.row,
            COL_CLASS,
            _("班级“%(klass)s”已属于学院“%(other)s”，与本行的学院“%(college)s”不一致。")
            % {"klass": r.class_name, "other": other, "college": r.college},
        )
    first = places.new_classes.setdefault(r.class_name, (r.college, r.row))
    if first[0] == r.college:
        return None
    return RowError(
        r.row,
        COL_CLASS,
        _("班级“%(klass)s”在第 %(row)s 行属于学院“%(other)s”，与本行的学院“%(college)s”不一致。")
        % {"klass": r.class_name, "row": first[1], "other": first[0], "college": r.college},
    )


def _accounts_load(rows: list[RegistryRow]) -> _Accounts:
    """Users, their staff roles and their current class: three queries per chunk of 学号s."""
    users: dict[str, User] = {}
    for chunk in _chunks([r.username for r in rows if r.username]):
        for user in User.objects.filter(username__in=chunk).only(
            "pk", "username", "name", "gender", "major", "grade", "phone", "is_staff"
        ):
            users[user.username] = user
    staff_ids: set[int] = set()
    current_class: dict[int, tuple[int, str]] = {}
    for chunk_ids in _chunks([u.pk for u in users.values()]):
        staff_ids.update(
            Membership.objects.filter(user_id__in=chunk_ids, role__in=STAFF_ROLES).values_list(
                "user_id", flat=True
            )
        )
        for user_id, org_id, org_name in Membership.objects.filter(
            user_id__in=chunk_ids, role=Role.STUDENT
        ).values_list("user_id", "organization_id", "organization__name"):
            current_class[user_id] = (org_id, org_name)
    return _Accounts(users=users, staff_ids=staff_ids, current_class=current_class)


def _judge_accounts(
    result: RegistryResult, accounts: _Accounts, places: _Places, bad_rows: set[int]
) -> None:
    """Staff accounts are refused; every other good row becomes a create, update or no-op."""
    for r in result.rows:
        user = accounts.users.get(r.username)
        if user is not None and (user.is_staff or user.pk in accounts.staff_ids):
            result.errors.append(
                RowError(
                    r.row,
                    COL_ID,
                    _("学号“%(value)s”已是教职工账号，不能作为学生导入。") % {"value": r.username},
                )
            )
            continue
        if r.row in bad_rows:
            continue
        _judge_row(r, user, places.colleges, places.classes, accounts.current_class)
        if r.action == ACTION_CREATE:
            result.created += 1
        elif r.action == ACTION_UPDATE:
            result.updated += 1
        else:
            result.unchanged += 1


def _judge_row(
    r: RegistryRow,
    user: User | None,
    colleges: dict[str, int],
    classes: ClassIndex,
    current_class: dict[int, tuple[int, str]],
) -> None:
    college_pk = colleges.get(r.college)
    target = classes.get(r.class_name, {}).get(college_pk) if college_pk else None
    target_pk = target[0] if target else None
    if user is None:
        r.action = ACTION_CREATE
        r.profile_changed = r.class_changed = True
        return
    r.user_id = user.pk
    r.stored = user
    if user.name != r.name:
        r.changes.append(
            _("%(field)s：%(old)s → %(new)s") % {"field": COL_NAME, "old": user.name, "new": r.name}
        )
    for column, value in r.optional.items():
        old = getattr(user, OPTIONAL_FIELDS[column])
        if value is not None and value != old:
            r.changes.append(
                _("%(field)s：%(old)s → %(new)s")
                % {"field": column, "old": old or _("（空）"), "new": value}
            )
    r.profile_changed = bool(r.changes)
    current = current_class.get(user.pk)
    if current is None or current[0] != target_pk:
        r.class_changed = True
        r.changes.append(
            _("%(field)s：%(old)s → %(new)s")
            % {
                "field": COL_CLASS,
                "old": current[1] if current else _("（无）"),
                "new": r.class_name,
            }
        )
    r.action = ACTION_UPDATE if r.changes else ACTION_UNCHANGED


# --- commit: one transaction, bulk statements -------------------------------------------------


def _commit(result: RegistryResult) -> None:
    """Write a judged, error-free result. Must run inside the caller's transaction."""
    college_pks = _college_pks({r.college for r in result.rows})
    for name in result.new_colleges:
        # college_ensure also gives the new college its 团总支.
        college_pks[name] = college_ensure(name=name).pk
    class_pks: dict[tuple[int, str], int] = {
        (parent_id, name): pk
        for pk, name, parent_id in Organization.objects.filter(
            kind=Kind.CLASS, parent_id__in=college_pks.values()
        ).values_list("pk", "name", "parent_id")
    }
    # A new school year brings a hundred classes or so: one statement, not one each.
    Organization.objects.bulk_create(
        [
            Organization(kind=Kind.CLASS, name=class_name, parent_id=college_pks[college_name])
            for college_name, class_name in result.new_classes
            if (college_pks[college_name], class_name) not in class_pks
        ],
        batch_size=BATCH,
    )
    if result.new_classes:
        class_pks.update(
            ((parent_id, name), pk)
            for pk, name, parent_id in Organization.objects.filter(
                kind=Kind.CLASS, name__in={name for _college, name in result.new_classes}
            ).values_list("pk", "name", "parent_id")
            if parent_id is not None
        )

    new_users: list[User] = []
    changed_users: list[User] = []
    for r in result.rows:
        if r.action == ACTION_CREATE:
            user = User(username=r.username, name=r.name)
            _apply_optional(user, r)
            # What set_unusable_password() stores, without its per-call SystemRandom string
            # (0.27 ms each): center staff set initial passwords, so nothing is hashed here.
            user.password = UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(30)
            new_users.append(user)
        elif r.action == ACTION_UPDATE and r.profile_changed and r.stored is not None:
            r.stored.name = r.name
            _apply_optional(r.stored, r)
            changed_users.append(r.stored)
    User.objects.bulk_create(new_users, batch_size=BATCH)
    _update_profiles(changed_users)

    # Not every backend returns primary keys from bulk_create: look them up.
    user_pks: dict[str, int] = {}
    for chunk in _chunks([u.username for u in new_users]):
        user_pks.update(User.objects.filter(username__in=chunk).values_list("username", "pk"))
    moves: list[tuple[int, int]] = []
    for r in result.rows:
        if r.class_changed:
            user_pk = r.user_id if r.user_id is not None else user_pks[r.username]
            moves.append((user_pk, class_pks[(college_pks[r.college], r.class_name)]))
    _move_students(moves)


def _update_profiles(users: list[User]) -> None:
    """One prepared UPDATE per user, sent with executemany.

    bulk_update() builds a CASE/WHEN expression per row and field in Python: 10,000 changed names
    took 10 s that way, a few hundred milliseconds this way.
    """
    if not users:
        return
    meta = User._meta
    columns = {f.name: f.column for f in meta.concrete_fields if f.column}
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(columns[name])} = %s" for name in PROFILE_FIELDS)
    # Identifiers come from the model's metadata; values are bound parameters.
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {assignments} "  # noqa: S608
        f"WHERE {quote(columns['id'])} = %s"
    )
    params = [[getattr(u, name) for name in PROFILE_FIELDS] + [u.pk] for u in users]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _apply_optional(user: User, r: RegistryRow) -> None:
    for column, value in r.optional.items():
        if value is not None:
            setattr(user, OPTIONAL_FIELDS[column], value)


def _move_students(moves: list[tuple[int, int]]) -> None:
    """Put each (user, class) in place; a student is in exactly one class (role_grant's rule)."""
    if not moves:
        return
    if ROLE_PERMISSIONS[Role.STUDENT]:
        # Should the student role ever carry guardian permissions, grant them the complete way.
        orgs = Organization.objects.in_bulk({class_pk for _user, class_pk in moves})
        users = User.objects.in_bulk({user_pk for user_pk, _class in moves})
        for user_pk, class_pk in moves:
            role_grant(user=users[user_pk], organization=orgs[class_pk], role=Role.STUDENT)
        return
    for chunk in _chunks([user_pk for user_pk, _class in moves]):
        Membership.objects.filter(user_id__in=chunk, role=Role.STUDENT).delete()
    Membership.objects.bulk_create(
        [
            Membership(user_id=user_pk, organization_id=class_pk, role=Role.STUDENT)
            for user_pk, class_pk in moves
        ],
        batch_size=BATCH,
    )
    # The roles' log: a plain import is one step (the student role signs nothing).
    role_changes_log_bulk(
        memberships=[(user_pk, class_pk, Role.STUDENT) for user_pk, class_pk in moves],
        source=RoleChange.Source.IMPORT,
    )
