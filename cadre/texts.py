"""How a cadre entry is written: in the credit record's content, on the page and in the PDF.

Shared by the services (which create credit records) and the selectors (which show entries and
compare them with granted credits), so neither imports the other for it.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from accounts.models import Organization
from cadre.models import CadreEntry
from cadre.terms import school_year_label


def unit_display(unit: Organization) -> str:
    """A college's 团总支 stands for its 学生会 here: 智能制造学院学生会."""
    if unit.kind == Organization.Kind.BRANCH:
        return f"{unit.parent.name}学生会" if unit.parent else f"{unit.name}学生会"
    return unit.name


def entry_years(entry: CadreEntry) -> str:
    if entry.school_year is not None:
        return f"{entry.school_year.label}学年"
    return school_year_label(entry.term_start, entry.term_end)


def entry_content(entry: CadreEntry, unit: Organization) -> str:
    """E.g. 2024-2025学年担任机器人协会社长."""
    return _("%(years)s担任%(unit)s%(position)s") % {
        "years": entry_years(entry),
        "unit": unit_display(unit),
        "position": entry.position.name,
    }
