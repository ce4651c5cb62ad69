"""The rhythm-health report as one self-contained HTML page: inline CSS and inline SVG charts,
no scripts, no external resources (see :mod:`cadence.report.figures` for what the figures mean)."""

from __future__ import annotations

import html
import statistics
from collections.abc import Callable, Sequence
from datetime import UTC

from cadence.report.columns import (
    BOOKING_COLUMNS,
    GAP_COLUMNS,
    OVERDUE_LISTED,
    SALESPEOPLE_LISTED,
    STATUS_COLUMNS,
    Column,
    by_risk,
    format_number,
    most_overdue,
)
from cadence.report.figures import ALL, SALESPERSON, SEGMENT, GroupStats, Report
from cadence.report.health import ACTIVE_RHYTHMS, GAP_WINDOW_DAYS, Rhythm

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
# Feast-or-famine bands: a reading guide, not a rule (see the legend).
_STEADY, _UNEVEN = 0.25, 0.5

_CSS = """
:root { --ink:#1f2937; --muted:#6b7280; --line:#e5e7eb; --bg:#f4f6fa; --card:#fff;
  --ok:#2f9e6b; --due:#e9a23b; --bad:#d64545; --accent:#3b6fd8; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 28px 24px 40px; }
header h1 { font-size: 26px; margin: 0 0 4px; letter-spacing: -0.01em; }
header p { margin: 0; color: var(--muted); }
.tiles { display:grid; grid-template-columns: repeat(auto-fit, minmax(230px, 1fr)); gap:12px;
  margin: 20px 0; }
.tile { background:var(--card); border-radius:12px; padding:14px 16px;
  box-shadow: 0 1px 2px rgba(16,24,40,.06), 0 1px 3px rgba(16,24,40,.08);
  border-top: 4px solid var(--accent); }
.tile .v { font-size: 26px; font-weight: 650; line-height: 1.1; }
.tile .k { color: var(--muted); font-size: 12px; text-transform: uppercase;
  letter-spacing: .04em; margin-bottom: 6px; }
.tile .s { color: var(--muted); font-size: 12px; margin-top: 4px; }
.tile.ok { border-top-color: var(--ok); } .tile.due { border-top-color: var(--due); }
.tile.bad { border-top-color: var(--bad); }
.grid2 { display:grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); gap:16px; }
.card { background:var(--card); border-radius:12px; padding:18px 20px; margin: 16px 0;
  box-shadow: 0 1px 2px rgba(16,24,40,.06), 0 1px 3px rgba(16,24,40,.08); overflow-x:auto; }
.grid2 .card { margin: 0; }
.card h2 { font-size: 16px; margin: 0 0 2px; }
.card h3 { font-size: 13px; margin: 14px 0 4px; color: var(--muted); font-weight: 600; }
.card .note { color: var(--muted); font-size: 12.5px; margin: 0 0 12px; }
svg { display:block; max-width:100%; height:auto; }
svg text { font-family: inherit; }
.keys { display:flex; flex-wrap:wrap; gap:14px; font-size:12.5px; color:var(--muted);
  margin: 8px 0 0; }
.keys span::before { content:""; display:inline-block; width:11px; height:11px;
  border-radius:3px; margin-right:6px; vertical-align:-1px; background: var(--c); }
.keys span.hatch::before { background: repeating-linear-gradient(45deg, #9ca3af 0 2px,
  #fff 2px 4px); }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 6px 8px; text-align: right; border-bottom: 1px solid var(--line);
  white-space: nowrap; }
th { font-size: 12px; color: var(--muted); font-weight: 600; }
th:first-child, td:first-child, th.l, td.l { text-align: left; }
tr.total td { font-weight: 650; border-top: 2px solid var(--line); }
td.heat { text-align:center; border:2px solid #fff; border-radius:6px; min-width:46px; }
.muted { color: var(--muted); }
td.full { color: var(--bad); font-weight: 650; }
.pill { display:inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px;
  color:#fff; }
.pill.ok { background: var(--ok); } .pill.due { background: var(--due); }
.pill.bad { background: var(--bad); }
dl.legend { display:grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin:0;
  font-size: 13px; }
dl.legend dt { font-weight: 600; } dl.legend dd { margin:0; color: var(--muted); }
footer { color: var(--muted); font-size: 12px; margin-top: 20px; }
"""

