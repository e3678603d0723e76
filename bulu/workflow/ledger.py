"""The approval log as a hash chain.

Each `ApprovalRecord` carries `hash`: sha256 over its content and `prev_hash`, the hash of the
request's previous record (in id order; "" for the first). Records are created only by the
workflow services, under the request's row lock, so one request's records are inserted one at
a time and the chain cannot fork. Changing any hashed column of a stored record, deleting one,
or inserting one in between breaks the chain at that record: `chain_breaks` (and
`manage.py verify_log`) finds it.

The digest reads plain values (what a row holds), so the data migration that sealed the rows
stored before the chain existed uses the same function on its historical model.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# The columns that make a record what it is (everything but the id and the hashes).
HASHED_FIELDS = (
    "request_id",
    "submission",
    "step_index",
    "step_role",
    "step_label",
    "organization_id",
    "actor_id",
    "decision",
    "opinion",
    "from_state",
    "to_state",
    "context",
    "created_at",
)
CHAIN_FIELDS = ("pk", *HASHED_FIELDS, "prev_hash", "hash")
VERSION = "bulu-log-1"


def _moment(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def record_digest(values: Mapping[str, Any], prev_hash: str) -> str:
    """sha256 (hex) of a record's hashed columns and its predecessor's hash."""
    content: dict[str, Any] = {}
    for field in HASHED_FIELDS:
        value = values[field]
        if field == "created_at":
            value = _moment(value)
        elif field == "context":
            # As the JSON column gives it back (tuples are lists, keys are strings).
            value = json.loads(json.dumps(value or {}))
        content[field] = value
    payload = json.dumps(
        [VERSION, prev_hash, content], sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def record_values(record: Any) -> dict[str, Any]:
    """The hashed columns of a model instance (current or historical model)."""
    return {f: getattr(record, f) for f in HASHED_FIELDS}


def record_seal(record: Any, prev_hash: str) -> None:
    """Set `prev_hash` and `hash` on an unsaved record."""
    record.prev_hash = prev_hash
    record.hash = record_digest(record_values(record), prev_hash)


@dataclass(frozen=True)
class Break:
    request_id: int
    record_id: int
    reason: str


def chain_breaks(
    rows: Iterable[Mapping[str, Any]], tally: list[int] | None = None
) -> Iterator[Break]:
    """Walk records ordered by (request_id, pk); yield the first break of each request's chain.

    `tally`, if given, is a two-element list that receives [requests, records] walked.
    """
    current: int | None = None
    prev = ""
    broken = False
    for row in rows:
        if row["request_id"] != current:
            current, prev, broken = row["request_id"], "", False
            if tally is not None:
                tally[0] += 1
        if tally is not None:
            tally[1] += 1
        if broken:
            continue
        if row["prev_hash"] != prev:
            broken = True
            yield Break(row["request_id"], row["pk"], "prev_hash")
        elif row["hash"] != record_digest(row, prev):
            broken = True
            yield Break(row["request_id"], row["pk"], "hash")
        else:
            prev = row["hash"]


def log_verify() -> tuple[list[Break], int, int]:
    """Walk every request's chain: (first break of each broken chain, requests, records)."""
    from bulu.workflow.models import ApprovalRecord

    rows = (
        ApprovalRecord.objects.order_by("request_id", "pk")
        .values(*CHAIN_FIELDS)
        .iterator(chunk_size=5000)
    )
    tally = [0, 0]
    breaks = list(chain_breaks(rows, tally))
    return breaks, tally[0], tally[1]
