"""Where a returned request goes when it is resubmitted (docs/decisions.md, "Returns").

The person returning at step N (N > 1) chooses: 「重新从第一步审核」 (the default, as before)
or 「修改后直接回到我这一步」. The return record's context keeps the choice and a digest of
each part of what the earlier steps signed for (the kind's `signed_content`). At resubmission
the route starts at the returner's step, keeping the earlier steps' signatures, only when none
of those parts changed, the route is the same and no earlier signer is now in conflict with
the request; otherwise it restarts at step 1 and the resubmission record says why. Every kept
step is named on the resubmission record (「第N步沿用上次签字」): no step is skipped silently.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from accounts.models import User
from bulu.exceptions import ApplicationError
from bulu.workflow.models import ApprovalRecord, BackfillRequest, Decision, RouteStep, State
from bulu.workflow.registry import kind_hooks
from bulu.workflow.routing import StepSpec
from bulu.workflow.selectors import kept_approvals, people_conflicted

RESTART = "restart"
OWN_STEP = "own_step"
RESUME_CHOICES = (RESTART, OWN_STEP)


def content_digests(request: BackfillRequest) -> dict[str, str] | None:
    """SHA-256 of each part of what the earlier steps signed for; None if the kind has none."""
    hook = kind_hooks(request.kind).signed_content
    if hook is None:
        return None
    parts = hook(request)
    assert isinstance(parts, dict)
    return {
        str(label): hashlib.sha256(
            json.dumps(
                value, sort_keys=True, default=str, ensure_ascii=False, separators=(",", ":")
            ).encode()
        ).hexdigest()
        for label, value in parts.items()
    }


def resume_offered(request: BackfillRequest) -> bool:
    """Whether the decider at the current step may send a resubmission back to this step."""
    return (
        request.state == State.PENDING
        and request.step_index > 0
        and kind_hooks(request.kind).signed_content is not None
    )


def return_context(request: BackfillRequest, *, step: RouteStep, resume: str) -> dict[str, Any]:
    """The return record's part about where the resubmission goes (refuses a wrong choice).

    Call before the transition, with the request still pending at `step`."""
    if resume not in ("", *RESUME_CHOICES):
        raise ApplicationError(_("未知的退回方式，请选择重新提交后从哪一步开始审核。"))
    if resume != OWN_STEP:
        return {"resume": RESTART}
    if not resume_offered(request):
        raise ApplicationError(
            _("在第一步退回时，重新提交后总是从第一步审核，不能选择“修改后直接回到我这一步”。")
        )
    return {
        "resume": OWN_STEP,
        "resume_step": step.index,
        "resume_label": step.label,
        "content_digest": content_digests(request),
    }


def destination_text(context: dict[str, Any]) -> str:
    """For the applicant: where the resubmission of a request returned with `context` goes."""
    if context.get("resume") == OWN_STEP:
        parts = "、".join(context.get("content_digest") or {}) or _("已签字的内容")
        return _(
            "修改后重新提交将直接回到“%(label)s”，此前各环节的签字继续有效；"
            "但如果修改了%(parts)s，将从第一步重新审核。"
        ) % {"label": context.get("resume_label", ""), "parts": parts}
    return _("修改后重新提交将从第一步重新审核。")


@dataclass(frozen=True)
class ResumePlan:
    start: int = 0
    context: dict[str, Any] = field(default_factory=dict)


def _changed_parts(request: BackfillRequest, returned: ApprovalRecord) -> list[str]:
    before = returned.context.get("content_digest") or {}
    now = content_digests(request) or {}
    return [
        label for label in sorted(set(before) | set(now)) if before.get(label) != now.get(label)
    ]


def _restart_reason(
    request: BackfillRequest, route: list[StepSpec], returned: ApprovalRecord, kept: list[Any]
) -> str:
    changed = _changed_parts(request, returned)
    if changed:
        return _("申请人修改了此前环节已签字确认的内容（%(parts)s），须从第一步重新审核。") % {
            "parts": "、".join(changed)
        }
    before = [(s.role, s.organization_id) for s in request.route_steps.all()]
    if before != [(s.role, s.organization.pk) for s in route]:
        return _("审核流程已变化，须从第一步重新审核。")
    start = int(returned.context.get("resume_step") or 0)
    if sorted(r.step_index for r in kept) != list(range(start)):
        return _("此前环节的签字不完整，须从第一步重新审核。")
    signers = {r.actor_id for r in kept}
    if User.objects.filter(people_conflicted(request=request), pk__in=signers).exists():
        return _("此前环节的签字人现为本申请的申请人或名单中的人员，须从第一步重新审核。")
    return ""


def resume_plan(request: BackfillRequest, route: list[StepSpec]) -> ResumePlan:
    """Where a resubmission starts; call after `resubmit()` (the submission counted), while the
    previous route's steps still exist. The plan's context goes on the resubmission record."""
    returned = (
        ApprovalRecord.objects.filter(
            request_id=request.pk, submission=request.submission - 1, decision=Decision.RETURN
        )
        .order_by("-pk")
        .first()
    )
    if returned is None or returned.context.get("resume") != OWN_STEP:
        return ResumePlan()
    start = int(returned.context.get("resume_step") or 0)
    kept = list(
        kept_approvals(
            request_id=request.pk, start_index=start, submission=request.submission
        ).select_related("actor")
    )
    reason = _restart_reason(request, route, returned, kept)
    if reason:
        return ResumePlan(0, {"resume": RESTART, "restart_reason": reason})
    return ResumePlan(
        start,
        {
            "resume": OWN_STEP,
            "resumed_at": start,
            "kept": [
                {
                    "step": r.step_index,
                    "record": r.pk,
                    "submission": r.submission,
                    "text": _("第%(n)s步沿用上次签字（%(label)s · %(signer)s）")
                    % {
                        "n": (r.step_index or 0) + 1,
                        "label": r.step_label,
                        "signer": r.actor.get_full_name(),
                    },
                }
                for r in kept  # in step order
            ],
        },
    )


def resubmission_message(request: BackfillRequest) -> str:
    """The applicant's message after a resubmission that chose between the two ("" otherwise:
    the kind says its usual words)."""
    record = request.log.order_by("-pk").first()
    context = record.context if record is not None and record.decision == Decision.RESUBMIT else {}
    step = request.current_step
    label = step.label if step is not None else ""
    if context.get("kept"):
        return _("已重新提交，直接回到“%(label)s”；此前各环节的签字继续有效。") % {"label": label}
    if context.get("restart_reason"):
        return _("已重新提交，从“%(label)s”重新审核：%(reason)s") % {
            "label": label,
            "reason": context["restart_reason"],
        }
    return ""
