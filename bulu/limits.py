"""How long a typed text may be: every free-text field's limit, in one place.

A limit is the model field's `max_length` (a `TextField` too: state only, no column changes),
so the browser's maxlength, the form's message and the services' refusal all read the same
number. Changing one is a code change with its migration, never a setting: a setting would make
the models differ from their migrations from one installation to the next.

Counted in characters (一个汉字一个字); a typed line break counts once
(`bulu.forms.LimitedCharField` stores it as LF, the browser sends CRLF). See docs/decisions.md,
"Limits on input and login".
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db import models
from django.utils.translation import gettext as _

from bulu.exceptions import ApplicationError

# 审核意见: an approval, a return (退回意见), a rejection, the bulk approval's one opinion.
OPINION = 500
# A reason or an analysis of several paragraphs: 申请理由, 积分明细补充说明 and 情况说明's
# 原因分析, 正常的流程/方法, 今后如何避免, 活动总结 (附件3, 附件5).
LONG_TEXT = 2000
# 通知内容: a whole notice, with its rules and dates.
NOTICE_BODY = 5000
# 不在规定月份的原因: shown on the notice beside its dates.
NOTICE_REASON = 500
# The one-line texts already held by their columns (varchar on PostgreSQL): titles, names.
TITLE = 200
NAME = 200  # 活动名称, 活动地点, 事项内容, 奖项内容
AWARD_TIER = 100  # 奖项档次 (一等奖)
PHONE = 32
NOTE = 200  # 认定说明, 不予发放原因, 撤销原因
ROLE_CHANGE_REASON = 300  # 角色调整的说明, 拒绝理由


def length_problem(value: str, *, limit: int, label: object) -> str:
    """The refusal of a text over `limit`, naming the field ("" when it fits)."""
    n = len(value)
    if n <= limit:
        return ""
    return _("%(label)s最多 %(limit)d 字（现在 %(n)d 字）。") % {
        "label": label,
        "limit": limit,
        "n": n,
    }


def text_problems(model: type[models.Model], values: Mapping[str, str]) -> dict[str, str]:
    """The over-long texts among `values` (field name → text), by field, as the model's fields
    (their `max_length` and verbose name) say."""
    problems: dict[str, str] = {}
    for name, value in values.items():
        field = model._meta.get_field(name)
        limit = getattr(field, "max_length", None)
        if limit is None or value is None:
            continue
        problem = length_problem(value, limit=limit, label=getattr(field, "verbose_name", name))
        if problem:
            problems[name] = problem
    return problems


def texts_ensure_fit(model: type[models.Model], values: Mapping[str, str]) -> None:
    """Refuse (one ApplicationError naming every field) texts longer than their fields allow."""
    problems = text_problems(model, values)
    if problems:
        raise ApplicationError("".join(problems.values()))


def text_ensure_fits(value: str, *, limit: int, label: object) -> None:
    """Refuse one text over `limit` (a text with no model field of its own, or a field whose
    name on the page differs from the model's)."""
    problem = length_problem(value, limit=limit, label=label)
    if problem:
        raise ApplicationError(problem)
