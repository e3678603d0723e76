"""manage.py role_change grant|revoke|confirm|refuse|pending … --by 工号.

The same rules as the page 角色管理: the operator names the person acting (`--by`), nobody
changes their own roles, and an approver role's grant waits for a second person (`confirm`
by another center staff member or a superuser; a superuser's own proposal takes effect at once).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Membership, Organization, RoleChange, User
from accounts.services import role_change_confirm, role_change_propose, role_change_refuse
from bulu.exceptions import ApplicationError


def _user(username: str) -> User:
    try:
        return User.objects.get(username=username)
    except User.DoesNotExist as exc:
        raise CommandError(f"没有学号/工号为 {username} 的用户") from exc


def _organization(ref: str) -> Organization:
    orgs = list(
        Organization.objects.filter(pk=int(ref))
        if ref.isdigit()
        else Organization.objects.filter(name=ref)
    )
    if not orgs:
        raise CommandError(f"没有组织“{ref}”")
    if len(orgs) > 1:
        raise CommandError(
            f"有多个组织名为“{ref}”，请用组织 id：{', '.join(str(o.pk) for o in orgs)}"
        )
    return orgs[0]


class Command(BaseCommand):
    help = (
        "调整角色（与“角色管理”页面规则相同）：grant/revoke 提出授予或撤销（--user --org --role），"
        "confirm/refuse 确认或拒绝待确认的调整（--id），pending 列出待确认的调整。"
        "--by 为办理人的工号；不能调整自己的角色，授予审核角色须另一人确认。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["grant", "revoke", "confirm", "refuse", "pending"])
        parser.add_argument(
            "--by", help="username of the person acting (center staff or superuser)"
        )
        parser.add_argument("--user", help="username whose role changes")
        parser.add_argument("--org", help="organization id or exact name")
        parser.add_argument("--role", choices=Membership.Role.values)
        parser.add_argument("--id", type=int, help="role change id (confirm, refuse)")
        parser.add_argument("--reason", default="", help="说明 / 拒绝理由")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "pending":
            for c in RoleChange.objects.filter(status=RoleChange.Status.PENDING).order_by("pk"):
                self.stdout.write(f"{c.pk}\t{c}\t{c.proposed_by or '系统'}")
            return
        if not options["by"]:
            raise CommandError("请用 --by 指明办理人的工号")
        actor = _user(options["by"])
        try:
            if action in ("grant", "revoke"):
                if not (options["user"] and options["org"] and options["role"]):
                    raise CommandError("grant/revoke 需要 --user --org --role")
                change = role_change_propose(
                    actor=actor,
                    user=_user(options["user"]),
                    organization=_organization(options["org"]),
                    role=options["role"],
                    action=action,
                    source=RoleChange.Source.COMMAND,
                    reason=options["reason"],
                )
            else:
                if options["id"] is None:
                    raise CommandError("confirm/refuse 需要 --id")
                try:
                    pending = RoleChange.objects.get(pk=options["id"])
                except RoleChange.DoesNotExist as exc:
                    raise CommandError(f"没有角色调整 #{options['id']}") from exc
                if action == "confirm":
                    change = role_change_confirm(change=pending, actor=actor)
                else:
                    change = role_change_refuse(
                        change=pending, actor=actor, reason=options["reason"]
                    )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            self.style.SUCCESS(f"#{change.pk} {change}：{change.get_status_display()}")
        )
