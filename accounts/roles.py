"""Which role may sit on which kind of organization, and which object permissions it grants."""

from __future__ import annotations

from accounts.models import Membership, Organization

Role = Membership.Role
Kind = Organization.Kind

ROLE_ORG_KINDS: dict[str, frozenset[str]] = {
    Role.STUDENT: frozenset({Kind.CLASS}),
    Role.COUNSELOR: frozenset({Kind.CLASS}),
    Role.ADVISOR: frozenset({Kind.STUDENT_ORG, Kind.CLUB}),
    Role.SECRETARY: frozenset({Kind.BRANCH}),
    Role.APPLICANT: frozenset({Kind.STUDENT_ORG, Kind.CLUB, Kind.BRANCH}),
    Role.CENTER_STAFF: frozenset({Kind.CENTER}),
    Role.COMMITTEE_REVIEWER: frozenset({Kind.COMMITTEE}),
}

ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    Role.STUDENT: (),
    Role.COUNSELOR: ("view_org_requests", "approve_as_counselor"),
    Role.ADVISOR: ("view_org_requests", "approve_as_advisor"),
    Role.SECRETARY: ("view_org_requests", "approve_as_secretary"),
    Role.APPLICANT: ("view_org_requests", "submit_for_org"),
    Role.CENTER_STAFF: ("view_org_requests", "approve_as_center", "manage_registry"),
    Role.COMMITTEE_REVIEWER: ("view_org_requests", "approve_as_committee"),
}

# Roles whose grant takes two people (a proposer and a confirmer, see accounts.services): every
# role that signs a step of a request (its permissions include an approve_as_*), the school-wide
# ones (二课中心, 校团委) among them. A student's class and a unit's student applicant carry no
# signature and are granted in one step (still never by the person themself).
APPROVER_ROLES: frozenset[str] = frozenset(
    role
    for role, perms in ROLE_PERMISSIONS.items()
    if any(p.startswith("approve_as_") for p in perms)
)

# Center staff edit the 到梦空间 settings mirror and the notices in the admin through this group;
# its model permissions are (re)applied after every migrate (see accounts.apps).
CENTER_STAFF_GROUP = "二课中心工作人员"
_EDITABLE = {
    "imports": (
        "activitycategory",
        "activitysubcategory",
        "activitylevel",
        "credittype",
        "creditstandarditem",
    ),
    "workflow": ("window",),
}
CENTER_STAFF_MODEL_PERMISSIONS: tuple[str, ...] = (
    *(
        f"{app}.{action}_{model}"
        for app, models in _EDITABLE.items()
        for model in models
        for action in ("view", "add", "change", "delete")
    ),
    "credits.view_creditrecord",
    "workflow.view_backfillrequest",
    "workflow.view_approvalrecord",
    # Users are only viewed: change_user in the admin could grant superuser status.
    "accounts.view_user",
    *(f"accounts.{action}_organization" for action in ("view", "add", "change")),
    # Roles are only viewed in the admin: they change through the proposals page (two people).
    "accounts.view_membership",
    "accounts.view_rolechange",
)
# Apps above accounts (a kind's own settings, say) add theirs from AppConfig.ready().
_REGISTERED: list[str] = []


def center_staff_models_register(app_label: str, *models: str) -> None:
    """Let center staff view, add, change and delete these models in the admin."""
    for model in models:
        for action in ("view", "add", "change", "delete"):
            perm = f"{app_label}.{action}_{model}"
            if perm not in _REGISTERED:
                _REGISTERED.append(perm)


def center_staff_model_permissions() -> tuple[str, ...]:
    return (*CENTER_STAFF_MODEL_PERMISSIONS, *_REGISTERED)