_HTML_LEGEND = [
    ("in rhythm", "last contact within the segment's every"),
    ("due soon", "past every, not yet past max_gap (or never contacted and no customer_since)"),
    ("overdue", "past max_gap since the last contact (since customer_since if never contacted)"),
    ("at risk", "overdue, or cannot be booked all year or part of it (hours never meet)"),
    ("never contacted", "active customers with no contact on record (hatched in the bars)"),
    ("contacts", "contact days in the last 365 days; several contacts on one day are one touch"),
    ("in season", "contact days that fell in the customer's busy seasons"),
    ("gaps", "days between consecutive contact days of one customer in the last 365 days"),
    ("p90", "90th percentile (linear interpolation between ranks)"),
    (">max_gap", "gaps longer than the customer's max_gap"),
    (
        "feast or famine",
        "coefficient of variation of the gaps (stdev / mean, gaps measured in units of the "
        "customer's every): below 0.25 steady, 0.25-0.5 uneven, 0.5 or more feast or famine",
    ),
    ("bookings", "timed bookings in the coming weeks; all-day reminders are not counted"),
    ("max/day, mean/day", "busiest salesperson-day; mean over days with at least one booking"),
]


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _attention(report: Report) -> str:
    """What the last cycle skipped, first on the page; nothing when all went well."""
    if not report.attention:
        return ""
    items = "".join(f"<li>{_e(line)}</li>" for line in report.attention)
    return _card(
        f"Needs attention ({len(report.attention)})",
        "Skipped by the last cycle: fix these inputs; everyone else was planned and booked.",
        f"<ul>{items}</ul>",
    )


def _cannot_book(report: Report) -> str:
    """Customers nothing can be booked for (all year or part of it), and paused ones."""
    parts = []
    if report.cannot_book:
        items = "".join(
            f"<li><b>{_e(name)}</b> ({_e(cid)}), owner {_e(owner)}: {_e(why)}</li>"
            for cid, name, owner, why in report.cannot_book
        )
        parts.append(
            _card(
                f"Cannot be booked ({len(report.cannot_book)})",
                "Their hours never meet their owner's working hours, all year or part of it: "
                "cadence books nothing for them then. Counted as at risk.",
                f"<ul>{items}</ul>",
            )
        )
    if report.snoozed:
        items = "".join(
            f"<li><b>{_e(name)}</b> ({_e(cid)}), owner {_e(owner)}: until {_e(until)}"
            + (f" ({_e(note)})" if note else "")
            + "</li>"
            for cid, name, owner, until, note in report.snoozed
        )
        parts.append(
            _card(
                f"Snoozed ({len(report.snoozed)})",
                "Paused with cadence snooze: nothing is booked until the date.",
                f"<ul>{items}</ul>",
            )
        )
    return "".join(parts)


def render_html(report: Report) -> str:
    """The report as ONE self-contained HTML page: inline CSS and SVG, no scripts, no links."""
    overall = report.overall
    when = f"{report.now.astimezone(UTC):%d %b %Y %H:%M} UTC"
    segments = report.by_kind(SEGMENT)
    people = by_risk(report.by_kind(SALESPERSON))
    shown = people[:SALESPEOPLE_LISTED]
    more = f" The {len(shown)} with the most customers at risk." if len(people) > len(shown) else ""
    body = [
        "<header><h1>Rhythm health</h1>",
        f"<p>cadence report &middot; {_e(when)} &middot; gaps over the last "
        f"{GAP_WINDOW_DAYS} days &middot; bookings for {len(report.weeks)} weeks from "
        f"{_e(report.weeks[0])}</p></header>",
        _tiles(report, overall),
        _attention(report),
        _overdue_card(report),
        _cannot_book(report),
        _load_flags(report),
        '<div class="grid2">',
        _card(
            "Rhythm by segment",
            "Share of active customers in each state; the number is how many.",
            _stacked_bars(report, segments, "seg") + _rhythm_keys(),
        ),
        _card(
            "Rhythm by salesperson",
            "Share of each salesperson's active customers in each state." + more,
            _stacked_bars(report, shown, "sp") + _rhythm_keys(),
        ),
        "</div>",
        _card(
            "Gaps between contacts, by segment",
            "Each dot is one gap in the last 365 days (red: longer than max_gap). The box spans "
            "the middle half, the thick line is the median, the diamond the 90th percentile; "
            "the dashed red line marks the segment's max_gap.",
            _gap_chart(segments),
        ),
        _card(
            "Feast or famine, by salesperson",
            "Coefficient of variation of the gaps: the lower, the steadier the rhythm." + more,
            _cv_chart([*shown, overall]),
        ),
        _card(
            "Coming weeks' load",
            "Timed bookings per salesperson and ISO week; the colour shows the share of the "
            "weekly capacity (red: at or over capacity).",
            _load_table(report),
        ),
        _figures("Figures by segment", [*segments, overall]),
        _figures("Figures by salesperson (riskiest first)", [*people, overall]),
        _card("Legend", "", _legend()),
        f"<footer>Generated by cadence at {_e(when)}.</footer>",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>cadence rhythm report {_e(report.now.astimezone(UTC).date())}</title>\n"
        f"<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(body)
        + "\n</main>\n</body>\n</html>\n"
    )


