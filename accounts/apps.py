from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def center_staff_group_sync(**kwargs: Any) -> None:
    """Give the center staff group its model permissions (idempotent, after each migrate)."""
    from django.contrib.auth.models import Group, Permission

    from accounts.roles import CENTER_STAFF_GROUP, center_staff_model_permissions

    group, _created = Group.objects.get_or_create(name=CENTER_STAFF_GROUP)
    wanted = []
    for dotted in center_staff_model_permissions():
        app_label, codename = dotted.split(".", 1)
        perm = Permission.objects.filter(
            content_type__app_label=app_label, codename=codename
        ).first()
        if perm is not None:
            wanted.append(perm)
    group.permissions.set(wanted)


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("账号与组织")

    def ready(self) -> None:
        post_migrate.connect(center_staff_group_sync, dispatch_uid="accounts.center_staff_group")
