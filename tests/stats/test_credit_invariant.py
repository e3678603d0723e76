"""The student's credit panel reads credit records without their request's state
(credits.selectors.student_credit_summary): that holds because records are written only at final
approval and no transition leads out of the credited states. This keeps the second half true."""

from __future__ import annotations

from bulu.workflow.models import BackfillRequest
from stats.tallies import CREDITED_STATES


def test_no_transition_leads_out_of_the_credited_states() -> None:
    field = BackfillRequest._meta.get_field("state")
    seen = 0
    for t in field.get_all_transitions(BackfillRequest):
        if t.source in (*CREDITED_STATES, "*", "+"):
            seen += 1
            targets = getattr(t.target, "allowed_states", None) or [t.target]
            assert set(targets) <= set(CREDITED_STATES), (t.name, t.source, targets)
    assert seen >= 3  # mark_exported, unmark_exported, confirm_imported
