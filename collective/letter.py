"""The letter (附件2) against its roster (附件4): pure judging, one line per credit type.

A letter grants one or more credit types. Each type has either one value per person
(「申请每人 0.5 分」) or award tiers (「一等奖 3 分、二等奖 2 分、参与 0.5 分」). Every roster row
must carry exactly the value its type (and, with tiers, its 奖项内容) names; participants and the
total are counted per credit type, never summed across types.

Everything here works on plain values so the roster pipeline can call it too; only
`letter_lines` reads the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from collective.models import CollectiveRequest

# The tier a row with an empty 奖项内容 falls into when the letter declares tiers.
PARTICIPANT_TIER = "参与"
AWARD_SEPARATOR = "、"  # 附件4: several awards in one cell are joined by "、"
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Tier:
    award: str
    points: Decimal


@dataclass(frozen=True)
class Line:
    """One credit type of the letter."""

    credit_type: str
    points_per_person: Decimal | None = None
    participants: int | None = None
    total: Decimal | None = None
    tiers: tuple[Tier, ...] = ()

    @property
    def computed_total(self) -> Decimal | None:
        if self.tiers or self.points_per_person is None or self.participants is None:
            return None
        return self.points_per_person * self.participants


@dataclass(frozen=True)
class Row:
    """What the judge needs of one roster row (an `imports.RosterEntry`)."""

    excel_row: int
    student_no: str
    credit_type: str
    award: str
    value: Decimal | None


@dataclass(frozen=True)
class RowProblem:
    excel_row: int
    message: str


def fmt(value: Decimal | None) -> str:
    """Two decimals, as the roster shows them (0.5 -> "0.50")."""
    return "" if value is None else f"{Decimal(value).quantize(CENT)}"


def short(value: Decimal | int | None) -> str:
    """As written on paper: 0.50 -> "0.5", 24.00 -> "24"."""
    if value is None:
        return ""
    return format(Decimal(value).normalize(), "f")


def tiers_text(tiers: Sequence[Tier], *, paper: bool = False) -> str:
    show = short if paper else fmt
    suffix = " 分" if paper else ""
    return "、".join(f"{t.award} {show(t.points)}{suffix}" for t in tiers)


def tier_for(line: Line, award: str) -> Tier | None:
    """The tier a row's 奖项内容 names: the whole text, else the one "、"-part that is a tier;
    an empty award is the participants' tier (参与)."""
    by_name = {t.award: t for t in line.tiers}
    award = award.strip()
    if not award:
        return by_name.get(PARTICIPANT_TIER)
    if award in by_name:
        return by_name[award]
    parts = {p.strip() for p in award.split(AWARD_SEPARATOR)} & by_name.keys()
    return by_name[parts.pop()] if len(parts) == 1 else None


def row_problems(lines: Sequence[Line], rows: Iterable[Row]) -> list[RowProblem]:
    """Each row whose credit type or value is not the letter's, with the expected value."""
    by_type = {line.credit_type: line for line in lines}
    problems: list[RowProblem] = []
    for row in rows:
        line = by_type.get(row.credit_type)
        if line is None:
            problems.append(
                RowProblem(
                    row.excel_row,
                    _("第 %(row)s 行：学分类型「%(type)s」不在申请书中（申请书：%(types)s）")
                    % {
                        "row": row.excel_row,
                        "type": row.credit_type,
                        "types": "、".join(by_type) or "—",
                    },
                )
            )
            continue
        message = _row_value_problem(line, row)
        if message:
            problems.append(RowProblem(row.excel_row, message))
    return problems


def _row_value_problem(line: Line, row: Row) -> str:
    value = fmt(row.value) if row.value is not None else _("（空）")
    if not line.tiers:
        if line.points_per_person is None or row.value == line.points_per_person:
            return ""
        return _("第 %(row)s 行：发放学分值 %(value)s 应为每人 %(expected)s 分") % {
            "row": row.excel_row,
            "value": value,
            "expected": fmt(line.points_per_person),
        }
    tier = tier_for(line, row.award)
    if tier is None:
        if not row.award.strip():
            return _(
                "第 %(row)s 行：奖项内容为空，申请书的奖项档次中没有「%(participant)s」"
                "（%(tiers)s）"
            ) % {
                "row": row.excel_row,
                "participant": PARTICIPANT_TIER,
                "tiers": tiers_text(line.tiers),
            }
        return _("第 %(row)s 行：奖项内容「%(award)s」不在申请书的奖项档次中（%(tiers)s）") % {
            "row": row.excel_row,
            "award": row.award.strip(),
            "tiers": tiers_text(line.tiers),
        }
    if row.value == tier.points:
        return ""
    return _("第 %(row)s 行：奖项「%(award)s」的发放学分值 %(value)s 应为 %(expected)s 分") % {
        "row": row.excel_row,
        "award": tier.award,
        "value": value,
        "expected": fmt(tier.points),
    }