def _card(title: str, note: str, content: str) -> str:
    note_html = f'<p class="note">{_e(note)}</p>' if note else ""
    return f'<section class="card"><h2>{_e(title)}</h2>{note_html}{content}</section>'


def _tile(key: str, value: str, sub: str, tone: str = "") -> str:
    return (
        f'<div class="tile {tone}"><div class="k">{_e(key)}</div><div class="v">{_e(value)}</div>'
        f'<div class="s">{_e(sub)}</div></div>'
    )


def _cv_tone(cv: float | None) -> str:
    if cv is None:
        return ""
    return "ok" if cv < _STEADY else "due" if cv < _UNEVEN else "bad"


def _cv_words(cv: float | None) -> str:
    if cv is None:
        return "not enough gaps yet"
    return "steady" if cv < _STEADY else "uneven" if cv < _UNEVEN else "feast or famine"


def _share(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else "-"


def _tiles(report: Report, g: GroupStats) -> str:
    cv = g.feast_or_famine
    per_day = f"busiest day {g.bookings_per_day_max}" if g.booking_days else "none booked"
    if g.bookings_per_day_mean is not None:
        per_day += f", mean {format_number(g.bookings_per_day_mean, 2)} per day"
    tiles = [
        _tile(
            "Active customers",
            str(g.active),
            f"{g.cancelled} cancelled, {g.do_not_contact} do not contact",
        ),
        _tile("In rhythm", _share(g.in_rhythm, g.active), f"{g.in_rhythm} customers", "ok"),
        _tile("Due soon", str(g.due_soon), f"{_share(g.due_soon, g.active)} of active", "due"),
        _tile(
            "Overdue",
            str(g.overdue),
            f"{g.never_contacted} never contacted",
            "bad" if g.overdue else "ok",
        ),
        _tile(
            "Feast or famine",
            "-" if cv is None else f"{cv:.2f}",
            _cv_words(cv),
            _cv_tone(cv),
        ),
        _tile(
            "Median gap",
            "-" if g.gap_median is None else f"{format_number(g.gap_median)} d",
            f"p90 {format_number(g.gap_p90)} d, {g.gaps_over_max_gap} over max_gap"
            if g.gaps
            else "no gaps yet",
        ),
        _tile(
            "Busy-season contacts",
            str(g.busy_season_contacts),
            f"of {g.contact_days} contact days",
            "bad" if g.busy_season_contacts else "ok",
        ),
        _tile(f"Bookings, {len(report.weeks)} weeks", str(g.bookings), per_day),
    ]
    return '<section class="tiles">' + "".join(tiles) + "</section>"


def _rhythm_keys() -> str:
    keys = "".join(
        f'<span style="--c:{_COLORS[r]}">{_e(_RHYTHM_LABELS[r])}</span>' for r in ACTIVE_RHYTHMS
    )
    return f'<div class="keys">{keys}<span class="hatch">never contacted</span></div>'


def _stacked_bars(report: Report, groups: Sequence[GroupStats], prefix: str) -> str:
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
            f"{_e(_clip(g.label, 20))}<title>{_e(g.label)}</title></text>"
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
                    f"<title>{_e(tip)}</title></rect>"
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


def _gap_chart(groups: Sequence[GroupStats]) -> str:
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
            f'fill="#1f2937">{_e(_clip(g.label, 24))}<title>{_e(g.label)}</title></text>'
            f'<text x="0" y="{y0 + row_h / 2 + 13:.1f}" font-size="11" fill="#6b7280">'
            f"{_e(summary)}</text>"
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
        f"<title>middle half: {_e(format_number(q1))}-{_e(format_number(q3))} days</title></rect>"
        f'<line x1="{med:.1f}" x2="{med:.1f}" y1="{box_y - 8}" y2="{box_y + 8}" '
        f'stroke="#1e3a8a" stroke-width="3"><title>median {_e(format_number(g.gap_median))} days'
        f"</title></line>"
        f'<path d="M{p90:.1f} {box_y - 6} l5 6 l-5 6 l-5 -6 z" fill="#e9a23b" stroke="#fff" '
        f'stroke-width="1"><title>p90 {_e(format_number(g.gap_p90))} days</title></path>'
    )
    return "".join(parts)


