"""Route building blocks for the kinds.

Each step is a signature the regulation requires (第三条, 第六条): a step whose owner is missing is
never dropped. It raises `MissingStepOwner`, whose message says who is missing and whom to ask;
`bulu.workflow.services.request_submit` refuses the submission and tells the center once.
A step whose only holders applied for or are listed in the request is refused there too
(`request_route`): nobody signs a step of a request they are in, not even by filing it.
Shapes that differ by design stay as designed: a school-level club or organization has no
college, so its route has no branch step (the kind leaves that step out, it is not "missing").
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from accounts.models import Membership, Organization
from bulu.exceptions import ApplicationError
from bulu.workflow.models import StepRole


@dataclass(frozen=True)
class StepSpec:
    role: str
    organization: Organization
    label: str


class MissingStepOwner(ApplicationError):
    """A step the route needs has nobody to sign it; `organization` may be None (no such unit)."""

    def __init__(self, message: str, *, role: str, organization: Organization | None) -> None:
        super().__init__(message, extra={"role": role})
        self.role = role
        self.organization = organization


# Who owns each step on its organization.
OWNER_ROLE: dict[str, str] = {
    StepRole.COUNSELOR: Membership.Role.COUNSELOR,
    StepRole.ADVISOR: Membership.Role.ADVISOR,
    StepRole.SECRETARY: Membership.Role.SECRETARY,
    StepRole.CENTER: Membership.Role.CENTER_STAFF,
    StepRole.COMMITTEE: Membership.Role.COMMITTEE_REVIEWER,
}
# The organization kind each step role sits on (what the missing-owner page checks).
STEP_ORG_KINDS: dict[str, tuple[str, ...]] = {
    StepRole.COUNSELOR: (Organization.Kind.CLASS,),
    StepRole.ADVISOR: (Organization.Kind.STUDENT_ORG, Organization.Kind.CLUB),
    StepRole.SECRETARY: (Organization.Kind.BRANCH,),
    StepRole.CENTER: (Organization.Kind.CENTER,),
    StepRole.COMMITTEE: (Organization.Kind.COMMITTEE,),
}


def has_owner(role: str, organization: Organization) -> bool:
    return Membership.objects.filter(
        organization=organization, role=OWNER_ROLE[role], user__is_active=True
    ).exists()


def _step(role: str, organization: Organization, label: str, missing: str) -> StepSpec:
    if not has_owner(role, organization):
        raise MissingStepOwner(missing, role=role, organization=organization)
    return StepSpec(role=role, organization=organization, label=label)


def step_counselor(*, klass: Organization, label: str | None = None) -> StepSpec:
    return _step(
        StepRole.COUNSELOR,
        klass,
        label or _("辅导员初审"),
        _("你的班级“%(org)s”尚未设置辅导员，暂时无法提交，请联系学院团总支。")
        % {"org": klass.name},
    )


def step_advisor(*, organization: Organization, label: str | None = None) -> StepSpec:
    return _step(
        StepRole.ADVISOR,
        organization,
        label or _("指导老师审核"),
        _("“%(org)s”尚未设置指导老师，暂时无法提交，请联系二课中心。") % {"org": organization.name},
    )


def college_branch(college: Organization | None) -> Organization | None:
    if college is None:
        return None
    return Organization.objects.filter(kind=Organization.Kind.BRANCH, parent=college).first()


def step_branch(
    *, college: Organization | None, unit: Organization, label: str | None = None
) -> StepSpec:
    """The college's 团总支; `unit` (a class or organization) names what is missing in messages."""
    if college is None:
        raise MissingStepOwner(
            _("“%(org)s”尚未归属二级学院，暂时无法提交，请联系二课中心。") % {"org": unit.name},
            role=StepRole.SECRETARY,
            organization=None,
        )
    branch = college_branch(college)
    if branch is None:
        raise MissingStepOwner(
            _("%(college)s尚未建立团总支，暂时无法提交，请联系二课中心。")
            % {"college": college.name},
            role=StepRole.SECRETARY,
            organization=None,
        )
    return _step(
        StepRole.SECRETARY,
        branch,
        label or _("学院团总支审核"),
        _("%(branch)s尚未设置团总支书记，暂时无法提交，请联系二课中心。") % {"branch": branch.name},
    )


def _school_unit(kind: str) -> Organization | None:
    return Organization.objects.filter(kind=kind, is_active=True).order_by("pk").first()


def step_center(*, label: str | None = None) -> StepSpec:
    center = _school_unit(Organization.Kind.CENTER)
    missing = _("二课中心尚未设置审核人员，暂时无法提交，请联系二课中心或系统管理员。")
    if center is None:
        raise MissingStepOwner(missing, role=StepRole.CENTER, organization=None)
    return _step(StepRole.CENTER, center, label or _("二课中心审核认定"), missing)


def step_committee(*, label: str | None = None) -> StepSpec:
    committee = _school_unit(Organization.Kind.COMMITTEE)
    missing = _("校团委尚未设置审核人，暂时无法提交，请联系二课中心。")
    if committee is None:
        raise MissingStepOwner(missing, role=StepRole.COMMITTEE, organization=None)
    return _step(StepRole.COMMITTEE, committee, label or _("校团委审核"), missing)
