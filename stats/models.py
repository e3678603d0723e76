"""Maintained counts behind the statistics page (no table scan when it is shown).

Each event is counted once per scope it belongs to: the whole school (`scope` "school", id 0),
the request's college ("college", its id) and the request's applicant unit ("unit", the
organization id: a club, a student organization, a branch or a class). A page then reads the
rows of exactly one scope, a few dozen, whatever the size of the school.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Scope(models.TextChoices):
    SCHOOL = "school", _("全校")
    COLLEGE = "college", _("学院")
    UNIT = "unit", _("单位")


class CreditTally(models.Model):
    """Credit records issued (of approved, exported or imported requests) per category and type."""

    scope = models.CharField(max_length=8, choices=Scope.choices)
    scope_id = models.PositiveIntegerField(default=0)
    category = models.CharField(max_length=64)
    credit_type = models.CharField(max_length=64)
    n = models.IntegerField(default=0)
    total = models.DecimalField(max_digits=14, decimal_places=2, default=0)

    class Meta:
        verbose_name = _("学分计数")
        verbose_name_plural = _("学分计数")
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "scope_id", "category", "credit_type"], name="credit_tally_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.scope}:{self.scope_id} {self.category}/{self.credit_type}: {self.n}"


class WaitTally(models.Model):
    """How many step decisions waited how long, per step role, in buckets (stats.buckets)."""

    scope = models.CharField(max_length=8, choices=Scope.choices)
    scope_id = models.PositiveIntegerField(default=0)
    role = models.CharField(max_length=16)
    bucket = models.PositiveSmallIntegerField()
    n = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("审核用时计数")
        verbose_name_plural = _("审核用时计数")
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "scope_id", "role", "bucket"], name="wait_tally_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.scope}:{self.scope_id} {self.role}#{self.bucket}: {self.n}"
