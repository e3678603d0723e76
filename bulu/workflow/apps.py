from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_save
from django.utils.translation import gettext_lazy as _


def _owner_added(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    """A role was granted: a missing-owner alert for it is resolved (a later gap re-alerts)."""
    if created:
        from bulu.workflow.services import owner_gap_alerts_clear

        owner_gap_alerts_clear(
            organization_id=instance.organization_id, membership_role=instance.role
        )


class WorkflowConfig(AppConfig):
    name = "bulu.workflow"
    label = "workflow"
    verbose_name = _("审批流程")

    def ready(self) -> None:
        from accounts.models import Membership

        post_save.connect(_owner_added, sender=Membership, dispatch_uid="workflow.owner_added")
