from __future__ import annotations

from typing import Any

from django import template

from accounts.models import User
from stats.selectors import student_credit_summary

register = template.Library()


@register.inclusion_tag("stats/_student_credits.html", takes_context=True)
def student_credits_panel(context: dict[str, Any]) -> dict[str, Any]:
    """The signed-in student's back-filled credits per credit type (one query)."""
    user = context["request"].user
    rows = student_credit_summary(user=user) if isinstance(user, User) else []
    return {"rows": rows}
