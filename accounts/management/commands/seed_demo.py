"""`python manage.py seed_demo`: build the demo school (idempotent)."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.demo import DEMO_PASSWORD, demo_seed_school, demo_steps


class Command(BaseCommand):
    help = "生成演示数据：四个二级学院、20 个班级、600 名学生和各角色的演示账号（可重复运行）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="在生产数据库上、DEBUG 关闭时也生成（演示密码公开，切勿用于真实数据）。",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # The embedded default (SQLite under var/, no DATABASE_URL) is a demo or a laptop; a
        # production database gets public passwords only when asked explicitly.
        if not settings.DEBUG and not settings.EMBEDDED and not options["force"]:
            raise CommandError(
                "已配置生产数据库（DATABASE_URL）且 DEBUG 关闭：演示数据中的管理员和所有演示账号的"
                "密码都是公开的。确需生成（例如压力测试用的临时库）请加 --force。"
            )
        started = time.monotonic()
        s = demo_seed_school()
        seconds = time.monotonic() - started
        if s.users_created or s.memberships_created:
            head = f"演示数据已生成：新建用户 {s.users_created} 个、角色 {s.memberships_created} 个"
        else:
            head = "演示数据已存在，无需改动"
        self.stdout.write(self.style.SUCCESS(f"{head}（用时 {seconds:.1f} 秒）。"))
        self.stdout.write(
            f"  二级学院 {s.colleges} 个（各有团总支，共 {s.branches} 个），班级 {s.classes} 个，"
            f"学生组织与社团 {s.organizations} 个\n"
            f"  学生 {s.students} 名，辅导员 {s.counselors} 名，团总支书记 {s.secretaries} 名，"
            f"指导老师 {s.advisors} 名，学生干部（申请人）{s.applicants} 名，"
            f"二课中心工作人员 {s.center_staff} 名，校团委审核人 {s.committee_reviewers} 名"
        )
        for name, step in demo_steps():
            self.stdout.write(f"  {name}：{step()}")
        self.stdout.write(
            f"所有演示账号的密码都是 {DEMO_PASSWORD}（仅供演示）。"
            "运行 python manage.py demo_logins 查看可直接登录的账号。"
        )
