"""`python manage.py demo_logins`: the demo persona logins that exist in this database."""

from __future__ import annotations

import unicodedata
from typing import Any

from django.core.management.base import BaseCommand

from accounts.demo import DEMO_PASSWORD, PERSONAS
from accounts.models import Membership, User
from bulu.addresses import public_url


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("F", "W") else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def format_table(header: list[str], rows: list[list[str]]) -> str:
    """A plain-text table whose columns line up with Chinese (full-width) text."""
    widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(_pad(c, w) for c, w in zip(cells, widths, strict=True)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def _describe(user: User) -> str:
    if user.is_superuser:
        return "超级管理员，可进入管理后台"
    parts: dict[str, list[str]] = {}
    memberships = sorted(
        user.memberships.all(), key=lambda m: (m.role != Membership.Role.STUDENT, m.pk)
    )
    for m in memberships:
        parts.setdefault(m.get_role_display(), []).append(m.organization.name)
    text = "；".join(f"{role}：{'、'.join(orgs)}" for role, orgs in parts.items()) or "暂无角色"
    if user.is_staff:
        text += "；可进入管理后台"
    return text


class Command(BaseCommand):
    help = "列出本数据库中存在的演示账号（角色、账号、密码、姓名、说明）。"

    def handle(self, *args: Any, **options: Any) -> None:
        users = {
            u.username: u
            for u in User.objects.filter(
                username__in=[p.username for p in PERSONAS]
            ).prefetch_related("memberships__organization")
        }
        rows = [
            [
                p.role,
                p.username,
                DEMO_PASSWORD,
                users[p.username].get_full_name(),
                _describe(users[p.username]),
            ]
            for p in PERSONAS
            if p.username in users
        ]
        if not rows:
            self.stdout.write("尚无演示账号：请先运行 python manage.py seed_demo。")
            return
        self.stdout.write("演示账号（密码均为演示密码；如已在系统中修改，以修改后的为准）：")
        self.stdout.write(format_table(["角色", "账号", "密码", "姓名", "说明"], rows))
        self.stdout.write(f"登录地址：{public_url('login')}")
