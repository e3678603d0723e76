"""Navigation for the base layout: what this user's roles can do, computed once per request."""

from __future__ import annotations

from django.http import HttpRequest

from accounts.models import Membership, User
from accounts.selectors import user_may_issue_passwords, user_role_codes, user_scope
from bulu.jobs.selectors import jobs_failed_open
from bulu.workflow.selectors import kinds_user_may_start

Role = Membership.Role
APPROVER_ROLES = frozenset(
    {Role.COUNSELOR, Role.ADVISOR, Role.SECRETARY, Role.CENTER_STAFF, Role.COMMITTEE_REVIEWER}
)


def navigation(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)  # absent on pages answered before authentication
    if not isinstance(user, User) or not user.is_authenticated:
        return {}
    roles = user_role_codes(user=user)
    scope = user_scope(user=user)
    new_kinds = kinds_user_may_start(user=user, roles=roles)
    is_center = bool(scope.org_ids("approve_as_center")) or user.is_superuser
    return {
        "nav": {
            "is_student": Role.STUDENT in roles,
            "is_applicant": Role.APPLICANT in roles,
            "is_approver": bool(roles & APPROVER_ROLES),
            "is_center": is_center,
            # Background work that gave up (an e-mail, a PDF, a roster check): shown by the menu.
            "jobs_failed": jobs_failed_open().count() if is_center else 0,
            "is_school_wide": scope.school_wide,
            "may_see_stats": scope.school_wide
            or bool(scope.org_ids("approve_as_secretary") or scope.org_ids("approve_as_advisor")),
            "may_issue_passwords": user_may_issue_passwords(user=user),
            "may_upload_roster": bool(roles - {Role.STUDENT}) or user.is_superuser,
            "has_requests_menu": Role.STUDENT in roles
            or Role.APPLICANT in roles
            or bool(new_kinds),
            "new_kinds": new_kinds,
            "roles": sorted(str(Role(r).label) for r in roles),
        }
    }
