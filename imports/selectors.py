"""Reads for imports: the lookups roster judging needs, and uploads narrowed to who may see them."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterator, Sequence
from datetime import date
from typing import Any

from django.db import connection
from django.db.models import Count, Max, Model
from django.http import Http404

from accounts.models import Membership, User
from accounts.selectors import user_is_school_wide
from bulu.workflow.models import BackfillRequest, State
from credits.models import CreditRecord
from imports.matching import match_text
from imports.models import (
    ActivityCategory,
    ActivityLevel,
    ActivitySubcategory,
    CreditStandardItem,
    CreditType,
    RosterUpload,
)
from imports.roster import CreditKey, CreditSettings, RosterLookups

# SQLite: parameters per `IN (...)`, far below its limit and large enough to keep the round trips
# few (10 queries for 10k 学号s).
IN_CHUNK = 1000
# PostgreSQL: 学号s per array parameter (`= ANY(%s::text[])`); a roster has at most 20k rows, so
# this is one statement per roster (a bench's 100k rows take five).
ARRAY_CHUNK = 20_000
# A credit of a request in one of these states exists (or is about to) in 到梦空间.
CREDITED_STATES = (State.APPROVED, State.EXPORTED, State.IMPORTED)


def _chunks(values: Collection[str], size: int = IN_CHUNK) -> Iterator[list[str]]:
    if len(values) <= size:  # the usual case: no need to sort
        if values:
            yield list(values)
        return
    ordered = sorted(values)
    for i in range(0, len(ordered), size):
        yield ordered[i : i + size]


def _pg_text_array(values: Sequence[str]) -> str:
    """`values` as one PostgreSQL array literal ('{"a","b"}'), bound as a single text parameter.

    A Python list would be sent as ARRAY['a', 'b', ...], one constant per element for the
    server to parse and plan (about twice as slow at 100k); the literal is parsed in one go."""
    probe = "".join(values)
    if '"' in probe or "\\" in probe:  # never for 学号s, which are digits
        values = [v.replace("\\", "\\\\").replace('"', '\\"') for v in values]
    return '{"' + '","'.join(values) + '"}' if values else "{}"


def credit_settings_load() -> CreditSettings:
    """The active settings mirror with the credit types' limits and the 认定标准's
    (category, credit type) pairs: five small queries."""
    subs: dict[int, list[str]] = {}
    for category_id, name in ActivitySubcategory.objects.filter(is_active=True).values_list(
        "category_id", "name"
    ):
        subs.setdefault(category_id, []).append(name)
    categories = [
        (name, subs.get(pk, []))
        for pk, name in ActivityCategory.objects.filter(is_active=True).values_list("pk", "name")
    ]
    credit_types = list(CreditType.objects.filter(is_active=True).values_list("name", "max_value"))
    return CreditSettings.from_names(
        categories=categories,
        levels=ActivityLevel.objects.filter(is_active=True).values_list("name", flat=True),
        credit_types=[name for name, _max in credit_types],
        maxima={name: limit for name, limit in credit_types if limit is not None},
        standard_pairs=_standard_pairs(),
    )


def _standard_pairs() -> list[tuple[str, str]]:
    """(活动一级分类, 学分类型) of every active 认定标准 item."""
    return list(
        CreditStandardItem.objects.filter(is_active=True)
        .values_list("subcategory__category__name", "credit_type__name")
        .distinct()
    )


def _fetch_in(
    sql: str, values: Collection[str], params: Sequence[str] = ()
) -> list[tuple[Any, ...]]:
    """Run `sql` once per chunk of `values`; its `{in}` stands for the chunk.

    On PostgreSQL `{in}` is `= ANY(%s::text[])` with the chunk as one array parameter; on SQLite
    `IN (%s, %s, ...)`. Raw SQL on purpose: the ORM prepares every IN value on its own, which
    made these two look-ups cost as much as all the row checks together (10k rows: 65 ms ->
    30 ms on SQLite).
    """
    rows: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            statement = sql.format(**{"in": "= ANY(%s::text[])"})
            for chunk in _chunks(values, ARRAY_CHUNK):
                cursor.execute(statement, [_pg_text_array(chunk), *params])
                rows.extend(cursor.fetchall())
            return rows
        for chunk in _chunks(values):
            placeholders = ", ".join(["%s"] * len(chunk))
            cursor.execute(sql.format(**{"in": f"IN ({placeholders})"}), [*chunk, *params])
            rows.extend(cursor.fetchall())
    return rows


def _q(model: type[Model], field: str | None = None) -> str:
    """Quoted table name, or quoted column name of `field` (names from the models, never input)."""
    meta = model._meta
    name = meta.db_table if field is None else str(getattr(meta.get_field(field), "column", ""))
    return connection.ops.quote_name(name)


def registry_student_names(student_nos: Collection[str]) -> dict[str, str]:
    """学号 -> name of the registry's students (users with a student role) among `student_nos`."""
    user, username, name, user_pk = _q(User), _q(User, "username"), _q(User, "name"), _q(User, "id")
    membership, member, role = _q(Membership), _q(Membership, "user"), _q(Membership, "role")
    if connection.vendor == "postgresql":
        # The role is checked by a sub-select with LIMIT, which PostgreSQL never turns into a
        # join: one probe of the partial unique index on (user) WHERE role = student per user
        # found (EXPLAIN: Index Scan on username, then Index Only Scan of membership_one_class),
        # whatever its statistics say. As EXISTS it became a hash join that read every student
        # of the school for each chunk of 1,000 学号s: 100k students, 10k 学号s took 0.45 s in
        # ten statements, now one of ~35 ms.
        student = (
            f"(SELECT TRUE FROM {membership} m WHERE m.{member} = u.{user_pk}"  # noqa: S608
            f" AND m.{role} = %s LIMIT 1)"
        )
    else:
        # EXISTS, not a join: with a long IN list SQLite's planner would walk the (role) index
        # over every student of the school; this way both look-ups use an index.
        student = (
            f"EXISTS (SELECT 1 FROM {membership} m WHERE m.{member} = u.{user_pk}"  # noqa: S608
            f" AND m.{role} = %s)"
        )
    sql = (
        f"SELECT u.{username}, u.{name} FROM {user} u"  # noqa: S608
        f" WHERE u.{username} {{in}} AND {student}"
    )
    return dict(_fetch_in(sql, student_nos, [Membership.Role.STUDENT.value]))


