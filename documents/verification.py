"""The verification code printed on every PDF, and what /verify/<code> says about it.

code = "<request id>-<n>-<mac>": n is how many decisions of the request's log the document
reflects, mac the first 80 bits (base32) of an HMAC-SHA256 — key derived from SECRET_KEY — over
the request's id and kind and those n log records. Approval records are never changed, so the
code of any earlier document can be recomputed: a code whose MAC does not match is unknown (forged
or mistyped); a matching code with decisions after its n is outdated.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC
from typing import Literal

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

from bulu.addresses import public_url
from bulu.workflow.models import ApprovalRecord, BackfillRequest, Decision

SALT = "bulu.documents.verification"
# The decisions a form shows; exports and imports change no form.
SIGNED_DECISIONS = (
    Decision.SUBMIT,
    Decision.RESUBMIT,
    Decision.APPROVE,
    Decision.RETURN,
    Decision.REJECT,
    Decision.WITHDRAW,
)
CODE_RE = re.compile(r"^(\d{1,12})-(\d{1,5})-([A-Z2-7]{16})$")


def signed_records(*, request_id: int) -> list[ApprovalRecord]:
    return list(
        ApprovalRecord.objects.filter(request_id=request_id, decision__in=SIGNED_DECISIONS)
        .select_related("actor", "organization")
        .order_by("created_at", "pk")
    )


def _mac(request: BackfillRequest, records: list[ApprovalRecord]) -> str:
    canonical = json.dumps(
        {
            "request": request.pk,
            "kind": request.kind,
            "log": [
                [
                    r.pk,
                    r.decision,
                    r.step_index,
                    r.step_role,
                    r.actor_id,
                    r.opinion,
                    r.submission,
                    r.created_at.astimezone(UTC).isoformat(),
                ]
                for r in records
            ],
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    mac = salted_hmac(SALT, digest, secret=settings.SECRET_KEY, algorithm="sha256").digest()
    return base64.b32encode(mac[:10]).decode("ascii")


def code_for(*, request: BackfillRequest, records: list[ApprovalRecord]) -> str:
    return f"{request.pk}-{len(records)}-{_mac(request, records)}"


def verify_url(code: str) -> str:
    return public_url("documents:verify", code)


@dataclass(frozen=True)
class Verdict:
    status: Literal["genuine", "outdated", "unknown"]
    request: BackfillRequest | None = None
    records: tuple[ApprovalRecord, ...] = ()
    reflected: int = 0


def code_normalize(raw: str) -> str:
    return re.sub(r"\s+", "", raw or "").upper()


def code_verify(raw: str) -> Verdict:
    match = CODE_RE.match(code_normalize(raw))
    if match is None:
        return Verdict("unknown")
    pk, n, mac = int(match[1]), int(match[2]), match[3]
    request = (
        BackfillRequest.objects.select_related("applicant", "applicant_org", "college")
        .filter(pk=pk, submitted_at__isnull=False)
        .first()
    )
    if request is None:
        return Verdict("unknown")
    records = signed_records(request_id=pk)
    if n == 0 or n > len(records) or not constant_time_compare(_mac(request, records[:n]), mac):
        return Verdict("unknown")
    status: Literal["genuine", "outdated"] = "genuine" if n == len(records) else "outdated"
    return Verdict(status, request, tuple(records), n)


@functools.lru_cache(maxsize=512)
def qr_data_uri(url: str) -> str:
    """The QR code of `url` as an SVG data URI (segno: pure Python, no image library).

    Cached: every form of a request carries the same code, and a download rebuilds the HTML to
    see whether the stored PDF is still current."""
    import segno

    return str(segno.make(url, error="m", micro=False).svg_data_uri(scale=4, border=1))


def mask_name(name: str) -> str:
    """张三 -> 张*, 欧阳娜娜 -> 欧***: the first character stays, the rest is masked."""
    name = (name or "").strip()
    if not name:
        return ""
    return name[0] + "*" * max(len(name) - 1, 1) if len(name) > 1 else "*"


_DIGITS = re.compile(r"\d{6,}")


def scrub(text: str, *, names: list[str]) -> str:
    """Public text: long digit runs (学号, phone numbers) and the given names are masked."""
    out = _DIGITS.sub(lambda m: "*" * len(m[0]), text or "")
    for name in names:
        if name and len(name) > 1:
            out = out.replace(name, mask_name(name))
    return out


def public_summary(verdict: Verdict) -> dict[str, object]:
    """What the public page shows of the request: names masked, no 学号 or phone numbers."""
    from django.utils import timezone

    from bulu.workflow.models import Kind, State

    request = verdict.request
    assert request is not None
    names = [request.applicant.name, *(r.actor.name for r in verdict.records)]
    unit = request.applicant_org.name
    if request.college is not None and request.college.name not in unit:
        unit = f"{request.college.name} · {unit}"
    return {
        "kind": Kind(request.kind).label,
        "title": scrub(request.title, names=names),
        "unit": scrub(unit, names=names),
        "applicant": mask_name(request.applicant.name),
        "state": State(request.state).label,
        "decisions": [
            {
                "n": n,
                "step": r.step_label,
                "decision": Decision(r.decision).label,
                "date": timezone.localtime(r.created_at).date(),
                "actor": mask_name(r.actor.name),
                "after": n > verdict.reflected,
            }
            for n, r in enumerate(verdict.records, start=1)
        ],
        "reflected": verdict.reflected,
        "total": len(verdict.records),
    }