def total_problems(lines: Sequence[Line], rows: Iterable[Row]) -> list[str]:
    """Per credit type: the roster's participants and total against the letter's."""
    students: dict[str, set[str]] = {}
    totals: dict[str, Decimal] = {}
    for row in rows:
        students.setdefault(row.credit_type, set()).add(row.student_no)
        totals[row.credit_type] = totals.get(row.credit_type, Decimal(0)) + (
            row.value or Decimal(0)
        )
    problems: list[str] = []
    for line in lines:
        count = len(students.get(line.credit_type, ()))
        if line.participants is not None and count != line.participants:
            problems.append(
                _("%(type)s：申请书写的参与人数为 %(declared)s 人，人员名单中有 %(roster)s 人。")
                % {"type": line.credit_type, "declared": line.participants, "roster": count}
            )
        total = totals.get(line.credit_type, Decimal(0))
        if line.total is not None and total != line.total:
            problems.append(
                _(
                    "%(type)s：申请书写的共计分值为 %(declared)s，"
                    "人员名单的学分值合计为 %(roster)s。"
                )
                % {"type": line.credit_type, "declared": fmt(line.total), "roster": fmt(total)}
            )
    return problems


def line_problems(lines: Sequence[Line]) -> list[str]:
    """What disagrees inside the letter itself (before any roster)."""
    problems: list[str] = []
    for line in lines:
        computed = line.computed_total
        if computed is not None and line.total is not None and computed != line.total:
            problems.append(
                _(
                    "%(type)s：共计分值 %(total)s 与 "
                    "每人 %(p)s 分 × %(n)s 人 = %(computed)s 不一致。"
                )
                % {
                    "type": line.credit_type,
                    "total": fmt(line.total),
                    "p": fmt(line.points_per_person),
                    "n": line.participants,
                    "computed": fmt(computed),
                }
            )
    return problems


def line_text(line: Line) -> str:
    """One credit type as the letter writes it (paper numbers: 0.5, not 0.50)."""
    if line.tiers:
        grant = _("按奖项档次（%(tiers)s）") % {"tiers": tiers_text(line.tiers, paper=True)}
    else:
        grant = _("每人 %(p)s 分") % {"p": short(line.points_per_person) or "__"}
    return _("%(type)s%(grant)s，%(n)s 人参与活动，共计 %(total)s 分") % {
        "type": line.credit_type,
        "grant": grant,
        "n": line.participants if line.participants is not None else "__",
        "total": short(line.total) or "__",
    }


def letter_phrase(lines: Sequence[Line]) -> str:
    """What follows 「申请」 in the letter's sentence: one clause per credit type."""
    if len(lines) == 1 and not lines[0].tiers:
        line = lines[0]  # the regulation's own wording for the simple letter
        return _("每人 %(p)s 分，%(n)s 人参与活动，共计 %(total)s 分") % {
            "p": short(line.points_per_person) or "__",
            "n": line.participants if line.participants is not None else "__",
            "total": short(line.total) or "__",
        }
    return "；".join(line_text(line) for line in lines)


def detail_lines(lines: Sequence[Line]) -> list[str]:
    """附件3 积分明细: one line per credit type, never a sum across types."""
    return [line_text(line) for line in lines]


def letter_lines(request: CollectiveRequest) -> list[Line]:
    """The request's letter as lines: the main type (the standard item's) first, then the
    further types, each with its tiers."""
    tiers: dict[int | None, list[Tier]] = {}
    for t in request.tiers.all():
        tiers.setdefault(t.credit_type_id, []).append(Tier(t.award, t.points))
    lines: list[Line] = []
    main_type = request.standard_item.credit_type if request.standard_item else None
    if main_type is not None:
        main_tiers = tiers.pop(None, []) + tiers.pop(main_type.pk, [])
        lines.append(
            Line(
                credit_type=main_type.name,
                points_per_person=request.points_per_person,
                participants=request.declared_participants,
                total=request.declared_total,
                tiers=tuple(main_tiers),
            )
        )
    for extra in request.extra_lines.select_related("credit_type"):
        lines.append(
            Line(
                credit_type=extra.credit_type.name,
                points_per_person=extra.points_per_person,
                participants=extra.declared_participants,
                total=extra.declared_total,
                tiers=tuple(tiers.get(extra.credit_type_id, [])),
            )
        )
    return lines
