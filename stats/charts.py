"""Charts drawn on the server as inline SVG: no script, no chart library, nothing fetched.

Horizontal bars read well on a phone (labels on the left, the bar scales with the screen); each
chart carries a <title> and a <desc> listing every value, and sits beside the table of the same
numbers. Colours and type come from stats/static/stats/stats.css (CSS classes, no inline style,
so the page's CSP holds).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

WIDTH = 360
LABEL_W = 110
ROW_H = 26
PAD = 6
_ids = itertools.count(1)

Number = int | float | Decimal


def _fmt(value: Number) -> str:
    if isinstance(value, Decimal):
        value = value.normalize() if value == value.to_integral() else value
        return f"{value:f}" if value == value.to_integral() else f"{value:.2f}".rstrip("0")
    if isinstance(value, float):
        return f"{value:.1f}".rstrip("0").rstrip(".")
    return str(value)


def _short(label: str, limit: int = 8) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _scale(values: Sequence[Number]) -> float:
    peak = max((float(v) for v in values), default=0.0)
    return (WIDTH - LABEL_W - 60) / peak if peak > 0 else 0.0


def _frame(title: str, desc: str, height: int, body: str, legend: str = "") -> SafeString:
    n = next(_ids)
    return format_html(
        '<svg class="chart" viewBox="0 0 {w} {h}" role="img" '
        'aria-labelledby="chart-{n}-t chart-{n}-d" preserveAspectRatio="xMinYMin meet">'
        '<title id="chart-{n}-t">{title}</title><desc id="chart-{n}-d">{desc}</desc>'
        "{legend}{body}</svg>",
        w=WIDTH,
        h=height,
        n=n,
        title=title,
        desc=desc,
        legend=mark_safe(legend),  # noqa: S308 - built from escaped parts below
        body=mark_safe(body),  # noqa: S308 - built from escaped parts below
    )


@dataclass
class BarChart:
    title: str
    labels: list[str]
    values: Sequence[Number]

    @property
    def empty(self) -> bool:
        return not any(float(v) for v in self.values)

    def svg(self) -> SafeString:
        scale = _scale(self.values)
        parts = []
        for i, (label, value) in enumerate(zip(self.labels, self.values, strict=True)):
            y = PAD + i * ROW_H
            w = max(float(value) * scale, 1.0 if float(value) else 0.0)
            parts.append(
                f'<text class="chart-label" x="{LABEL_W - 6}" y="{y + 17}" text-anchor="end">'
                f"<title>{escape(label)}</title>{escape(_short(label))}</text>"
                f'<rect class="chart-bar" x="{LABEL_W}" y="{y + 4}" width="{w:.1f}"'
                f' height="{ROW_H - 8}"/>'
                f'<text class="chart-value" x="{LABEL_W + w + 4:.1f}" y="{y + 17}">'
                f"{escape(_fmt(value))}</text>"
            )
        pairs = zip(self.labels, self.values, strict=True)
        desc = "；".join(f"{lab} {_fmt(v)}" for lab, v in pairs)
        return _frame(self.title, desc, PAD * 2 + ROW_H * max(len(self.labels), 1), "".join(parts))


@dataclass
class PairChart:
    """Two bars per label (e.g. median and 90th percentile)."""

    title: str
    labels: list[str]
    first: Sequence[Number]
    second: Sequence[Number]
    first_label: str
    second_label: str
    unit: str = ""

    @property
    def empty(self) -> bool:
        return not self.labels

    def svg(self) -> SafeString:
        scale = _scale([*self.first, *self.second])
        legend = (
            f'<rect class="chart-bar" x="{LABEL_W}" y="6" width="12" height="12"/>'
            f'<text class="chart-value" x="{LABEL_W + 16}" y="16">{escape(self.first_label)}</text>'
            f'<rect class="chart-bar2" x="{LABEL_W + 80}" y="6" width="12" height="12"/>'
            f'<text class="chart-value" x="{LABEL_W + 96}" y="16">'
            f"{escape(self.second_label)}</text>"
        )
        top = 26
        row = ROW_H + 12
        parts = []
        for i, label in enumerate(self.labels):
            y = top + i * row
            parts.append(
                f'<text class="chart-label" x="{LABEL_W - 6}" y="{y + 20}" text-anchor="end">'
                f"{escape(_short(label))}</text>"
            )
            for j, (cls, value) in enumerate(
                (("chart-bar", self.first[i]), ("chart-bar2", self.second[i]))
            ):
                w = max(float(value) * scale, 1.0)
                by = y + 4 + j * 15
                parts.append(
                    f'<rect class="{cls}" x="{LABEL_W}" y="{by}" width="{w:.1f}" height="13"/>'
                    f'<text class="chart-value" x="{LABEL_W + w + 4:.1f}" y="{by + 11}">'
                    f"{escape(_fmt(value))}{escape(self.unit)}</text>"
                )
        u = self.unit
        desc = "；".join(
            f"{lab} {self.first_label} {_fmt(a)}{u}，{self.second_label} {_fmt(b)}{u}"
            for lab, a, b in zip(self.labels, self.first, self.second, strict=True)
        )
        height = top + row * max(len(self.labels), 1) + PAD
        return _frame(self.title, desc, height, "".join(parts), legend)
