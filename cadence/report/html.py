"""The rhythm-health report as one self-contained HTML page: inline CSS and inline SVG charts,
no scripts, no external resources (see :mod:`cadence.report.figures` for what the figures mean).
The page is laid out here; its sections are :mod:`cadence.report.html_sections` and its charts
:mod:`cadence.report.html_charts`."""

from __future__ import annotations

from datetime import UTC

from cadence.report.columns import SALESPEOPLE_LISTED, by_risk
from cadence.report.figures import SALESPERSON, SEGMENT, Report
from cadence.report.health import GAP_WINDOW_DAYS
from cadence.report.html_charts import cv_chart, gap_chart, rhythm_keys, stacked_bars
from cadence.report.html_sections import (
    attention,
    cannot_book,
    card,
    esc,
    figures_card,
    load_flags_card,
    load_table,
    overdue_card,
    tiles,
)

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
        f"<p>cadence report &middot; {esc(when)} &middot; gaps over the last "
        f"{GAP_WINDOW_DAYS} days &middot; bookings for {len(report.weeks)} weeks from "
        f"{esc(report.weeks[0])}</p></header>",
        tiles(report, overall),
        attention(report),
        overdue_card(report),
        cannot_book(report),
        load_flags_card(report),
        '<div class="grid2">',
        card(
            "Rhythm by segment",
            "Share of active customers in each state; the number is how many.",
            stacked_bars(report, segments, "seg") + rhythm_keys(),
        ),
        card(
            "Rhythm by salesperson",
            "Share of each salesperson's active customers in each state." + more,
            stacked_bars(report, shown, "sp") + rhythm_keys(),
        ),
        "</div>",
        card(
            "Gaps between contacts, by segment",
            "Each dot is one gap in the last 365 days (red: longer than max_gap). The box spans "
            "the middle half, the thick line is the median, the diamond the 90th percentile; "
            "the dashed red line marks the segment's max_gap.",
            gap_chart(segments),
        ),
        card(
            "Feast or famine, by salesperson",
            "Coefficient of variation of the gaps: the lower, the steadier the rhythm." + more,
            cv_chart([*shown, overall]),
        ),
        card(
            "Coming weeks' load",
            "Timed bookings per salesperson and ISO week; the colour shows the share of the "
            "weekly capacity (red: at or over capacity).",
            load_table(report),
        ),
        figures_card("Figures by segment", [*segments, overall]),
        figures_card("Figures by salesperson (riskiest first)", [*people, overall]),
        card("Legend", "", _legend()),
        f"<footer>Generated by cadence at {esc(when)}.</footer>",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>cadence rhythm report {esc(report.now.astimezone(UTC).date())}</title>\n"
        f"<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(body)
        + "\n</main>\n</body>\n</html>\n"
    )


def _legend() -> str:
    items = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in _HTML_LEGEND)
    return f'<dl class="legend">{items}</dl>'