def _cv_chart(groups: Sequence[GroupStats]) -> str:
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
        (0.0, _STEADY, "#e8f5ee", "steady"),
        (_STEADY, _UNEVEN, "#fdf3e1", "uneven"),
        (_UNEVEN, x_max, "#fbe9e9", "feast or famine"),
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
            f'fill="#1f2937">{_e(_clip(g.label, 22))}<title>{_e(g.label)}</title></text>'
        )
        if cv is None:
            parts.append(
                f'<text x="{label_w + 6}" y="{y + row_h / 2 + 4:.1f}" font-size="12" '
                f'fill="#6b7280">not enough gaps yet</text>'
            )
            continue
        color = _COLORS[
            Rhythm.IN_RHYTHM
            if cv < _STEADY
            else Rhythm.DUE_SOON
            if cv < _UNEVEN
            else Rhythm.OVERDUE
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


def _heat(n: int, ref: float, over: bool) -> tuple[str, str]:
    """Background and text colour of a load cell: white to blue by share, red when full."""
    if over:
        return "#d64545", "#fff"
    share = min(1.0, n / ref) if ref else 0.0
    lo, hi = (241, 245, 249), (37, 88, 200)
    rgb = tuple(round(a + (b - a) * share) for a, b in zip(lo, hi, strict=True))
    return "#{:02x}{:02x}{:02x}".format(*rgb), "#fff" if share > 0.5 else "#1f2937"


def _load_table(report: Report) -> str:
    people = {g.name: g for g in report.by_kind(SALESPERSON)}
    peak = max((n for row in report.load.values() for n in row), default=0)
    head = "".join(
        f"<th>W{w.isocalendar().week:02d}<br><small>{_e(w.strftime('%d %b'))}</small></th>"
        for w in report.weeks
    )
    rows = []
    for owner, weekly in report.load.items():
        cap = report.capacity_per_week.get(owner)
        cells = []
        for week, n in zip(report.weeks, weekly, strict=True):
            bg, fg = _heat(n, cap or peak, cap is not None and n >= cap)
            tip = f"{report.salesperson_labels.get(owner, owner)}, week of {week}: {n} bookings"
            cells.append(
                f'<td class="heat" style="background:{bg};color:{fg}" title="{_e(tip)}">{n}</td>'
            )
        g = people.get(owner)
        max_day = str(g.bookings_per_day_max) if g and g.booking_days else "-"
        mean_day = format_number(g.bookings_per_day_mean, 2) if g else "-"
        cap_day = format_number(report.capacity_per_day.get(owner))
        day_cap = report.capacity_per_day.get(owner)
        full = g is not None and day_cap is not None and g.bookings_per_day_max >= day_cap
        rows.append(
            f"<tr><td>{_e(report.salesperson_labels.get(owner, owner))}<br>"
            f'<small class="muted">{_e(owner)}</small></td><td>{_e(format_number(cap))}</td>'
            + "".join(cells)
            + f"<td{' class=full' if full else ''}>{_e(max_day)}</td>"
            + f"<td>{_e(mean_day)}</td><td>{_e(cap_day)}</td></tr>"
        )
    if not rows:
        return '<p class="note">No salespeople.</p>'
    return (
        f"<table><thead><tr><th>salesperson</th><th>cap/week</th>{head}<th>max/day</th>"
        f"<th>mean/day</th><th>cap/day</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _figures_table(groups: Sequence[GroupStats], columns: Sequence[Column]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h, _ in columns)
    rows = []
    for g in groups:
        cells = [f"<td>{_e(g.label)}</td>"]
        for header, get in columns:
            text = _e(get(g))
            if header == "feast/famine" and g.feast_or_famine is not None:
                tone = _cv_tone(g.feast_or_famine)
                text = f'<span class="pill {tone}">{text}</span>'
            cells.append(f"<td>{text}</td>")
        css = ' class="total"' if g.kind == ALL else ""
        rows.append(f"<tr{css}>{''.join(cells)}</tr>")
    return f"<table><thead><tr><th></th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _figures(title: str, groups: Sequence[GroupStats]) -> str:
    """The figures tables; past :data:`SALESPEOPLE_LISTED` rows the rest fold away (a team of
    500 reads its riskiest first and opens the rest when it wants them)."""
    rows = [g for g in groups if g.kind != ALL]
    totals = [g for g in groups if g.kind == ALL]  # the everyone row is always shown
    first, rest = rows[:SALESPEOPLE_LISTED] + totals, rows[SALESPEOPLE_LISTED:]

    def tables(columns: Sequence[Column]) -> str:
        html = _figures_table(first, columns)
        if rest:
            html += (
                f"<details><summary>{len(rest)} more rows</summary>"
                f"{_figures_table(rest, columns)}</details>"
            )
        return html

    return _card(
        title,
        "",
        "<h3>Rhythm and coming bookings</h3>"
        + tables([*STATUS_COLUMNS, *BOOKING_COLUMNS])
        + f"<h3>Gaps over the last {GAP_WINDOW_DAYS} days</h3>"
        + tables(GAP_COLUMNS),
    )


def _overdue_card(report: Report) -> str:
    overdue = most_overdue(report)
    if not overdue:
        return _card("Overdue customers", "Nobody is past max_gap.", "")
    rows = "".join(
        f'<tr><td>{_e(h.name)} <small class="muted">{_e(h.customer_id)}</small></td>'
        f'<td class="l">{_e(h.segment)}</td>'
        f'<td class="l">{_e(report.salesperson_labels.get(h.owner, h.owner))}</td>'
        f"<td>{_e(h.last_contact or 'never')}</td><td>{_e(format_number(h.days_since))}</td>"
        f"<td>{_e(h.overdue_after)}</td><td>{_e(_next(report, h.customer_id))}</td></tr>"
        for h in overdue[:OVERDUE_LISTED]
    )
    more = len(overdue) - OVERDUE_LISTED
    note = "Longest past max_gap first, with the next contact booked or planned." + (
        f" {more} more not shown." if more > 0 else ""
    )
    table = (
        '<table><thead><tr><th>customer</th><th class="l">segment</th><th class="l">owner</th>'
        "<th>last contact</th><th>days since</th><th>overdue since</th><th>next contact</th>"
        f"</tr></thead><tbody>{rows}</tbody></table>"
    )
    return _card(f"Overdue customers ({len(overdue)})", note, table)


def _next(report: Report, customer_id: str) -> str:
    found = report.next_contact.get(customer_id)
    return f"{found[0]} {found[1]}" if found else "none planned"


def _load_flags(report: Report) -> str:
    """Salespeople over capacity or far from the team's mean load."""
    if not report.load_flags:
        return ""
    items = "".join(
        f"<li><b>{_e(report.salesperson_labels.get(owner, owner))}</b>: {_e(verdict)} load, "
        f"{_e(why)}</li>"
        for owner, verdict, why in report.load_flags
    )
    return _card(
        f"Load to look at ({len(report.load_flags)})",
        "A week over capacity, or a load for the coming weeks far above or below the team's "
        "mean per salesperson.",
        f"<ul>{items}</ul>",
    )


def _legend() -> str:
    items = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in _HTML_LEGEND)
    return f'<dl class="legend">{items}</dl>'
