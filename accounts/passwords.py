"""Initial passwords for imported students, handed out on paper by counselors.

Hashing is deliberately slow (PBKDF2 with 10^6 iterations costs ~0.4 s here), so issuing 1,500
initial passwords with it would take ten minutes. Initial passwords are one-time: they use a
cheaper PBKDF2 (20,000 iterations, ~8 ms), the user must change the password at first login, and
Django re-hashes with the full-strength hasher on that login anyway (the hasher is not preferred).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.contrib.auth.hashers import PBKDF2PasswordHasher, make_password
from django.db import transaction
from django.db.models import QuerySet

from accounts.models import Membership, User

# No 0/O, 1/l/I: the code is read off paper and typed on a phone.
ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
LENGTH = 8


class InitialPasswordHasher(PBKDF2PasswordHasher):
    algorithm = "pbkdf2_initial"
    iterations = 20_000


def initial_password_generate() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


@dataclass(frozen=True)
class IssuedPassword:
    user: User
    password: str


def initial_passwords_issue(*, students: QuerySet[User], reset: bool) -> list[IssuedPassword]:
    """New one-time passwords for `students`; without `reset`, only for those who have none.

    The plain passwords are returned once (for the sheet the counselor hands out) and never stored.
    """
    # Only plain students: an account that also holds a staff role (or admin rights) is never
    # reset from a class list, or a counselor could take it over.
    staff_roles = Membership.objects.exclude(role=Membership.Role.STUDENT).values("user_id")
    targets = list(
        students.filter(is_staff=False, is_superuser=False)
        .exclude(pk__in=staff_roles)
        .order_by("username")
    )
    if not reset:
        targets = [u for u in targets if not u.has_usable_password()]
    issued = []
    for user in targets:
        password = initial_password_generate()
        user.password = make_password(password, hasher=InitialPasswordHasher.algorithm)
        user.must_change_password = True
        issued.append(IssuedPassword(user=user, password=password))
    with transaction.atomic():
        User.objects.bulk_update(
            [i.user for i in issued], ["password", "must_change_password"], batch_size=500
        )
    return issued
