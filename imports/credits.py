"""Temporary: moved to `credits.services`; kept for branches written before the move. Remove once
every branch is merged (nothing in this branch imports it)."""

from credits.services import (
    CreditSums,
    credit_records_announce,
    credit_records_create,
    credit_records_created_listen,
)

__all__ = [
    "CreditSums",
    "credit_records_announce",
    "credit_records_create",
    "credit_records_created_listen",
]
