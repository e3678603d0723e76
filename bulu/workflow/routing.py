"""Route building blocks for the kinds; a step whose owner does not exist is left out."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from accounts.models import Membership, Organization
from bulu.workflow.models import StepRole


@dataclass(frozen=True)
class StepSpec:
    role: str
    organization: Organization
    label: str


_OWNER_ROLE: dict[str, str] = {
    StepRole.COUNSELOR: Membership.Role.COUNSELOR,
    StepRole.ADVISOR: Membership.Role.ADVISOR,
    StepRole.SECRETARY: Membership.Role.SECRETARY,
    StepRole.CENTER: Membership.Role.CENTER_STAFF,
    StepRole.COMMITTEE: Membership.Role.COMMITTEE_REVIEWER,
}


def _has_owner(role: str, organization: Organization) -> bool:
    return Membership.objects.filter(organization=organization, role=_OWNER_ROLE[role]).exists()


def _step(role: str, organization: Organization | None, label: str) -> list[StepSpec]:
    if organization is None or not _has_owner(role, organization):
        return []
    return [StepSpec(role=role, organization=organization, label=label)]


def step_counselor(*, klass: Organization | None, label: str | None = None) -> list[StepSpec]:
    return _step(StepRole.COUNSELOR, klass, label or _("辅导员初审"))


def step_advisor(*, organization: Organization | None) -> list[StepSpec]:
    return _step(StepRole.ADVISOR, organization, _("指导老师审核"))


def step_branch(*, college: Organization | None, label: str | None = None) -> list[StepSpec]:
    branch = (
        Organization.objects.filter(kind=Organization.Kind.BRANCH, parent=college).first()
        if college
        else None
    )
    return _step(StepRole.SECRETARY, branch, label or _("学院团总支审核"))


def step_center(*, label: str | None = None) -> list[StepSpec]:
    center = Organization.objects.filter(kind=Organization.Kind.CENTER, is_active=True).first()
    return _step(StepRole.CENTER, center, label or _("二课中心审核认定"))


def step_committee() -> list[StepSpec]:
    committee = Organization.objects.filter(
        kind=Organization.Kind.COMMITTEE, is_active=True
    ).first()
    return _step(StepRole.COMMITTEE, committee, _("校团委审核"))
