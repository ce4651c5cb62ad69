"""The HTML report's charts, drawn as inline SVG: the rhythm shares of each group as stacked
bars, the gaps of each segment as dots over a box plot, and the feast-or-famine score of each
salesperson against its reading bands."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence

from cadence.report.columns import format_number
from cadence.report.figures import ALL, GroupStats, Report
from cadence.report.health import ACTIVE_RHYTHMS, Rhythm
from cadence.report.html_sections import STEADY, UNEVEN, esc

_COLORS = {
    Rhythm.IN_RHYTHM: "#2f9e6b",
    Rhythm.DUE_SOON: "#e9a23b",
    Rhythm.OVERDUE: "#d64545",
}
_RHYTHM_LABELS = {
    Rhythm.IN_RHYTHM: "in rhythm",
    Rhythm.DUE_SOON: "due soon",
    Rhythm.OVERDUE: "overdue",
}


def rhythm_keys() -> str:
    keys = "".join(
        f'<span style="--c:{_COLORS[r]}">{esc(_RHYTHM_LABELS[r])}</span>' for r in ACTIVE_RHYTHMS
    )
    return f'<div class="keys">{keys}<span class="hatch">never contacted</span></div>'


def stacked_bars(report: Report, groups: Sequence[GroupStats], prefix: str) -> str:
    label_w, bar_w, right_w, row_h, bar_h = 150, 300, 70, 34, 20
    width = label_w + bar_w + right_w
    height = row_h * max(1, len(groups)) + 6
    parts = [
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="rhythm status shares">',
        "<defs>",
    ]
    for r in ACTIVE_RHYTHMS:
        parts.append(
            f'<pattern id="{prefix}-h-{r}" width="6" height="6" patternUnits="userSpaceOnUse" '
            f'patternTransform="rotate(45)"><rect width="6" height="6" fill="{_COLORS[r]}"/>'
            f'<rect width="2.5" height="6" fill="#fff" opacity="0.55"/></pattern>'
        )
    parts.append("</defs>")
    if not groups:
        parts.append('<text x="0" y="20" fill="#6b7280">no customers</text>')
    for i, g in enumerate(groups):
        y = i * row_h + 6
        parts.append(
            f'<text x="0" y="{y + bar_h / 2 + 4.5:.1f}" font-size="13" fill="#1f2937">'
            f"{esc(_clip(g.label, 20))}<title>{esc(g.label)}</title></text>"
        )
        if not g.active:
            parts.append(
                f'<rect x="{label_w}" y="{y}" width="{bar_w}" height="{bar_h}" rx="4" '
                f'fill="#eef0f4"/><text x="{label_w + 8}" y="{y + bar_h / 2 + 4:.1f}" '
                f'font-size="12" fill="#6b7280">no active customers</text>'
            )
            continue
        members = [h for h in report.members(g) if h.rhythm in ACTIVE_RHYTHMS]
        x = float(label_w)
        parts.append(
            f'<g><clipPath id="{prefix}-c{i}"><rect x="{label_w}" y="{y}" '
            f'width="{bar_w}" height="{bar_h}" rx="4"/></clipPath>'
        )
        parts.append(f'<g clip-path="url(#{prefix}-c{i})">')
        for r in ACTIVE_RHYTHMS:
            total = sum(1 for h in members if h.rhythm is r)
            never = sum(1 for h in members if h.rhythm is r and h.never_contacted)
            for n, fill in ((total - never, _COLORS[r]), (never, f"url(#{prefix}-h-{r})")):
                if not n:
                    continue
                w = bar_w * n / g.active
                tip = f"{_RHYTHM_LABELS[r]}: {n}" + (" never contacted" if fill[0] == "u" else "")
                parts.append(
                    f'<rect x="{x:.2f}" y="{y}" width="{w:.2f}" height="{bar_h}" fill="{fill}">'
                    f"<title>{esc(tip)}</title></rect>"
                )
                x += w
        parts.append("</g></g>")
        x = float(label_w)
        for r in ACTIVE_RHYTHMS:
            total = sum(1 for h in members if h.rhythm is r)
            w = bar_w * total / g.active
            if total and w >= 18:
                parts.append(
                    f'<text x="{x + w / 2:.2f}" y="{y + bar_h / 2 + 4.5:.1f}" font-size="12" '
                    f'font-weight="600" fill="#fff" text-anchor="middle">{total}</text>'
                )
            x += w
        parts.append(
            f'<text x="{label_w + bar_w + 8}" y="{y + bar_h / 2 + 4.5:.1f}" font-size="12" '
            f'fill="#6b7280">{g.active} active</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "\u2026"


def _nice_step(span: float) -> int:
    for step in (7, 14, 28, 56, 91, 182, 365):
        if span / step <= 8:
            return step
    return 365 * (int(span // (365 * 8)) + 1)


def gap_chart(groups: Sequence[GroupStats]) -> str:
    if not groups:
        return '<p class="note">No customers yet.</p>'
    label_w, plot_w, row_h, top = 210, 720, 64, 10
    width = label_w + plot_w + 30
    height = top + row_h * max(1, len(groups)) + 24
    longest = max([g.gap_max or 0 for g in groups] + [g.max_gap_days or 0 for g in groups] + [7])
    step = _nice_step(longest * 1.05)
    x_max = step * (int(longest * 1.05 // step) + 1)

    def sx(days: float) -> float:
        return label_w + plot_w * days / x_max

    parts = [
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="gap distribution per segment">'
    ]
    axis_y = top + row_h * max(1, len(groups))
    for t in range(0, x_max + 1, step):
        parts.append(
            f'<line x1="{sx(t):.1f}" x2="{sx(t):.1f}" y1="{top}" y2="{axis_y}" '
            f'stroke="#eef0f4"/><text x="{sx(t):.1f}" y="{axis_y + 16}" font-size="11" '
            f'fill="#6b7280" text-anchor="middle">{t} d</text>'
        )
    for i, g in enumerate(groups):
        y0 = top + i * row_h
        if i:
            parts.append(f'<line x1="0" x2="{width}" y1="{y0}" y2="{y0}" stroke="#f1f3f7"/>')
        summary = "no gaps yet"
        if g.gaps:
            summary = (
                f"{len(g.gaps)} gaps \u00b7 median {format_number(g.gap_median)} \u00b7 "
                f"p90 {format_number(g.gap_p90)} \u00b7 max {g.gap_max}"
            )
        parts.append(
            f'<text x="0" y="{y0 + row_h / 2 - 3:.1f}" font-size="13" font-weight="600" '
            f'fill="#1f2937">{esc(_clip(g.label, 24))}<title>{esc(g.label)}</title></text>'
            f'<text x="0" y="{y0 + row_h / 2 + 13:.1f}" font-size="11" fill="#6b7280">'
            f"{esc(summary)}</text>"
        )
        if g.max_gap_days is not None:
            mx = sx(g.max_gap_days)
            parts.append(
                f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="{y0 + 6}" y2="{y0 + row_h - 14}" '
                f'stroke="#d64545" stroke-width="2" stroke-dasharray="4 3"/>'
                f'<text x="{mx + 5:.1f}" y="{y0 + row_h - 5}" font-size="10.5" fill="#d64545">'
                f"max_gap {g.max_gap_days} d</text>"
            )
        if g.gaps:
            parts.append(_box(g, y0, sx))
    parts.append("</svg>")
    return "".join(parts)


_MAX_DOTS = 400


def _box(g: GroupStats, y0: float, sx: Callable[[float], float]) -> str:
    """One segment's gaps: a strip of dots above a box plot (whiskers from min to max)."""
    gaps = g.gaps
    q1, _, q3 = statistics.quantiles(gaps, n=4, method="inclusive") if len(gaps) > 1 else gaps * 3
    dots_y, box_y = y0 + 14, y0 + 34
    parts = []
    # A sample of at most _MAX_DOTS gaps keeps the page light; the box uses every gap.
    stride = max(1, len(gaps) // _MAX_DOTS)
    over = g.max_gap_days if g.max_gap_days is not None else float("inf")
    for j, gap in enumerate(gaps[::stride]):
        jitter = ((j * 7) % 11 - 5) * 1.1
        fill = "#d64545" if gap > over else "#3b6fd8"
        parts.append(
            f'<circle cx="{sx(gap):.1f}" cy="{dots_y + jitter:.1f}" r="2.3" fill="{fill}" '
            f'fill-opacity="0.35"/>'
        )
    med = sx(g.gap_median or 0)
    p90 = sx(g.gap_p90 or 0)
    parts.append(
        f'<line x1="{sx(gaps[0]):.1f}" x2="{sx(gaps[-1]):.1f}" y1="{box_y}" y2="{box_y}" '
        f'stroke="#94a3b8" stroke-width="1.5"/>'
        f'<line x1="{sx(gaps[-1]):.1f}" x2="{sx(gaps[-1]):.1f}" y1="{box_y - 5}" '
        f'y2="{box_y + 5}" stroke="#94a3b8" stroke-width="1.5"/>'
        f'<rect x="{sx(q1):.1f}" y="{box_y - 8}" width="{max(sx(q3) - sx(q1), 1.5):.1f}" '
        f'height="16" rx="3" fill="#dbe6fb" stroke="#3b6fd8" stroke-width="1.2">'
        f"<title>middle half: {esc(format_number(q1))}-{esc(format_number(q3))} days</title></rect>"
        f'<line x1="{med:.1f}" x2="{med:.1f}" y1="{box_y - 8}" y2="{box_y + 8}" '
        f'stroke="#1e3a8a" stroke-width="3"><title>median {esc(format_number(g.gap_median))} days'
        f"</title></line>"
        f'<path d="M{p90:.1f} {box_y - 6} l5 6 l-5 6 l-5 -6 z" fill="#e9a23b" stroke="#fff" '
        f'stroke-width="1"><title>p90 {esc(format_number(g.gap_p90))} days</title></path>'
    )
    return "".join(parts)


def cv_chart(groups: Sequence[GroupStats]) -> str:
    label_w, plot_w, right_w, row_h, top = 170, 520, 170, 30, 8
    width = label_w + plot_w + right_w
    height = top + row_h * len(groups) + 26
    scores = [g.feast_or_famine for g in groups if g.feast_or_famine is not None]
    x_max = max([1.0, *scores])
    x_max = round(x_max + 0.25 - (x_max % 0.25), 2) if x_max > 1.0 else 1.0

    def sx(v: float) -> float:
        return label_w + plot_w * v / x_max

    bottom = top + row_h * len(groups)
    parts = [
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="feast-or-famine score per salesperson">'
    ]
    for lo, hi, fill, text in (
        (0.0, STEADY, "#e8f5ee", "steady"),
        (STEADY, UNEVEN, "#fdf3e1", "uneven"),
        (UNEVEN, x_max, "#fbe9e9", "feast or famine"),
    ):
        parts.append(
            f'<rect x="{sx(lo):.1f}" y="{top}" width="{sx(hi) - sx(lo):.1f}" '
            f'height="{bottom - top}" fill="{fill}"/><text x="{(sx(lo) + sx(hi)) / 2:.1f}" '
            f'y="{bottom + 16}" font-size="11" fill="#6b7280" text-anchor="middle">{text}</text>'
        )
    for i, g in enumerate(groups):
        y = top + i * row_h
        cv = g.feast_or_famine
        weight = "700" if g.kind == ALL else "400"
        parts.append(
            f'<text x="0" y="{y + row_h / 2 + 4.5:.1f}" font-size="13" font-weight="{weight}" '
            f'fill="#1f2937">{esc(_clip(g.label, 22))}<title>{esc(g.label)}</title></text>'
        )
        if cv is None:
            parts.append(
                f'<text x="{label_w + 6}" y="{y + row_h / 2 + 4:.1f}" font-size="12" '
                f'fill="#6b7280">not enough gaps yet</text>'
            )
            continue
        color = _COLORS[
            Rhythm.IN_RHYTHM if cv < STEADY else Rhythm.DUE_SOON if cv < UNEVEN else Rhythm.OVERDUE
        ]
        parts.append(
            f'<rect x="{label_w}" y="{y + 7}" width="{max(sx(cv) - label_w, 2):.1f}" '
            f'height="{row_h - 14}" rx="3" fill="{color}"/>'
            f'<text x="{sx(cv) + 6:.1f}" y="{y + row_h / 2 + 4.5:.1f}" font-size="12.5" '
            f'font-weight="600" fill="#1f2937">{cv:.2f}</text>'
            f'<text x="{label_w + plot_w + 12}" y="{y + row_h / 2 + 4:.1f}" font-size="11.5" '
            f'fill="#6b7280">{len(g.gaps)} gaps, {g.active} active</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
