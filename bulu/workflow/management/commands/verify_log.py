from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from bulu.workflow.ledger import log_verify

REASONS = {
    "hash": "记录内容与其校验值不符（记录被改动过）",
    "prev_hash": "与上一条记录衔接不上（此前的记录被改动、删除或插入过）",
}


class Command(BaseCommand):
    help = "校验审批记录的哈希链：逐个申请检查，报告每条链第一处断开的记录；有断开时退出码为 1。"

    def handle(self, *args: Any, **options: Any) -> None:
        breaks, requests, records = log_verify()
        for b in breaks:
            self.stderr.write(
                f"申请 #{b.request_id}：审批记录 #{b.record_id} 处断开 — {REASONS[b.reason]}"
            )
        if breaks:
            self.stderr.write(
                f"审批记录校验失败：{len(breaks)} 个申请的记录链断开"
                f"（共检查 {requests} 个申请、{records} 条记录）。"
            )
            raise SystemExit(1)
        self.stdout.write(f"OK：{requests} 个申请、{records} 条审批记录，记录链完整。")
