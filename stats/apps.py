from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StatsConfig(AppConfig):
    name = "stats"
    verbose_name = _("统计")

    def ready(self) -> None:
        from bulu.workflow.registry import step_decided_listen
        from credits.services import credit_records_created_listen
        from stats.tallies import credit_tally_add, wait_tally_add

        credit_records_created_listen(credit_tally_add)
        step_decided_listen(wait_tally_add)