def credited_keys(student_nos: Collection[str]) -> dict[CreditKey, int]:
    """(学号, 内容, 开始时间, 学分类型) -> request id, for credits these students already got."""
    record, request = _q(CreditRecord), _q(BackfillRequest)
    no, content = _q(CreditRecord, "student_no"), _q(CreditRecord, "content")
    start, credit_type = _q(CreditRecord, "start_date"), _q(CreditRecord, "credit_type")
    request_id, request_pk = _q(CreditRecord, "request"), _q(BackfillRequest, "id")
    state = _q(BackfillRequest, "state")
    states = ", ".join(["%s"] * len(CREDITED_STATES))
    sql = (
        f"SELECT c.{no}, c.{content}, c.{start}, c.{credit_type}, c.{request_id}"  # noqa: S608
        f" FROM {record} c JOIN {request} r ON r.{request_pk} = c.{request_id}"
        f" WHERE c.{no} {{in}} AND r.{state} IN ({states})"
    )
    found: dict[CreditKey, int] = {}
    for row_no, row_content, row_start, row_type, row_request in _fetch_in(
        sql, student_nos, [str(s) for s in CREDITED_STATES]
    ):
        if isinstance(row_start, str):  # SQLite hands raw dates back as text
            row_start = date.fromisoformat(row_start)
        # Compared as imports.matching compares them (full-width, spaces, punctuation, case).
        key = (row_no, match_text(row_content), row_start, match_text(row_type))
        found.setdefault(key, row_request)
    return found


def roster_lookups_load() -> RosterLookups:
    return RosterLookups(
        settings=credit_settings_load(),
        student_names=registry_student_names,
        credited=credited_keys,
    )


def roster_lookups_fingerprint() -> str:
    """A digest of the state a roster result depends on; a stored result is reused only if equal.

    Settings (names, credit type limits, the standard's pairs) are hashed exactly (a few hundred
    names). The registry and the credit records are
    summarized by count and highest id: rows are added far more often than edited. A student
    renamed in place is not seen, which is why reuse is also limited in age (see services).
    """
    digest = hashlib.sha256()
    for model in (ActivityCategory, ActivityLevel):
        for name in (
            model.objects.filter(is_active=True).order_by("name").values_list("name", flat=True)
        ):
            digest.update(f"{model.__name__}:{name}\n".encode())
    for name, limit in (
        CreditType.objects.filter(is_active=True).order_by("name").values_list("name", "max_value")
    ):
        digest.update(f"CreditType:{name}:{limit}\n".encode())
    for pair in sorted(_standard_pairs()):
        digest.update(f"standard:{pair[0]}/{pair[1]}\n".encode())
    for cat, sub in (
        ActivitySubcategory.objects.filter(is_active=True, category__is_active=True)
        .order_by("category__name", "name")
        .values_list("category__name", "name")
    ):
        digest.update(f"sub:{cat}/{sub}\n".encode())
    students = Membership.objects.filter(role=Membership.Role.STUDENT).aggregate(
        n=Count("pk"), last=Max("pk"), last_user=Max("user_id")
    )
    credited = CreditRecord.objects.filter(request__state__in=CREDITED_STATES).aggregate(
        n=Count("pk"), last=Max("pk")
    )
    digest.update(repr(sorted(students.items())).encode())
    digest.update(repr(sorted(credited.items())).encode())
    return digest.hexdigest()


UPLOADER_ROLES = frozenset(Membership.Role) - {Membership.Role.STUDENT}


def user_may_upload_roster(*, user: User) -> bool:
    """Staff in any role (and student applicants); a plain student may not."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return Membership.objects.filter(user_id=user.pk, role__in=UPLOADER_ROLES).exists()


def roster_uploads_for_user(*, user: User) -> list[RosterUpload]:
    """The user's own recent uploads (center staff see others' through a direct link only)."""
    return list(RosterUpload.objects.filter(uploaded_by=user).order_by("-created_at", "-pk")[:10])


def roster_upload_get_for_user(*, user: User, pk: int) -> RosterUpload:
    """The upload if `user` uploaded it or is center staff; else 404 (its existence is hidden)."""
    upload = RosterUpload.objects.select_related("uploaded_by").filter(pk=pk).first()
    if upload is None:
        raise Http404
    if upload.uploaded_by_id == user.pk or user_is_school_wide(user=user):
        return upload
    raise Http404
