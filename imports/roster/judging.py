"""Judging one data row against the settings mirror (and the file's own earlier rows)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone

from bulu.xlsx import (
    STUDENT_NO_MESSAGE,
    BadDate,
    is_student_no,
    norm_text,
    parse_date,
    shown_text,
)
from imports.matching import match_text
from imports.roster.format import (
    BAD_DATE,
    BAD_STUDENT_ID,
    BAD_VALUE,
    CACHE_MAX,
    COL_AWARD,
    COL_CATEGORY,
    COL_CONTENT,
    COL_CREDIT_TYPE,
    COL_END,
    COL_LEVEL,
    COL_NAME,
    COL_NO,
    COL_START,
    COL_SUBCATEGORY,
    COL_VALUE,
    DUPLICATE_ROW,
    END_BEFORE_START,
    FUTURE_DATE,
    MAX_LEN,
    MISSING_HINTS,
    MISSING_VALUE,
    MSG_BAD_DATE,
    MSG_BAD_VALUE,
    MSG_DUPLICATE,
    MSG_END_BEFORE_START,
    MSG_FUTURE_DATE,
    MSG_MISSING,
    MSG_PAIR,
    MSG_PAIR_NO_ITEMS,
    MSG_TOO_LONG,
    MSG_UNKNOWN,
    MSG_UNKNOWN_SUBCATEGORY,
    MSG_VALUE_OVER_LIMIT,
    MSG_ZERO_VALUE,
    PAIR_NOT_IN_STANDARD,
    TOO_LONG,
    UNKNOWN_CATEGORY,
    UNKNOWN_CREDIT_TYPE,
    UNKNOWN_LEVEL,
    UNKNOWN_SUBCATEGORY,
    VALUE_OVER_LIMIT,
    ZERO_VALUE,
)
from imports.roster.report import (
    CreditKey,
    Problem,
    RosterLookups,
    RosterReport,
    RosterRow,
    _Translations,
    parse_value,
)


def _choices(names: Iterable[str], limit: int = 12) -> str:
    values = list(names)
    shown = "、".join(values[:limit])
    return shown + ("等" if len(values) > limit else "")


# --- judging one row -------------------------------------------------------------------------

# 内容, 一级分类, 二级分类, 等级, 奖项, 学分类型, 学分值, and (match_text of 内容, of 学分类型) when
# the row can be compared with others for duplicates.
_Rest = tuple[
    str, str | None, str | None, str | None, str, str | None, Decimal | None, tuple[str, str] | None
]


class _Judge:
    """Per-row checks; its caches make repeated values (categories, dates) cost a dict hit."""

    def __init__(self, report: RosterReport, lookups: RosterLookups) -> None:
        self.report = report
        self.errors = report.errors
        self.warnings = report.warnings
        self.settings = lookups.settings
        # The school's calendar day (TIME_ZONE, Asia/Shanghai), not the server's or UTC's.
        self.today = timezone.localdate(timezone=timezone.get_default_timezone())
        self.date_cache: dict[str, date | BadDate] = {}
        self.text_cache: dict[str, str] = {}
        self.dates_cache: dict[tuple[object, ...], tuple[date | None, date | None]] = {}
        self.rest_cache: dict[tuple[tuple[object, ...], tuple[type, ...]], _Rest] = {}
        self.seen: dict[CreditKey, int] = {}
        self.pair_messages: dict[tuple[str, str], str] = {}
        self.choices: dict[str, str] = {}
        self.tr = _Translations()

    def error(self, row: int, column: str | None, code: str, message: str) -> None:
        self.errors.append(Problem(row, column, code, message))

    def warn(self, row: int, column: str | None, code: str, message: str) -> None:
        self.warnings.append(Problem(row, column, code, message))

    def missing(self, row: int, column: str) -> None:
        hint = self.tr(MISSING_HINTS[column])
        self.error(
            row, column, MISSING_VALUE, self.tr(MSG_MISSING) % {"column": column, "hint": hint}
        )

    def text(self, raw: object) -> str:
        """norm_text, memoized for strings: a roster repeats its activity in every row."""
        if type(raw) is not str:
            return norm_text(raw)
        cache = self.text_cache
        found = cache.get(raw)
        if found is None:
            found = norm_text(raw)
            if len(cache) < CACHE_MAX:
                cache[raw] = found
        return found

    def row(self, excel_row: int, cells: Sequence[object], no_text: str) -> RosterRow:
        """Judge one row; `cells` are the raw values in COLUMNS order, `no_text` is
        norm_text of its 学号 cell (the reader needed it already).

        The problems are sorted by (row, column) afterwards, so the checks may run in any order.
        """
        errors = self.errors
        start_errors = len(errors)
        student_no = self.student_no(excel_row, no_text)
        name = norm_text(cells[1])  # differs in every row: not memoized
        if not name:
            self.missing(excel_row, COL_NAME)
        elif len(name) > MAX_LEN[COL_NAME]:
            self.too_long(excel_row, COL_NAME)
        start, end = self.dates(excel_row, cells[2], cells[3])
        content, category, subcategory, level, award, credit_type, value, same = self.rest(
            excel_row, cells[4:]
        )
        if student_no and start is not None and same is not None:
            self.duplicate(excel_row, (student_no, same[0], start, same[1]))
        return RosterRow(
            excel_row,
            student_no,
            name,
            start,
            end,
            content,
            category,
            subcategory,
            level,
            award,
            credit_type,
            value,
            len(errors) == start_errors,
        )

    def rest(self, row: int, cells: Sequence[object]) -> _Rest:
        """内容 .. 发放学分值, judged once per distinct combination of cells without a problem:
        a roster repeats its activity, classification and credit in every row."""
        key = (tuple(cells), tuple(map(type, cells)))  # 1, 1.0 and True are equal keys otherwise
        found = self.rest_cache.get(key)
        if found is not None:
            return found
        errors, warnings = len(self.errors), len(self.warnings)
        found = self.judge_rest(row, *cells)
        clean = len(self.errors) == errors and len(self.warnings) == warnings
        if clean and len(self.rest_cache) < CACHE_MAX:
            self.rest_cache[key] = found
        return found

    def judge_rest(
        self,
        row: int,
        raw_content: object,
        raw_category: object,
        raw_subcategory: object,
        raw_level: object,
        raw_award: object,
        raw_type: object,
        raw_value: object,
    ) -> _Rest:
        content = self.required_text(row, COL_CONTENT, raw_content)
        category, subcategory = self.classification(row, raw_category, raw_subcategory)
        level = self.named(row, COL_LEVEL, raw_level, self.settings.levels, UNKNOWN_LEVEL)
        award = self.text(raw_award)
        credit_type = self.named(
            row, COL_CREDIT_TYPE, raw_type, self.settings.credit_types, UNKNOWN_CREDIT_TYPE
        )
        value = self.value(row, raw_value, credit_type)
        for column, given in ((COL_CONTENT, content), (COL_AWARD, award)):
            if len(given) > MAX_LEN[column]:
                self.too_long(row, column)
        if category is not None and credit_type is not None:
            self.pair(row, category, credit_type)
        # What a duplicate is compared by (besides 学号 and 开始时间), when it can be one.
        same = (
            (match_text(content), match_text(credit_type))
            if content and credit_type is not None
            else None
        )
        return content, category, subcategory, level, award, credit_type, value, same

    def student_no(self, row: int, text: str) -> str | None:
        if not text:
            self.missing(row, COL_NO)
            return None
        if not is_student_no(text):
            self.error(
                row,
                COL_NO,
                BAD_STUDENT_ID,
                self.tr(STUDENT_NO_MESSAGE) % {"value": shown_text(text)},
            )
            return None
        return text

    def required_text(self, row: int, column: str, raw: object) -> str:
        text = self.text(raw)
        if not text:
            self.missing(row, column)
        return text

    def dates(
        self, row: int, raw_start: object, raw_end: object
    ) -> tuple[date | None, date | None]:
        """开始时间 and 结束时间, judged once per distinct pair without a problem."""
        key = (raw_start, raw_end, type(raw_start), type(raw_end))
        found = self.dates_cache.get(key)
        if found is not None:
            return found
        errors = len(self.errors)
        found = self.judge_dates(row, raw_start, raw_end)
        if len(self.errors) == errors and len(self.dates_cache) < CACHE_MAX:
            self.dates_cache[key] = found
        return found

    def judge_dates(
        self, row: int, raw_start: object, raw_end: object
    ) -> tuple[date | None, date | None]:
        """开始时间 (required) and 结束时间; a date that is not well formed comes back None."""
        start, start_ok = self.judge_date(row, COL_START, raw_start)
        if start_ok and start is None:
            self.missing(row, COL_START)
        end, _end_ok = self.judge_date(row, COL_END, raw_end)
        if start is not None and end is not None and end < start:
            self.error(
                row,
                COL_END,
                END_BEFORE_START,
                self.tr(MSG_END_BEFORE_START)
                % {"end": f"{end:%Y/%m/%d}", "start": f"{start:%Y/%m/%d}"},
            )
        return start, end

    def judge_date(self, row: int, column: str, raw: object) -> tuple[date | None, bool]:
        """(the date or None, whether it is well formed); a date after today is an error."""
        if type(raw) is datetime:
            found: date | BadDate | None = raw.date()
        elif type(raw) is date:
            found = raw
        else:
            found = self.parsed_date(raw)
        if isinstance(found, BadDate):
            self.error(
                row,
                column,
                BAD_DATE,
                self.tr(MSG_BAD_DATE) % {"value": shown_text(str(found))},
            )
            return None, False
        if found is not None and found > self.today:
            self.error(
                row,
                column,
                FUTURE_DATE,
                self.tr(MSG_FUTURE_DATE)
                % {
                    "column": column,
                    "value": f"{found:%Y/%m/%d}",
                    "today": f"{self.today:%Y/%m/%d}",
                },
            )
        return found, True

    def parsed_date(self, raw: object) -> date | BadDate | None:
        # Text dates repeat a lot in a roster: parse each spelling once (str keys only, so that
        # 1, 1.0 and True can never share an entry).
        cached = self.date_cache.get(raw) if type(raw) is str else None
        if cached is None:
            try:
                cached = parse_date(raw)
            except BadDate as bad:
                cached = bad
            if type(raw) is str and cached is not None and len(self.date_cache) < CACHE_MAX:
                self.date_cache[raw] = cached
        return cached

    def classification(
        self, row: int, raw_category: object, raw_subcategory: object
    ) -> tuple[str | None, str | None]:
        """活动一级分类, then the 二级分类 among that category's own (not judged without one)."""
        category = self.named(
            row, COL_CATEGORY, raw_category, self.settings.categories, UNKNOWN_CATEGORY
        )
        sub_text = self.text(raw_subcategory)
        if not sub_text:
            self.missing(row, COL_SUBCATEGORY)
            return category, None
        if category is None:
            return None, None
        subs = self.settings.subcategories.get(category, {})
        subcategory = subs.get(sub_text)
        if subcategory is None:
            self.error(
                row,
                COL_SUBCATEGORY,
                UNKNOWN_SUBCATEGORY,
                self.tr(MSG_UNKNOWN_SUBCATEGORY)
                % {
                    "value": shown_text(sub_text),
                    "category": category,
                    "choices": _choices(subs.values()),
                },
            )
        return category, subcategory

    def named(
        self, row: int, column: str, raw: object, known: dict[str, str], code: str
    ) -> str | None:
        """A required cell naming one of the configured `known` names (None if not)."""
        text = self.text(raw)
        if not text:
            self.missing(row, column)
            return None
        found = known.get(text)
        if found is None:
            choices = self.choices.get(code)
            if choices is None:
                choices = self.choices[code] = _choices(known.values())
            message = self.tr(MSG_UNKNOWN[code]) % {"value": shown_text(text), "choices": choices}
            self.error(row, column, code, message)
        return found

    def value(self, row: int, raw: object, credit_type: str | None) -> Decimal | None:
        """发放学分值: may be empty; within its type's per-record limit; 0 earns a warning."""
        if raw == "" or raw is None:
            return None
        try:
            value = parse_value(raw)
        except ValueError:
            self.error(
                row,
                COL_VALUE,
                BAD_VALUE,
                self.tr(MSG_BAD_VALUE) % {"value": shown_text(norm_text(raw))},
            )
            return None
        limit = self.settings.maxima.get(credit_type) if credit_type is not None else None
        if limit is not None and value > limit:
            self.error(
                row,
                COL_VALUE,
                VALUE_OVER_LIMIT,
                self.tr(MSG_VALUE_OVER_LIMIT) % {"value": value, "type": credit_type, "max": limit},
            )
        elif not value:
            self.warn(
                row,
                COL_VALUE,
                ZERO_VALUE,
                self.tr(MSG_ZERO_VALUE),
            )
        return value

    def too_long(self, row: int, column: str) -> None:
        self.error(
            row,
            column,
            TOO_LONG,
            self.tr(MSG_TOO_LONG) % {"column": column, "max": MAX_LEN[column]},
        )

    def pair(self, row: int, category: str, credit_type: str) -> None:
        """Warn when no active 认定标准 item of the category grants this credit type."""
        standard = self.settings.standard
        if not standard or credit_type in standard.get(category, ()):
            return
        message = self.pair_messages.get((category, credit_type))
        if message is None:
            used = standard.get(category)
            message = self.pair_messages[(category, credit_type)] = (
                self.tr(MSG_PAIR)
                % {"category": category, "type": credit_type, "choices": _choices(sorted(used))}
                if used
                else self.tr(MSG_PAIR_NO_ITEMS) % {"category": category, "type": credit_type}
            )
        self.warn(row, COL_CREDIT_TYPE, PAIR_NOT_IN_STANDARD, message)

    def duplicate(self, row: int, key: CreditKey) -> None:
        first = self.seen.get(key)
        if first is None:
            self.seen[key] = row
            return
        self.error(
            row,
            None,
            DUPLICATE_ROW,
            self.tr(MSG_DUPLICATE) % {"first": first},
        )
