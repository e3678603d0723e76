"""Navigation flags for the base layout, computed once per request."""

from __future__ import annotations

from django.http import HttpRequest

from accounts.models import Membership


def navigation(request: HttpRequest) -> dict[str, object]:
    user = request.user
    if not user.is_authenticated:
        return {}
    roles = set(Membership.objects.filter(user_id=user.pk).values_list("role", flat=True))
    approver_roles = {
        Membership.Role.COUNSELOR,
        Membership.Role.ADVISOR,
        Membership.Role.SECRETARY,
        Membership.Role.CENTER_STAFF,
        Membership.Role.COMMITTEE_REVIEWER,
    }
    return {
        "nav": {
            "is_student": Membership.Role.STUDENT in roles,
            "is_applicant": Membership.Role.APPLICANT in roles,
            "is_approver": bool(roles & approver_roles),
            "is_center": Membership.Role.CENTER_STAFF in roles or user.is_superuser,
            "roles": sorted(Membership.Role(r).label for r in roles),
        }
    }
