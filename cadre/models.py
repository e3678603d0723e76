"""学生干部积分补录 (第四条): one full year of service as a student cadre.

A student reports their own service (`CadreRequest.Mode.SELF`), or a unit's applicant, advisor
or a class's counselor submits the list of the whole unit (`Mode.UNIT_LIST`). Either way a
request holds `CadreEntry` rows; each confirmed one becomes a credit record on final approval.
Positions (职务) are configured per kind of unit, each mapped to an item of the 认定标准.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from bulu.uploads import EvidenceFile

# Migrations name the upload path by this module: it stays importable from here.
from bulu.uploads import evidence_path as evidence_path
from bulu.workflow.models import BackfillRequest, SchoolYear
from imports.models import CreditStandardItem


class UnitKind(models.TextChoices):
    """The kinds of unit a cadre serves in (第四条), as organization kinds."""

    STUDENT_UNION = Organization.Kind.BRANCH, _("学生会（学院团总支）")
    STUDENT_ORG = Organization.Kind.STUDENT_ORG, _("学生组织")
    CLUB = Organization.Kind.CLUB, _("学生社团")
    CLASS = Organization.Kind.CLASS, _("班级（班委）")


class CadrePosition(models.Model):
    """A 职务 of a kind of unit, worth what its 认定标准 item gives."""

    unit_kind = models.CharField(_("单位类型"), max_length=16, choices=UnitKind.choices)
    name = models.CharField(_("职务"), max_length=32)
    standard_item = models.ForeignKey(
        CreditStandardItem,
        verbose_name=_("对应认定标准"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    order = models.PositiveSmallIntegerField(_("排序"), default=0)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("学生干部职务")
        verbose_name_plural = _("学生干部职务")
        ordering = ["unit_kind", "order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["unit_kind", "name"], name="cadre_position_once")
        ]

    def __str__(self) -> str:
        return f"{self.get_unit_kind_display()} · {self.name}"


class CadreRequest(BackfillRequest):
    class Mode(models.TextChoices):
        SELF = "self", _("个人上报")
        UNIT_LIST = "unit_list", _("单位名单")

    mode = models.CharField(_("上报方式"), max_length=16, choices=Mode.choices)

    class Meta:
        verbose_name = _("学生干部积分补录申请")
        verbose_name_plural = _("学生干部积分补录申请")


class CadreEntry(models.Model):
    """One service: a student, a position in the request's unit, a term, the school year it is
    reported for.

    One credit per student, unit, position and school year (第四条), held by the database: among
    live entries (their request not withdrawn or rejected) one per way of reporting (a
    self-report, the unit's lists), and among credited entries one at all — a self-report and a
    list naming the same service are both filed, flagged, and credited once. `unit`, `mode`,
    `live` and `credited` copy the request's facts so that partial unique constraints can see them.
    """

    request = models.ForeignKey(
        CadreRequest, verbose_name=_("申请"), on_delete=models.CASCADE, related_name="entries"
    )
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("学生"),
        on_delete=models.PROTECT,
        related_name="cadre_entries",
    )
    student_no = models.CharField(_("学号"), max_length=32)
    name = models.CharField(_("姓名"), max_length=64)
    position = models.ForeignKey(
        CadrePosition, verbose_name=_("职务"), on_delete=models.PROTECT, related_name="+"
    )
    term_start = models.DateField(_("任职开始"))
    term_end = models.DateField(_("任职结束"))
    # Empty only for entries filed before cadre notices named the school year they collect.
    school_year = models.ForeignKey(
        SchoolYear,
        verbose_name=_("学年"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    unit = models.ForeignKey(
        Organization, verbose_name=_("任职单位"), on_delete=models.PROTECT, related_name="+"
    )
    mode = models.CharField(_("上报方式"), max_length=16, choices=CadreRequest.Mode.choices)
    # False once the request is withdrawn or rejected: its student may then report again.
    live = models.BooleanField(_("有效"), default=True)
    # True once this entry became a credit record.
    credited = models.BooleanField(_("已认定"), default=False)
    # The row of the uploaded list (0 when typed on the page or self-reported).
    row = models.PositiveIntegerField(_("行号"), default=0)
    # The same service reported elsewhere (self-report and unit list, or two lists).
    flags = models.JSONField(_("提醒"), default=list, blank=True)
    has_flags = models.BooleanField(_("有提醒"), default=False)

    class Meta:
        verbose_name = _("任职记录")
        verbose_name_plural = _("任职记录")
        ordering = ["request_id", "row", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(term_end__gt=models.F("term_start")), name="cadre_term_order"
            ),
            models.UniqueConstraint(
                fields=["student", "unit", "position", "school_year", "mode"],
                condition=models.Q(live=True),
                name="cadre_one_live_report_a_year",
            ),
            models.UniqueConstraint(
                fields=["student", "unit", "position", "school_year"],
                condition=models.Q(credited=True),
                name="cadre_one_credit_a_year",
            ),
        ]
        indexes = [models.Index(fields=["student", "position"])]

    def __str__(self) -> str:
        return f"{self.name} · {self.position.name}"


class CadreEvidence(EvidenceFile):
    """An appointment letter or photo for a self-report (optional)."""

    request = models.ForeignKey(
        CadreRequest, verbose_name=_("申请"), on_delete=models.CASCADE, related_name="evidence"
    )

    class Meta:
        verbose_name = _("任职证明")
        verbose_name_plural = _("任职证明")
        ordering = ["request_id", "pk"]


class UnitReminder(models.Model):
    """The center reminded a unit to hand in its list for a notice (at most once a day)."""

    window = models.ForeignKey(
        "workflow.Window", verbose_name=_("补录通知"), on_delete=models.CASCADE, related_name="+"
    )
    unit = models.ForeignKey(
        Organization, verbose_name=_("单位"), on_delete=models.CASCADE, related_name="+"
    )
    sent_at = models.DateTimeField(_("提醒时间"))

    class Meta:
        verbose_name = _("名单提醒")
        verbose_name_plural = _("名单提醒")
        constraints = [
            models.UniqueConstraint(fields=["window", "unit"], name="cadre_reminder_once")
        ]

    def __str__(self) -> str:
        return f"{self.unit} · {self.sent_at:%Y-%m-%d}"
